// Charts of the agents' pages (kernel.charts, web/includes/chart.html). Chart.js is served locally and loaded
// only where a chart is; each series differs by dash and point shape as well as colour, the legend shows them.
(function () {
  "use strict";
  var me = document.currentScript;
  var waiting = null;
  // withChart(callback): Chart.js loaded once, on demand, then callback() (the home page's age pyramid uses it)
  window.withChart = function (callback) {
    if (typeof Chart !== "undefined") { callback(); return; }
    if (waiting) { waiting.push(callback); return; }
    waiting = [callback];
    var loader = document.createElement("script");
    loader.src = me.getAttribute("data-chartjs");
    loader.nonce = me.nonce;
    loader.onload = function () { waiting.forEach(function (f) { f(); }); };
    document.head.appendChild(loader);
  };
  var canvases = document.querySelectorAll("canvas[data-chart]");
  if (!canvases.length) { return; }
  var style = getComputedStyle(document.documentElement);
  var primary = style.getPropertyValue("--background-action-high-blue-france").trim() || "#000091";
  var palette = [primary, "#a94645", "#18753c", "#6e445a", "#8d533e"];
  var dashes = [[], [8, 4], [2, 3], [12, 4, 2, 4], [4, 4]];
  var points = ["circle", "triangle", "rect", "rectRot", "crossRot"];
  var number = new Intl.NumberFormat("fr-FR");

  function render(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source) { return; }
    var spec = JSON.parse(source.textContent);
    var datasets = spec.series.map(function (s, i) {
      var colour = palette[i % palette.length];
      return {
        label: s.label, data: s.data, borderColor: colour, backgroundColor: colour,
        borderDash: dashes[i % dashes.length], pointStyle: points[i % points.length], pointRadius: 4,
        borderWidth: 2, fill: false, tension: 0
      };
    });
    new Chart(canvas, {
      type: spec.kind,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        indexAxis: spec.horizontal ? "y" : "x", responsive: true, maintainAspectRatio: false, animation: false,
        locale: "fr-FR",
        plugins: {
          legend: { display: datasets.length > 1, labels: { usePointStyle: true } },
          tooltip: { callbacks: { label: function (ctx) {
            return ctx.dataset.label + " : " + number.format(ctx.raw === null ? 0 : ctx.raw);
          } } }
        },
        scales: { x: { beginAtZero: true }, y: { beginAtZero: true } }
      }
    });
  }

  window.withChart(function () { canvases.forEach(render); });
})();
