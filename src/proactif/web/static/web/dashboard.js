// Age pyramid of the home dashboard (Chart.js, served locally). Data comes from a json_script tag.
(function () {
  "use strict";
  var source = document.getElementById("pyramide-donnees");
  var canvas = document.getElementById("pyramide");
  if (!source || !canvas || typeof window.withChart === "undefined") { return; }
  window.withChart(function () { draw(source, canvas); });
})();

function draw(source, canvas) {
  "use strict";
  var bands = JSON.parse(source.textContent);
  var style = getComputedStyle(document.documentElement);
  var primary = style.getPropertyValue("--background-action-high-blue-france").trim() || "#1f5f7a";
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: bands.map(function (b) { return b.band; }).reverse(),
      datasets: [
        { label: "Femmes", data: bands.map(function (b) { return -b.F; }).reverse(), backgroundColor: "#a94645" },
        { label: "Hommes", data: bands.map(function (b) { return b.M; }).reverse(), backgroundColor: primary }
      ]
    },
    options: {
      indexAxis: "y", responsive: true, maintainAspectRatio: false, animation: false,
      scales: {
        x: { stacked: true, ticks: { callback: function (v) { return Math.abs(v).toLocaleString("fr-FR"); } } },
        y: { stacked: true }
      },
      plugins: { tooltip: { callbacks: { label: function (ctx) {
        return ctx.dataset.label + " : " + Math.abs(ctx.raw).toLocaleString("fr-FR");
      } } } }
    }
  });
}
