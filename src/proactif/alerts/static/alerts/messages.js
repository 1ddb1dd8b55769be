/* The alert form's messages: each channel's message as residents will receive it, rendered by the server while
   the agent writes (type, title, texts, exercise, and the area's name from the map: carte.js sends the event
   "cible"). Screen readers hear the SMS's length when its segments or encoding change, not every keystroke. */
(function () {
  "use strict";
  var form = document.getElementById("alerte");
  var box = document.getElementById("apercu-messages");
  var status = document.getElementById("apercu-etat");
  if (!form || !box) { return; }
  var csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  var timer = null, sequence = 0, lastSummary = "";

  function target() {
    if (form.dataset.cible) { return JSON.parse(form.dataset.cible); }
    return { quartiers: Array.prototype.filter.call(form.quartiers.options, function (o) { return o.selected; })
      .map(function (o) { return Number(o.value); }) };
  }

  function refresh() {
    var body = target(), mine = ++sequence;
    body.type = form.type.value;
    body.titre = form.titre.value;
    body.texte = form.texte.value;
    body.texte_en = form.texte_en.value;
    body.exercice = form.exercice.checked;
    fetch(box.dataset.url, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "text/html" },
      body: JSON.stringify(body) })
      .then(function (r) {
        // the login page after a redirect is not the fragment: the session expired
        if (r.redirected || r.status === 401 || r.status === 403) { throw new Error("session"); }
        return r.text();
      })
      .then(function (html) {
        if (mine !== sequence) { return; }
        box.innerHTML = html;
        var resume = box.querySelector("[data-resume]");
        var summary = resume ? resume.dataset.resume : "";
        if (summary && summary !== lastSummary && status) { status.textContent = summary; }
        lastSummary = summary;
      })
      .catch(function () {
        if (mine !== sequence) { return; }
        box.innerHTML = "";
        var p = document.createElement("p");
        p.className = "fr-error-text";
        p.textContent = "Votre session a expiré ou la connexion a été coupée\u202f: reconnectez-vous pour voir les messages.";
        box.appendChild(p);
      });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  }
  ["texte", "texte_en", "titre"].forEach(function (name) { form[name].addEventListener("input", later); });
  ["type", "exercice", "quartiers"].forEach(function (name) { form[name].addEventListener("change", later); });
  form.addEventListener("cible", later);
})();
