/* Hubport: ticking many rows at once on the files page and in Recently
 * deleted. A selection bar is a <form data-selection> whose row boxes live in
 * the table (input[name=pick][form=<the form's id>]), so "Load more" rows join
 * it. Shift-click ticks or clears a range; the header box ticks the page; past
 * the page, "Select all N" hands the choice to the server (all=1). Without
 * JavaScript the boxes and buttons still post: the server checks everything. */
(function () {
  "use strict";

  function setUp(form) {
    var count = form.querySelector("[data-selection-count]");
    var everything = form.querySelector("[data-select-everything]");
    var allInput = form.querySelector("[data-select-all-input]");
    var clear = form.querySelector("[data-selection-clear]");
    var total = parseInt(form.dataset.total, 10) || 0;
    var noun = form.dataset.noun || "item";
    var pageBox = document.querySelector('[data-select-page="' + form.id + '"]');
    var last = null;

    function boxes() {
      return Array.prototype.slice.call(document.querySelectorAll('input[name=pick][form="' + form.id + '"]'));
    }

    function plural(n) {
      return n + " " + noun + (n === 1 ? "" : "s");
    }

    function update() {
      var list = boxes();
      var checked = list.filter(function (box) {
        return box.checked;
      }).length;
      var all = allInput && allInput.value === "1";
      form.hidden = checked === 0 && !all;
      form.querySelectorAll("[data-needs-selection]").forEach(function (button) {
        button.disabled = checked === 0 && !all;
      });
      if (all) {
        count.textContent = "All " + plural(total) + " selected";
      } else {
        count.textContent = checked + " selected";
      }
      if (everything) {
        everything.hidden = all || checked !== list.length || total <= list.length;
        everything.textContent = "Select all " + plural(total);
      }
      if (pageBox) {
        pageBox.checked = checked > 0 && checked === list.length;
        pageBox.indeterminate = checked > 0 && checked < list.length;
      }
      list.forEach(function (box) {
        var row = box.closest("tr");
        if (row) {
          row.classList.toggle("file-row--selected", box.checked);
        }
      });
    }

    function setAll(flag) {
      if (allInput) {
        allInput.value = flag ? "1" : "";
      }
    }

    document.addEventListener("click", function (event) {
      var box = event.target;
      if (!(box instanceof HTMLInputElement) || box.name !== "pick" || box.getAttribute("form") !== form.id) {
        return;
      }
      var list = boxes();
      if (event.shiftKey && last && list.indexOf(last) !== -1) {
        var from = list.indexOf(last);
        var to = list.indexOf(box);
        var step = from < to ? 1 : -1;
        for (var i = from; i !== to; i += step) {
          list[i].checked = box.checked;
        }
      }
      last = box;
      if (!box.checked) {
        setAll(false);
      }
      update();
    });
    if (pageBox) {
      pageBox.addEventListener("change", function () {
        boxes().forEach(function (box) {
          box.checked = pageBox.checked;
        });
        if (!pageBox.checked) {
          setAll(false);
        }
        update();
      });
    }
    if (everything) {
      everything.addEventListener("click", function () {
        setAll(true);
        update();
      });
    }
    if (clear) {
      clear.addEventListener("click", function () {
        boxes().forEach(function (box) {
          box.checked = false;
        });
        setAll(false);
        update();
      });
    }
    // Rows added by "Load more" start unticked; with "all" chosen, they are in it too.
    document.body.addEventListener("htmx:afterSwap", function () {
      if (allInput && allInput.value === "1") {
        boxes().forEach(function (box) {
          box.checked = true;
        });
      }
      update();
    });
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-selection]").forEach(setUp);
  });
})();
