/* A minimal tar writer for the bulk upload (POST /api/v1/files/bulk): POSIX
 * ustar headers, with a pax "path" record before any name that is not ASCII or
 * longer than 100 bytes. The archive is a Blob made of the headers and the
 * File objects themselves, so the browser streams each file from disk as it
 * sends it; nothing is read into memory here. */
(function () {
  "use strict";

  var BLOCK = 512;
  var encoder = new TextEncoder();

  function octal(value, width) {
    // width - 1 octal digits and a NUL, as ustar wants
    var digits = value.toString(8);
    while (digits.length < width - 1) {
      digits = "0" + digits;
    }
    return digits + "\0";
  }

  function put(block, offset, text) {
    block.set(encoder.encode(text), offset);
  }

  function header(nameBytes, size, type) {
    var block = new Uint8Array(BLOCK);
    block.set(nameBytes.subarray(0, 100), 0);
    put(block, 100, octal(420, 8)); // mode 0644
    put(block, 108, octal(0, 8)); // uid
    put(block, 116, octal(0, 8)); // gid
    put(block, 124, octal(size, 12));
    put(block, 136, octal(Math.floor(Date.now() / 1000), 12));
    put(block, 148, "        "); // the checksum counts its own field as spaces
    put(block, 156, type);
    put(block, 257, "ustar\u000000");
    var sum = 0;
    for (var i = 0; i < BLOCK; i += 1) {
      sum += block[i];
    }
    put(block, 148, octal(sum, 7) + " ");
    return block;
  }

  function padding(size) {
    var rest = size % BLOCK;
    return new Uint8Array(rest ? BLOCK - rest : 0);
  }

  /* One pax record, "<length> path=<name>\n", whose length counts its own digits. */
  function paxRecord(nameBytes) {
    var body = nameBytes.length + " path=\n".length;
    var length = body + String(body).length;
    if (String(length).length !== String(body).length) {
      length += 1;
    }
    var prefix = encoder.encode(length + " path=");
    var record = new Uint8Array(length);
    record.set(prefix, 0);
    record.set(nameBytes, prefix.length);
    record[length - 1] = 10;
    return record;
  }

  /* entries: [{name, file}]. Returns {blob, ends}: ends[i] is the byte offset
   * where the i-th file's bytes end (for progress per file). */
  function build(entries) {
    var parts = [];
    var ends = [];
    var offset = 0;
    entries.forEach(function (entry) {
      var nameBytes = encoder.encode(entry.name);
      var ascii = !/[^\x20-\x7e]/.test(entry.name);
      if (nameBytes.length > 100 || !ascii) {
        var record = paxRecord(nameBytes);
        parts.push(header(encoder.encode("PaxHeader"), record.length, "x"), record, padding(record.length));
        offset += BLOCK + record.length + padding(record.length).length;
      }
      parts.push(header(nameBytes, entry.file.size, "0"), entry.file, padding(entry.file.size));
      offset += BLOCK + entry.file.size;
      ends.push(offset);
      offset += padding(entry.file.size).length;
    });
    parts.push(new Uint8Array(2 * BLOCK)); // the end of the archive
    return { blob: new Blob(parts, { type: "application/x-tar" }), ends: ends };
  }

  window.HubportTar = { build: build };
})();
