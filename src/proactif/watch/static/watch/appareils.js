/* The devices' map: the quartiers served by the platform (no tiles from the internet), a dot per device at its
   person's home, coloured by state, a popup with the person's page; the dots are read again every 30 s (paused
   while the tab is hidden, or when the agent pauses the page's refresh). The table below says the same. */
(function () {
  "use strict";
  var el = document.getElementById("carte-appareils");
  var data = document.getElementById("appareils-points");
  if (!el || !window.L || !data) { return; }
  var map = L.map(el, { preferCanvas: true, zoomSnap: 0.5, center: [46.6, 2.4], zoom: 6 });
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("Quartiers : registre de la commune");
  var renderer = L.canvas({ padding: 0.3 });
  var quartiers = L.geoJSON(null, { renderer: renderer, interactive: false,
    style: function () { return { color: "#3a3a8c", weight: 1, fillOpacity: 0.04 }; } }).addTo(map);
  var dots = L.layerGroup().addTo(map);
  var framed = false;

  function text(tag, value) { var node = document.createElement(tag); node.textContent = value; return node; }

  function draw(points) {
    dots.clearLayers();
    var bounds = [];
    points.forEach(function (p) {
      if (p.lat === null || p.lon === null) { return; }
      var dot = L.circleMarker([p.lat, p.lon], { renderer: renderer, radius: p.rank <= 1 ? 9 : 6, weight: 2,
        color: "#ffffff", fillColor: p.colour, fillOpacity: 0.95 });
      var box = document.createElement("div");  // text nodes: a name is never read as HTML
      var link = text("a", p.name);
      link.href = p.url;
      box.appendChild(link);
      box.appendChild(text("p", p.label + " — " + p.serial));
      dot.bindPopup(box);
      var tip = text("span", p.label);
      dot.bindTooltip(tip);
      dot.addTo(dots);
      bounds.push([p.lat, p.lon]);
    });
    if (!framed && bounds.length) { map.fitBounds(bounds, { padding: [30, 30], maxZoom: 16 }); framed = true; }
  }

  fetch(el.dataset.quartiers, { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (layer) {
      if (!layer) { return; }
      quartiers.addData(layer);
      if (!framed && quartiers.getBounds().isValid()) { map.fitBounds(quartiers.getBounds()); }
    });
  draw(JSON.parse(data.textContent));

  var toggle = document.querySelector('[data-live-toggle="appareils-live"]');
  function paused() { return document.hidden || (toggle && toggle.getAttribute("aria-pressed") === "true"); }
  window.setInterval(function () {
    if (paused()) { return; }
    fetch(el.dataset.points, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) { if (body) { draw(body.points); } });
  }, (parseInt(el.dataset.every, 10) || 30) * 1000);
})();
