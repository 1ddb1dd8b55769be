// Pages that change while watched (a screening run, an incident's delivery) refresh a part of themselves.
// <div data-live-url="?live=1" data-live-every="5" id="…"> is replaced by the fragment that URL returns, without a
// page load; the fragment's [data-live-summary] text goes to the page's persistent [data-live-announce] element
// (aria-live="polite"), so a screen reader hears one sentence when it changes, not the whole table. A button
// [data-live-toggle="<id>"] pauses and resumes (aria-pressed). A fragment carrying [data-live-done] stops the
// refresh — and reloads the page when the region asks for it (data-live-reload-when-done: the results appear).
(function () {
  "use strict";
  document.querySelectorAll("[data-live-url]").forEach(function (region) {
    var every = Math.max(2, parseInt(region.getAttribute("data-live-every") || "5", 10)) * 1000;
    var announce = document.querySelector("[data-live-announce='" + region.id + "']");
    var toggle = document.querySelector("[data-live-toggle='" + region.id + "']");
    var timer = null;
    var paused = false;

    function done(root) { return root.querySelector("[data-live-done]") !== null; }

    function refresh() {
      if (paused || document.hidden) { return; }
      fetch(region.getAttribute("data-live-url"), { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (response) {
          if (response.redirected || response.status === 401 || response.status === 403) {
            stop();  // the session has expired (the login page) or the page is no longer open to this agent
            if (announce) {
              announce.textContent = "Actualisation arrêtée : votre session a expiré. Rechargez la page après vous être reconnecté.";
            }
            var notice = document.createElement("p");
            notice.className = "fr-alert fr-alert--warning fr-alert--sm";
            notice.textContent = "Actualisation arrêtée : votre session a expiré. Rechargez la page après vous être reconnecté.";
            region.parentNode.insertBefore(notice, region);
            return null;
          }
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (html === null) { return; }
          var fresh = document.createElement("div");
          fresh.innerHTML = html;
          region.innerHTML = fresh.innerHTML;
          if (window.proactifTables) { window.proactifTables(); }
          var summary = fresh.querySelector("[data-live-summary]");
          if (announce && summary && announce.textContent !== summary.textContent) {
            announce.textContent = summary.textContent;
          }
          if (done(fresh)) {
            stop();
            if (region.hasAttribute("data-live-reload-when-done")) { window.location.reload(); }
          }
        })
        .catch(function () { /* the next tick tries again */ });
    }

    function start() { if (timer === null) { timer = window.setInterval(refresh, every); } }
    function stop() {
      if (timer !== null) { window.clearInterval(timer); timer = null; }
      if (toggle) { toggle.hidden = true; }
    }

    if (done(region)) { if (toggle) { toggle.hidden = true; } return; }
    if (toggle) {
      toggle.addEventListener("click", function () {
        paused = !paused;
        toggle.setAttribute("aria-pressed", paused ? "true" : "false");
        toggle.textContent = paused ? toggle.getAttribute("data-resume-label") : toggle.getAttribute("data-pause-label");
        if (!paused) { refresh(); }
      });
    }
    start();
  });
})();
