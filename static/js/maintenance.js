// Maintenance banners: a countdown to the start (or the end, while running),
// and a dismiss button remembered per window and revision in localStorage, so
// a changed window is shown again.
(function () {
  "use strict";
  var KEY = "hubport-maintenance-dismissed-";

  function remembered(id) {
    try { return window.localStorage.getItem(KEY + id) === "1"; } catch (e) { return false; }
  }

  function remember(id) {
    try { window.localStorage.setItem(KEY + id, "1"); } catch (e) { /* private mode: dismiss for this page only */ }
  }

  function span(ms) {
    var minutes = Math.max(0, Math.round(ms / 60000));
    var days = Math.floor(minutes / 1440), hours = Math.floor((minutes % 1440) / 60), rest = minutes % 60;
    var parts = [];
    if (days) parts.push(days + (days === 1 ? " day" : " days"));
    if (hours) parts.push(hours + " h");
    if (!days) parts.push(rest + " min");
    return parts.join(" ");
  }

  function tick(banner) {
    var now = Date.now();
    var starts = Date.parse(banner.dataset.startsAt), ends = Date.parse(banner.dataset.endsAt);
    var out = banner.querySelector("[data-countdown]");
    if (!out) return;
    if (now < starts) out.textContent = "Starts in " + span(starts - now) + ".";
    else if (now < ends) out.textContent = "In progress; ends in " + span(ends - now) + ".";
    else out.textContent = "Ended.";
  }

  function init() {
    var banners = document.querySelectorAll("[data-maintenance-window]");
    banners.forEach(function (banner) {
      var id = banner.dataset.maintenanceWindow;
      if (remembered(id)) { banner.hidden = true; return; }
      var button = banner.querySelector("[data-dismiss]");
      if (button) button.addEventListener("click", function () { remember(id); banner.hidden = true; });
      tick(banner);
    });
    window.setInterval(function () { banners.forEach(tick); }, 30000);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
