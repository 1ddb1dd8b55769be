// A DSFR table whose container scrolls sideways (a narrow screen) can be scrolled with the keyboard: the
// container becomes a focusable region named by the table's caption (RGAA 7.3, axe "scrollable-region-focusable").
(function () {
  "use strict";
  function update() {
    document.querySelectorAll(".fr-table__container").forEach(function (container) {
      var scrolls = container.scrollWidth > container.clientWidth + 1;
      if (scrolls && !container.hasAttribute("tabindex")) {
        var caption = container.querySelector("caption");
        container.setAttribute("tabindex", "0");
        container.setAttribute("role", "region");
        container.setAttribute("aria-label", caption ? caption.textContent.trim() : "Tableau");
        container.setAttribute("data-scroll-region", "");
      } else if (!scrolls && container.hasAttribute("data-scroll-region")) {
        ["tabindex", "role", "aria-label", "data-scroll-region"].forEach(function (a) { container.removeAttribute(a); });
      }
    });
  }
  update();
  var pending = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(pending);
    pending = window.setTimeout(update, 150);
  });
  document.addEventListener("htmx:afterSettle", update);
  window.proactifTables = update;  // after a live region's refresh
})();
