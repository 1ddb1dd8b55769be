/* The alerts map: base layers from the platform's GeoJSON (no tiles from the internet), drawing with
   terra-draw (polygons, circles, editing), quartiers chosen by click or in the form, streets by search, and a
   live count of residents and of what the send would do for them (per channel) while the target changes. */
(function () {
  "use strict";
  var el = document.getElementById("carte");
  if (!el || !window.L) { return; }
  var urls = el.dataset.couches.split("|");
  var form = document.getElementById("alerte");
  var csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  var quartierSelect = document.getElementById("quartiers");
  var chosenStreets = {};  // voie id → name
  var quartierLayers = {};  // quartier id → Leaflet layer

  // A view from the start: terra-draw's adapter reads the map's panes and projection when it registers
  var map = L.map(el, { preferCanvas: true, zoomSnap: 0.5, attributionControl: true, center: [46.6, 2.4],
    zoom: 6 });
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("Quartiers : Ville de Paris (ODbL) — adresses : registre de la commune");
  var renderer = L.canvas({ padding: 0.3 });
  if (el.dataset.fond && window.pmtiles) {  // the optional local raster basemap, read by byte ranges
    var fond = pmtiles.leafletRasterLayer(new pmtiles.PMTiles(el.dataset.fond), {
      attribution: el.dataset.fondCredit || "" });
    fond.on("tileloadstart tileload", function (e) { e.tile.alt = ""; });  // decorative, as Leaflet's own tiles
    fond.addTo(map);
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); });
  }

  // --- base layers -----------------------------------------------------------------------------
  var quartiers = L.geoJSON(null, {
    renderer: renderer,
    style: function () { return { color: "#3a3a8c", weight: 1, fillOpacity: 0.04 }; },
    onEachFeature: function (feature, layer) {
      quartierLayers[feature.properties.id] = layer;
      // A name is text: Leaflet puts a string tooltip in as HTML, so it gets an element holding the text.
      var name = document.createElement("span");
      name.textContent = feature.properties.nom || "";
      layer.bindTooltip(name, { sticky: true });
      layer.on("click", function () {
        if (currentMode !== "static") { return; }
        var option = quartierSelect.querySelector("option[value='" + feature.properties.id + "']");
        if (option) { option.selected = !option.selected; refresh(); }
      });
    }
  }).addTo(map);
  var commune = L.geoJSON(null, { renderer: renderer, interactive: false,
    style: function () { return { color: "#161616", weight: 2, fill: false }; } }).addTo(map);
  var streets = L.geoJSON(null, { renderer: renderer, interactive: false,
    style: function () { return { color: "#929292", weight: 2, opacity: 0.7 }; } }).addTo(map);
  var points = L.layerGroup().addTo(map);
  var addressData = null;

  // Address points on a canvas; grouped into counted clusters below zoom 16 (a pixel grid).
  function drawPoints() {
    if (!addressData) { return; }
    points.clearLayers();
    var bounds = map.getBounds().pad(0.2), zoom = map.getZoom(), i;
    if (zoom >= 16) {
      for (i = 0; i < addressData.ids.length; i++) {
        var ll = [addressData.lat[i], addressData.lon[i]];
        if (bounds.contains(ll)) {
          L.circleMarker(ll, { renderer: renderer, radius: 2.5, weight: 0, fillColor: "#000091", fillOpacity: 0.8,
            interactive: false }).addTo(points);
        }
      }
      return;
    }
    var cell = 48, cells = {};
    for (i = 0; i < addressData.ids.length; i++) {
      var p = [addressData.lat[i], addressData.lon[i]];
      if (!bounds.contains(p)) { continue; }
      var px = map.latLngToLayerPoint(p), key = Math.floor(px.x / cell) + ":" + Math.floor(px.y / cell);
      var c = cells[key] || (cells[key] = { n: 0, lat: 0, lon: 0 });
      c.n += 1; c.lat += p[0]; c.lon += p[1];
    }
    Object.keys(cells).forEach(function (key) {
      var c = cells[key];
      L.circleMarker([c.lat / c.n, c.lon / c.n], { renderer: renderer, radius: 4 + Math.min(14, Math.sqrt(c.n)),
        weight: 1, color: "#000091", fillColor: "#6a6af4", fillOpacity: 0.45, interactive: false }).addTo(points);
    });
  }

  Promise.all([getJSON(urls[0]), getJSON(urls[1])]).then(function (layers) {
    quartiers.addData(layers[0]);
    commune.addData(layers[1]);
    var b = (layers[1].features.length ? commune : quartiers).getBounds();
    if (b.isValid()) { map.fitBounds(b); }
    getJSON(urls[3]).then(function (d) { streets.addData(d); });
    return getJSON(urls[2]);
  }).then(function (data) { addressData = data; drawPoints(); el.dataset.ready = "1"; })
    .catch(function () { el.dataset.ready = "error"; });
  map.on("moveend zoomend", drawPoints);

  // --- drawing ---------------------------------------------------------------------------------
  var draw = new terraDraw.TerraDraw({
    adapter: new terraDrawLeafletAdapter.TerraDrawLeafletAdapter({ lib: L, map: map, coordinatePrecision: 7 }),
    modes: [
      new terraDraw.TerraDrawPolygonMode(),
      new terraDraw.TerraDrawCircleMode(),
      new terraDraw.TerraDrawSelectMode({ flags: {
        polygon: { feature: { draggable: true, coordinates: { midpoints: true, draggable: true, deletable: true } } },
        circle: { feature: { draggable: true } } } })
    ]
  });
  draw.start();
  window.proactifCarte = { map: map, draw: draw };
  var currentMode = "static";
  function setMode(mode) {
    currentMode = mode;
    draw.setMode(mode);
    el.classList.toggle("proactif-carte--dessin", mode !== "static");
    document.querySelectorAll("[data-mode]").forEach(function (b) {
      b.setAttribute("aria-pressed", b.dataset.mode === mode ? "true" : "false");
    });
  }
  document.querySelectorAll("[data-mode]").forEach(function (b) {
    b.addEventListener("click", function () { setMode(b.dataset.mode); });
  });
  setMode("static");
  draw.on("finish", function () { refresh(); });
  draw.on("change", function (ids, type) { if (type === "delete") { refresh(); } });
  document.getElementById("effacer").addEventListener("click", function () {
    draw.clear();
    Array.prototype.forEach.call(quartierSelect.options, function (o) { o.selected = false; });
    chosenStreets = {};
    renderStreets();
    refresh();
  });

  function haversine(a, b) {
    var r = 6371008.8, toRad = Math.PI / 180;
    var dLat = (b[1] - a[1]) * toRad, dLon = (b[0] - a[0]) * toRad;
    var h = Math.sin(dLat / 2) * Math.sin(dLat / 2) +
      Math.cos(a[1] * toRad) * Math.cos(b[1] * toRad) * Math.sin(dLon / 2) * Math.sin(dLon / 2);
    return 2 * r * Math.asin(Math.sqrt(h));
  }

  // Drawn shapes as the server reads them: polygons as they are, circles as a centre and a radius (metres).
  function areas() {
    var features = draw.getSnapshot().filter(function (f) {
      return f.geometry.type === "Polygon" && f.geometry.coordinates[0].length >= 4;
    }).map(function (f) {
      if (f.properties.mode === "circle") {
        var ring = f.geometry.coordinates[0], n = ring.length - 1, lon = 0, lat = 0;
        for (var i = 0; i < n; i++) { lon += ring[i][0]; lat += ring[i][1]; }
        var centre = [lon / n, lat / n];
        return { type: "Feature", properties: { radius: Math.round(haversine(centre, ring[0])) },
          geometry: { type: "Point", coordinates: centre } };
      }
      return { type: "Feature", properties: {}, geometry: f.geometry };
    });
    return features.length ? { type: "FeatureCollection", features: features } : null;
  }

  function target() {
    return {
      areas: areas(),
      voies: Object.keys(chosenStreets).map(Number),
      quartiers: Array.prototype.filter.call(quartierSelect.options, function (o) { return o.selected; })
        .map(function (o) { return Number(o.value); })
    };
  }

  // --- the live count --------------------------------------------------------------------------
  // the channels messaging declares (data-canaux); the count is what the send would do now for the alert's type
  // (a letter only for what is announced days ahead) — per channel the messages that would leave on it
  var CHANNELS = JSON.parse(el.dataset.canaux || "{}");
  CHANNELS.letter = "courrier postal";
  var NNBSP = "\u202f";  // French typography: a narrow no-break space before the colon
  function number(n) { return n.toLocaleString("fr-FR"); }
  function item(list, text) {
    var li = document.createElement("li");
    li.textContent = text;
    list.appendChild(li);
    return li;
  }
  var pending = null, sequence = 0;
  function refresh() {
    Object.keys(quartierLayers).forEach(function (id) {
      var on = quartierSelect.querySelector("option[value='" + id + "']").selected;
      quartierLayers[id].setStyle({ fillOpacity: on ? 0.35 : 0.04, fillColor: on ? "#ce0500" : "#3a3a8c" });
    });
    clearTimeout(pending);
    pending = setTimeout(count, 150);
    form.dataset.cible = JSON.stringify(target());  // the area's name in the messages (messages.js)
    form.dispatchEvent(new Event("cible"));
  }
  function count() {
    var t = target(), mine = ++sequence;
    var title = document.getElementById("compte-titre"), list = document.getElementById("compte-canaux");
    if (!t.areas && !t.voies.length && !t.quartiers.length) {
      title.textContent = "Aucune zone choisie"; list.innerHTML = ""; return;
    }
    title.textContent = "Calcul…";
    t.type = form.type.value;
    t.exercice = form.exercice.checked;
    fetch(el.dataset.compter, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf }, body: JSON.stringify(t) })
      .then(answered)
      .catch(function () {
        if (mine === sequence) { title.textContent = "Session expirée ou connexion coupée : reconnectez-vous pour calculer la zone"; }
        return null;
      })
      .then(function (res) {
        if (res === null) { return; }
        if (mine !== sequence) { return; }
        if (!res.ok) { title.textContent = res.d.error || "Zone refusée"; return; }
        var d = res.d;
        title.textContent = (t.exercice ? "Exercice" + NNBSP + ": " + number(d.residents) + " contacts de test" :
          number(d.residents) + (d.residents > 1 ? " habitants, " : " habitant, ") + number(d.addresses) +
          (d.addresses > 1 ? " adresses" : " adresse"));
        list.innerHTML = "";
        Object.keys(d.reachable).forEach(function (c) {
          item(list, "Message par " + (CHANNELS[c] || c) + NNBSP + ": " + number(d.reachable[c]));
        });
        var none = item(list, "Sans canal ouvert, message annulé" + NNBSP + ": " + number(d.unreachable));
        var reasons = Object.keys(d.reasons || {});
        if (reasons.length) {
          none.textContent += " (" + reasons.map(function (r) {
            return r + NNBSP + ": " + number(d.reasons[r]);
          }).join(" ; ") + ")";
        }
        Object.keys(d.fell_back || {}).forEach(function (c) {
          item(list, "Aucun modèle publié pour " + (CHANNELS[c] || c) + ", message envoyé par le canal suivant" +
            NNBSP + ": " + number(d.fell_back[c]));
        });
        Object.keys(d.failed || {}).forEach(function (c) {
          item(list, "Échec faute de modèle publié (" + (CHANNELS[c] || c) + ")" + NNBSP + ": " + number(d.failed[c]));
        });
        var streetList = document.getElementById("rues-selection");
        streetList.innerHTML = "";
        d.streets.forEach(function (s) {
          var item = document.createElement("li");
          item.textContent = s.nom + " (" + s.addresses + " adresses)";
          streetList.appendChild(item);
        });
        el.dataset.count = String(d.residents);
      });
  }
  quartierSelect.addEventListener("change", refresh);
  form.type.addEventListener("change", refresh);  // the type decides the channels (a letter or not)
  form.exercice.addEventListener("change", refresh);  // an exercise reaches the test contacts only

  // --- streets ---------------------------------------------------------------------------------
  function renderStreets() {
    var ul = document.getElementById("rues-choisies");
    ul.innerHTML = "";
    Object.keys(chosenStreets).forEach(function (id) {
      var li = document.createElement("li"), button = document.createElement("button");
      li.textContent = chosenStreets[id] + " ";
      button.type = "button";
      button.className = "fr-btn fr-btn--sm fr-btn--tertiary-no-outline";
      button.textContent = "Retirer";
      button.setAttribute("aria-label", "Retirer " + chosenStreets[id]);
      button.addEventListener("click", function () { delete chosenStreets[id]; renderStreets(); refresh(); });
      li.appendChild(button);
      ul.appendChild(li);
    });
  }
  var search = document.getElementById("recherche-rue"), searchTimer = null;
  search.addEventListener("input", function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(function () {
      var found = document.getElementById("rues-trouvees");
      if (search.value.trim().length < 3) { found.innerHTML = ""; return; }
      getJSON(el.dataset.rues + "?q=" + encodeURIComponent(search.value)).then(function (d) {
        found.innerHTML = "";
        d.streets.forEach(function (s) {
          var li = document.createElement("li"), button = document.createElement("button");
          button.type = "button";
          button.className = "fr-btn fr-btn--sm fr-btn--secondary";
          button.textContent = "Ajouter " + s.nom;
          button.addEventListener("click", function () {
            chosenStreets[s.id] = s.nom; renderStreets(); refresh(); found.innerHTML = ""; search.value = "";
            search.focus();
          });
          li.appendChild(button);
          found.appendChild(li);
        });
      });
    }, 200);
  });

  // --- an answer that is not the API's: the session expired (the login page came back) or the network failed
  var EXPIRED = "Votre session a expiré ou la connexion a été coupée : rien n’a été envoyé. Reconnectez-vous " +
    "dans un autre onglet, puis cliquez de nouveau sur « Envoyer l’alerte » (ce que vous avez saisi est conservé).";
  function answered(r) {
    var json = (r.headers.get("Content-Type") || "").indexOf("json") !== -1;
    if (r.redirected || r.status === 401 || r.status === 403 || !json) { throw new Error("session"); }
    return r.json().then(function (d) { return { ok: r.ok, d: d }; });
  }
  function alertBox(container, text) {
    var div = document.createElement("div");
    div.className = "fr-alert fr-alert--error fr-alert--sm";
    var p = document.createElement("p");
    p.textContent = text;
    div.appendChild(p);
    container.appendChild(div);
  }

  // --- sending ---------------------------------------------------------------------------------
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var errors = document.getElementById("erreurs");
    errors.innerHTML = "";
    var body = target();
    body.type = form.type.value;
    body.titre = form.titre.value;
    body.texte = form.texte.value;
    body.texte_en = form.texte_en.value;
    body.exercice = form.exercice.checked;
    document.getElementById("envoyer").disabled = true;
    fetch(form.action, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf }, body: JSON.stringify(body) })
      .then(answered)
      .then(function (res) {
        if (res.ok) { window.location.href = res.d.url; return; }
        document.getElementById("envoyer").disabled = false;
        Object.keys(res.d.errors || {}).forEach(function (k) { alertBox(errors, res.d.errors[k]); });
      })
      .catch(function () {
        document.getElementById("envoyer").disabled = false;
        alertBox(errors, EXPIRED);
      });
  });
})();
