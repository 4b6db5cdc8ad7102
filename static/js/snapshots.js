/* Hubport snapshots: selecting items to restore in a snapshot (select all,
 * the count on the button) and the restore dialog's folder field. Vanilla
 * JavaScript; htmx refreshes the dry-run preview and the job progress. The
 * pages work without it: the server checks the selection. */
(function () {
  "use strict";

  function setUpSelection() {
    var form = document.getElementById("restore-selection");
    if (!form) {
      return;
    }
    var button = form.querySelector("[data-restore-selected]");
    var count = form.querySelector("[data-selection-count]");
    var all = form.querySelector("[data-select-all]");
    var maxSelected = parseInt(form.dataset.maxSelected, 10) || 900;

    function boxes() {
      return Array.prototype.slice.call(form.querySelectorAll("input[type=checkbox][name=paths]"));
    }

    function update() {
      var list = boxes();
      var checked = list.filter(function (box) {
        return box.checked;
      }).length;
      var tooMany = checked > maxSelected;
      button.disabled = checked === 0 || tooMany;
      button.textContent = checked ? "Restore " + checked + " selected…" : "Restore selected…";
      if (tooMany) {
        count.textContent = "At most " + maxSelected + " at once: restore the whole folder instead.";
      } else {
        count.textContent = checked
          ? checked + " of " + list.length + " selected"
          : "Tick the files and folders to restore.";
      }
      if (all) {
        all.checked = checked > 0 && checked === list.length;
        all.indeterminate = checked > 0 && checked < list.length;
      }
      list.forEach(function (box) {
        box.closest("tr").classList.toggle("file-row--selected", box.checked);
      });
    }

    form.addEventListener("change", function (event) {
      if (event.target === all) {
        boxes().forEach(function (box) {
          box.checked = all.checked;
        });
      }
      update();
    });
    // Rows added by "Load more" start unticked.
    document.body.addEventListener("htmx:afterSwap", update);
    update();
  }

  function setUpRestoreForm() {
    var form = document.getElementById("restore-form");
    if (!form) {
      return;
    }
    var folder = document.getElementById("restore-folder");
    var folderRadio = form.querySelector("[data-target-folder]");

    var exactRadio = form.querySelector("[data-mode-exact]");

    function update() {
      var exact = exactRadio && exactRadio.checked;
      // A rewind goes where the items were and replaces what holds a name:
      // the merge's options are not sent (a disabled field is not submitted).
      form.querySelectorAll("[data-merge-only]").forEach(function (fieldset) {
        fieldset.disabled = exact;
      });
      var intoFolder = folderRadio.checked && !exact;
      folder.required = intoFolder;
      folder.closest(".option__extra").classList.toggle("option__extra--off", !intoFolder);
    }

    form.addEventListener("change", update);
    // Going to the folder field chooses "Into another folder".
    folder.addEventListener("focus", function () {
      if (!folderRadio.checked) {
        folderRadio.checked = true;
        folderRadio.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpSelection();
    setUpRestoreForm();
  });
})();
