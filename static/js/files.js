/* Hubport file manager: uploads (picker and drag and drop, one progress bar
 * per file, the raw file PUT to the upload endpoint) and the row menus.
 * Vanilla JavaScript; htmx handles "Load more". */
(function () {
  "use strict";

  // Three uploads at once keep a typical uplink busy without starving the
  // page's other requests (browsers allow six connections per host).
  var PARALLEL_UPLOADS = 3;

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

  function Uploader(zone) {
    this.zone = zone;
    this.list = zone.querySelector(".upload-list");
    this.url = zone.dataset.uploadUrl;
    this.folder = zone.dataset.folder;
    this.csrf = zone.dataset.csrf;
    this.maxFileBytes = parseInt(zone.dataset.maxFileBytes, 10);
    this.refreshUrl = zone.dataset.refreshUrl;
    this.queue = [];
    this.active = 0;
    this.succeeded = 0;
  }

  Uploader.prototype.add = function (files) {
    for (var i = 0; i < files.length; i += 1) {
      var item = this.render(files[i]);
      if (files[i].size > this.maxFileBytes) {
        this.fail(item, "This file is " + formatBytes(files[i].size) + "; the limit is " +
          formatBytes(this.maxFileBytes) + ".");
        continue;
      }
      this.queue.push({ file: files[i], item: item });
    }
    this.pump();
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
        self.setState(item, "done", "Uploaded");
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

    xhr.open("PUT", this.url + "?path=" + encodeURIComponent(joinPath(this.folder, job.file.name)));
    xhr.setRequestHeader("X-CSRFToken", this.csrf);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.send(job.file);
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
