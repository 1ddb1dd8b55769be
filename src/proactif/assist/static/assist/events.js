// The site's own first-party events (issue 20), sent only when the visitor accepted « personnalisation » — the
// server says so on this script's tag (data-personnalisation), the consent cookie itself is out of reach (HttpOnly).
// What is sent: the page viewed (its number; the server reads its themes), the theme of the search made (the results
// page gives the theme the server found; the words never leave the page), clicks on the home's and themes' blocks
// (data-bloc, data-surface), downloads and forms sent. Nothing about the browser, the screen or the device: no
// fingerprint. Events are batched (50 at most a request) and sent with fetch keepalive, or navigator.sendBeacon when
// the page is left.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || script.getAttribute("data-personnalisation") !== "oui") return;
  var url = script.getAttribute("data-url");
  var page = parseInt(script.getAttribute("data-page") || "", 10);
  var theme = script.getAttribute("data-theme");
  var searched = script.getAttribute("data-recherche");  // a search's theme, as the server classified it
  var MAX = 50;
  var queue = [];
  var timer = null;

  function send(batch, leaving) {
    var body = JSON.stringify({events: batch});
    // text/plain: a simple request (no preflight), which sendBeacon accepts everywhere; the server reads JSON
    if (leaving && navigator.sendBeacon && navigator.sendBeacon(url, new Blob([body], {type: "text/plain"}))) return;
    if (!window.fetch) return;
    fetch(url, {method: "POST", body: body, keepalive: true, credentials: "same-origin",
                headers: {"Content-Type": "text/plain;charset=UTF-8"}}).catch(function () {});
  }
  function flush(leaving) {
    if (timer) { clearTimeout(timer); timer = null; }
    while (queue.length) send(queue.splice(0, MAX), leaving);
  }
  function push(event) {
    queue.push(event);
    if (queue.length >= MAX) flush(false);
    else if (!timer) timer = setTimeout(function () { flush(false); }, 1500);
  }
  function here(event) {
    if (page > 0) event.page = page;
    return event;
  }

  if (page > 0) push({type: "page_vue", page: page});
  else if (theme) push({type: "page_vue", theme: theme});
  if (searched) push({type: "recherche", theme: searched});

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    var block = target.closest("[data-bloc][data-surface]");
    if (block) push({type: "clic", bloc: block.getAttribute("data-bloc"), surface: block.getAttribute("data-surface")});
    var link = target.closest("a[href]");
    if (link && /^\/documents\//.test(new URL(link.href, location.href).pathname)) push(here({type: "telechargement"}));
  }, true);
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    // the cookie choices and the search are not « forms sent » (the search is its own event, on its results page)
    // nor the profile's own buttons (data-sans-suivi): an event sent as it is deleted would start a new one
    if (form.classList.contains("proactif-consent-form") || form.getAttribute("role") === "search" ||
        form.hasAttribute("data-sans-suivi")) return;
    push(here({type: "formulaire"}));
  }, true);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") flush(true);
  });
  window.addEventListener("pagehide", function () { flush(true); });
})();
