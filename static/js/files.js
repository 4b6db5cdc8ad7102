/* Hubport file manager: uploads (picker and drag and drop, one progress bar
 * per file, the raw file PUT to the upload endpoint; several small files at
 * once go as one tar stream to the bulk endpoint, static/js/tar.js; a name
 * already in the folder is asked about first: replace, keep both or skip) and
 * the row menus.
 * Vanilla JavaScript; htmx handles "Load more". */
(function () {
  "use strict";

  // Three uploads at once keep a typical uplink busy without starving the
  // page's other requests (browsers allow six connections per host).
  var PARALLEL_UPLOADS = 3;
  // Several files dropped at once go to POST /api/v1/files/bulk as one tar
  // stream (one request and one transaction for up to 1,000 files, where a
  // request each cost a round trip each); a file over 16 MiB goes on its own,
  // so its progress bar is its own and a failure costs only it.
  var BULK_MAX_FILES = 1000;
  var BULK_MAX_BYTES = 256 * 1024 * 1024;
  var BULK_FILE_MAX_BYTES = 16 * 1024 * 1024;

  // The pages' rule (hubs.display.bytes_label): binary units named as such,
  // whole when the unit divides the size, else to one decimal.
  var BINARY_UNITS = ["KiB", "MiB", "GiB", "TiB"];

  function formatBytes(bytes) {
    var unit = -1;
    var value = bytes;
    // Also step up when the unit below would round to 1,024 of it ("1.0 MiB", never "1024.0 KiB").
    while (unit < BINARY_UNITS.length - 1 && Math.round(value * 10) / 10 >= 1024) {
      value /= 1024;
      unit += 1;
    }
    if (unit < 0) {
      return bytes.toLocaleString("en-GB") + (bytes === 1 ? " byte" : " bytes");
    }
    var whole = bytes % Math.pow(1024, unit + 1) === 0;
    return value.toLocaleString("en-GB", {
      minimumFractionDigits: whole ? 0 : 1,
      maximumFractionDigits: whole ? 0 : 1
    }) + " " + BINARY_UNITS[unit];
  }

  function joinPath(folder, name) {
    return (folder === "/" ? "" : folder.replace(/\/$/, "")) + "/" + name;
  }

  function problemDetail(xhr) {
    try {
      var problem = JSON.parse(xhr.responseText);
      if (problem && problem.detail) {
        return problem.detail;
      }
    } catch (ignored) {
      /* not JSON: fall through to the status line */
    }
    if (xhr.status >= 200 && xhr.status < 400) {
      return "Your session needs you to sign in again. Reload the page, sign in and retry.";
    }
    if (xhr.status === 403) {
      return "The upload was refused (your session may have expired). Reload the page and try again.";
    }
    return "The upload failed (" + xhr.status + " " + xhr.statusText + "). Nothing was stored; try again.";
  }

  /* The stable code of a problem answer: its type is urn:hubport:problem:<code>. */
  function problemCode(xhr) {
    try {
      return String(JSON.parse(xhr.responseText).type || "").split(":").pop();
    } catch (ignored) {
      return "";
    }
  }

  function Uploader(zone) {
    this.zone = zone;
    this.list = zone.querySelector(".upload-list");
    this.url = zone.dataset.uploadUrl;
    this.bulkUrl = zone.dataset.bulkUrl;
    this.conflictsUrl = zone.dataset.conflictsUrl;
    this.conflictBar = zone.querySelector(".upload-conflicts");
    this.asking = [];
    this.folder = zone.dataset.folder;
    this.csrf = zone.dataset.csrf;
    this.maxFileBytes = parseInt(zone.dataset.maxFileBytes, 10);
    this.refreshUrl = zone.dataset.refreshUrl;
    this.queue = [];
    this.active = 0;
    this.succeeded = 0;
  }

  Uploader.prototype.add = function (files) {
    var jobs = [];
    for (var i = 0; i < files.length; i += 1) {
      var item = this.render(files[i]);
      if (files[i].size > this.maxFileBytes) {
        this.fail(item, "This file is " + formatBytes(files[i].size) + "; the limit is " +
          formatBytes(this.maxFileBytes) + ".");
        continue;
      }
      jobs.push({ file: files[i], item: item, mode: "fail" });
    }
    if (jobs.length) {
      this.checkConflicts(jobs);
    }
  };

  /* One request asks which names are taken; those files wait for the person's
   * answer, the others upload at once with on_conflict=fail (a name taken
   * meanwhile comes back as 409 and is asked about then). */
  Uploader.prototype.checkConflicts = function (jobs) {
    var self = this;
    var body = new FormData();
    body.append("folder", this.folder);
    jobs.forEach(function (job) {
      body.append("name", job.file.name);
    });
    fetch(this.conflictsUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": this.csrf, Accept: "application/json" },
      body: body
    })
      .then(function (response) {
        return response.ok ? response.json() : { taken: {} };
      })
      .catch(function () {
        return { taken: {} };
      })
      .then(function (answer) {
        var taken = answer.taken || {};
        var free = [];
        jobs.forEach(function (job) {
          if (taken[job.file.name] === "file") {
            self.ask(job);
          } else {
            free.push(job);
          }
        });
        self.enqueue(free);
        self.pump();
      });
  };

  /* Small files, two or more, in batches for the bulk endpoint; the rest one by one. */
  Uploader.prototype.enqueue = function (jobs) {
    var small = [];
    var self = this;
    jobs.forEach(function (job) {
      if (self.bulkUrl && window.HubportTar && job.file.size <= BULK_FILE_MAX_BYTES) {
        small.push(job);
      } else {
        self.queue.push(job);
      }
    });
    if (small.length < 2) {
      small.forEach(function (job) {
        self.queue.push(job);
      });
      return;
    }
    var batch = [];
    var bytes = 0;
    small.forEach(function (job) {
      if (batch.length && (batch.length >= BULK_MAX_FILES || bytes + job.file.size > BULK_MAX_BYTES)) {
        self.queue.push({ batch: batch });
        batch = [];
        bytes = 0;
      }
      batch.push(job);
      bytes += job.file.size;
    });
    this.queue.push({ batch: batch });
  };

  Uploader.prototype.ask = function (job) {
    var self = this;
    var item = job.item;
    this.setState(item, "asking", "A file with this name is already here.");
    var choices = document.createElement("span");
    choices.className = "upload-item__choices";
    [["replace", "Replace"], ["keep_both", "Keep both"], ["skip", "Skip"]].forEach(function (choice) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "link-button";
      button.dataset.conflictChoice = choice[0];
      button.textContent = choice[1];
      button.setAttribute("aria-label", choice[1] + ": " + job.file.name);
      button.addEventListener("click", function () {
        self.answer(job, choice[0]);
      });
      choices.append(button);
    });
    item.querySelector(".upload-item__status").after(choices);
    this.asking.push(job);
    this.showConflictBar();
  };

  Uploader.prototype.answer = function (job, choice) {
    var index = this.asking.indexOf(job);
    if (index === -1) {
      return;
    }
    this.asking.splice(index, 1);
    var choices = job.item.querySelector(".upload-item__choices");
    if (choices) {
      choices.remove();
    }
    if (choice === "skip") {
      this.setState(job.item, "skipped", "Skipped: the file already here was kept.");
    } else {
      job.mode = choice;
      this.setState(job.item, "queued", "Waiting…");
      this.queue.push(job);
    }
    this.showConflictBar();
    this.pump();
  };

  Uploader.prototype.showConflictBar = function () {
    if (!this.conflictBar) {
      return;
    }
    var count = this.asking.length;
    this.conflictBar.hidden = count < 2;
    this.conflictBar.querySelector(".upload-conflicts__text").textContent =
      count + " files with these names are already here.";
  };

  Uploader.prototype.answerAll = function (choice) {
    this.asking.slice().forEach(function (job) {
      this.answer(job, choice);
    }, this);
  };

  Uploader.prototype.render = function (file) {
    var item = document.createElement("li");
    item.className = "upload-item";
    item.dataset.state = "queued";
    item.dataset.name = file.name;

    var name = document.createElement("span");
    name.className = "upload-item__name";
    name.textContent = file.name;

    var size = document.createElement("span");
    size.className = "upload-item__size";
    size.textContent = formatBytes(file.size);

    var progress = document.createElement("progress");
    progress.className = "upload-item__progress";
    progress.max = 100;
    progress.value = 0;
    progress.setAttribute("aria-label", "Upload progress of " + file.name);

    var status = document.createElement("span");
    status.className = "upload-item__status";
    status.textContent = "Waiting…";

    var cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "upload-item__cancel link-button";
    cancel.textContent = "Cancel";
    cancel.setAttribute("aria-label", "Cancel upload of " + file.name);

    item.append(name, size, progress, status, cancel);
    this.list.append(item);
    return item;
  };

  Uploader.prototype.setState = function (item, state, text) {
    item.dataset.state = state;
    item.className = "upload-item upload-item--" + state;
    item.querySelector(".upload-item__status").textContent = text;
    if (state === "done" || state === "error") {
      var cancel = item.querySelector(".upload-item__cancel");
      if (cancel) {
        cancel.remove();
      }
    }
  };

  Uploader.prototype.fail = function (item, message) {
    this.setState(item, "error", message);
    item.querySelector(".upload-item__status").setAttribute("role", "alert");
  };

  Uploader.prototype.pump = function () {
    while (this.active < PARALLEL_UPLOADS && this.queue.length) {
      this.start(this.queue.shift());
    }
    if (this.active === 0 && !this.queue.length && this.succeeded) {
      this.succeeded = 0;
      this.refresh();
    }
  };

  Uploader.prototype.start = function (job) {
    if (job.batch) {
      this.startBatch(job.batch);
      return;
    }
    var self = this;
    var item = job.item;
    var progress = item.querySelector("progress");
    var xhr = new XMLHttpRequest();
    this.active += 1;
    this.setState(item, "uploading", "Uploading…");

    item.querySelector(".upload-item__cancel").addEventListener("click", function () {
      xhr.abort();
    });
    xhr.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable && event.total) {
        var percent = Math.floor((event.loaded * 100) / event.total);
        progress.value = Math.min(percent, 99); // 100 only once the server has stored it
        item.querySelector(".upload-item__status").textContent = percent + "%";
      }
    });
    xhr.addEventListener("load", function () {
      // Only 201 is success: a redirect followed to a sign-in page answers 200 with HTML.
      if (xhr.status === 201) {
        progress.value = 100;
        self.succeeded += 1;
        var stored = JSON.parse(xhr.responseText);
        self.setState(item, "done", stored.name === job.file.name ? "Uploaded" : "Uploaded as " + stored.name);
      } else if (xhr.status === 409 && job.mode === "fail" && problemCode(xhr) === "name_taken") {
        progress.value = 0;
        self.ask(job);
      } else {
        self.fail(item, problemDetail(xhr));
      }
    });
    xhr.addEventListener("error", function () {
      self.fail(item, "The connection was lost before the upload finished. Nothing was stored; try again.");
    });
    xhr.addEventListener("abort", function () {
      self.fail(item, "Cancelled. Nothing was stored.");
    });
    xhr.addEventListener("loadend", function () {
      self.active -= 1;
      self.pump();
    });

    xhr.open("PUT", this.url + "?path=" + encodeURIComponent(joinPath(this.folder, job.file.name)) +
      "&on_conflict=" + job.mode);
    xhr.setRequestHeader("X-CSRFToken", this.csrf);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.send(job.file);
  };

  /* One tar stream for many files: progress per file from where its bytes end
   * in the stream, and each file's own outcome from the answer. */
  Uploader.prototype.startBatch = function (jobs) {
    var self = this;
    var built = window.HubportTar.build(jobs.map(function (job) {
      return { name: job.file.name, file: job.file };
    }));
    var xhr = new XMLHttpRequest();
    this.active += 1;
    jobs.forEach(function (job) {
      self.setState(job.item, "uploading", "Uploading…");
      job.item.querySelector(".upload-item__cancel").addEventListener("click", function () {
        xhr.abort();
      });
    });
    xhr.upload.addEventListener("progress", function (event) {
      jobs.forEach(function (job, index) {
        var end = built.ends[index];
        var size = job.file.size;
        var sent = size ? Math.max(0, Math.min(size, event.loaded - (end - size))) : (event.loaded >= end ? 1 : 0);
        var percent = Math.floor((sent * 100) / (size || 1));
        job.item.querySelector("progress").value = Math.min(percent, 99);
        job.item.querySelector(".upload-item__status").textContent = percent + "%";
      });
    });
    xhr.addEventListener("load", function () {
      var answer = null;
      if (xhr.status === 200) {
        try {
          answer = JSON.parse(xhr.responseText);
        } catch (ignored) {
          answer = null;
        }
      }
      if (!answer || !answer.items || answer.items.length !== jobs.length) {
        jobs.forEach(function (job) {
          self.fail(job.item, problemDetail(xhr));
        });
        return;
      }
      jobs.forEach(function (job, index) {
        var outcome = answer.items[index];
        if (outcome.status === "refused") {
          job.item.querySelector("progress").value = 0;
          if (outcome.code === "name_taken" && job.mode === "fail") {
            self.ask(job);
          } else {
            self.fail(job.item, outcome.detail);
          }
          return;
        }
        job.item.querySelector("progress").value = 100;
        self.succeeded += 1;
        self.setState(job.item, "done", "Uploaded");
      });
    });
    xhr.addEventListener("error", function () {
      jobs.forEach(function (job) {
        self.fail(job.item, "The connection was lost before the upload finished. Nothing was stored; try again.");
      });
    });
    xhr.addEventListener("abort", function () {
      jobs.forEach(function (job) {
        self.fail(job.item, "Cancelled. Nothing of these files was stored.");
      });
    });
    xhr.addEventListener("loadend", function () {
      self.active -= 1;
      self.pump();
    });
    xhr.open("POST", this.bulkUrl + "?path=" + encodeURIComponent(this.folder) + "&on_conflict=fail");
    xhr.setRequestHeader("X-CSRFToken", this.csrf);
    xhr.setRequestHeader("Content-Type", "application/x-tar");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.send(built.blob);
  };

  Uploader.prototype.busy = function () {
    return this.active > 0 || this.queue.length > 0;
  };

  /* Fetch the folder page again and swap in its listing and storage summary. */
  Uploader.prototype.refresh = function () {
    fetch(this.refreshUrl, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        return response.ok ? response.text() : Promise.reject(response.status);
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        ["files-body", "storage-summary"].forEach(function (id) {
          var current = document.getElementById(id);
          var replacement = fresh.getElementById(id);
          if (current && replacement) {
            current.replaceWith(replacement);
            if (window.htmx) {
              window.htmx.process(replacement);
            }
          }
        });
        document.dispatchEvent(new CustomEvent("hubport:files-refreshed"));
      })
      .catch(function () {
        /* The uploads themselves succeeded; a reload shows them. */
      });
  };

  function hasFiles(event) {
    var types = event.dataTransfer && event.dataTransfer.types;
    return !!types && Array.prototype.indexOf.call(types, "Files") !== -1;
  }

  function setUpUploads() {
    var zone = document.getElementById("dropzone");
    var input = document.getElementById("upload-input");
    if (!zone || !input) {
      return;
    }
    var uploader = new Uploader(zone);
    zone.querySelectorAll("[data-conflict-all]").forEach(function (button) {
      button.addEventListener("click", function () {
        uploader.answerAll(button.dataset.conflictAll);
      });
    });
    var overlay = document.getElementById("drop-overlay");
    var dragDepth = 0;

    document.querySelectorAll("[data-upload-trigger]").forEach(function (trigger) {
      trigger.addEventListener("click", function () {
        input.click();
      });
    });
    input.addEventListener("change", function () {
      uploader.add(Array.prototype.slice.call(input.files));
      input.value = "";
    });

    document.addEventListener("dragenter", function (event) {
      if (!hasFiles(event)) {
        return;
      }
      event.preventDefault();
      dragDepth += 1;
      overlay.hidden = false;
      zone.classList.add("dropzone--active");
    });
    document.addEventListener("dragover", function (event) {
      if (hasFiles(event)) {
        event.preventDefault();
        event.dataTransfer.dropEffect = "copy";
      }
    });
    document.addEventListener("dragleave", function (event) {
      if (!hasFiles(event)) {
        return;
      }
      dragDepth = Math.max(0, dragDepth - 1);
      if (dragDepth === 0) {
        overlay.hidden = true;
        zone.classList.remove("dropzone--active");
      }
    });
    document.addEventListener("drop", function (event) {
      if (!hasFiles(event)) {
        return;
      }
      event.preventDefault();
      dragDepth = 0;
      overlay.hidden = true;
      zone.classList.remove("dropzone--active");
      var files = [];
      var items = event.dataTransfer.items;
      for (var i = 0; i < event.dataTransfer.files.length; i += 1) {
        var entry = items && items[i] && items[i].webkitGetAsEntry ? items[i].webkitGetAsEntry() : null;
        if (entry && entry.isDirectory) {
          var item = uploader.render(event.dataTransfer.files[i]);
          uploader.fail(item, "Folders cannot be dropped; create the folder, open it and drop its files.");
          continue;
        }
        files.push(event.dataTransfer.files[i]);
      }
      uploader.add(files);
    });

    window.addEventListener("beforeunload", function (event) {
      if (uploader.busy()) {
        event.preventDefault();
        event.returnValue = "";
      }
    });
  }

  /* One row menu open at a time; Escape or a click elsewhere closes it. */
  function setUpRowMenus() {
    document.addEventListener(
      "toggle",
      function (event) {
        var opened = event.target;
        if (!(opened instanceof HTMLDetailsElement) || !opened.open || !opened.classList.contains("row-menu")) {
          return;
        }
        document.querySelectorAll("details.row-menu[open]").forEach(function (menu) {
          if (menu !== opened) {
            menu.open = false;
          }
        });
      },
      true
    );
    document.addEventListener("click", function (event) {
      document.querySelectorAll("details.row-menu[open], details.new-folder[open]").forEach(function (menu) {
        if (!menu.contains(event.target)) {
          menu.open = false;
        }
      });
    });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") {
        return;
      }
      document.querySelectorAll("details.row-menu[open], details.new-folder[open]").forEach(function (menu) {
        menu.open = false;
        menu.querySelector("summary").focus();
      });
    });
    document.addEventListener(
      "toggle",
      function (event) {
        var opened = event.target;
        if (opened instanceof HTMLDetailsElement && opened.open && opened.classList.contains("new-folder")) {
          var field = opened.querySelector("input[name=name]");
          if (field) {
            field.focus();
          }
        }
      },
      true
    );
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpUploads();
    setUpRowMenus();
  });
})();
