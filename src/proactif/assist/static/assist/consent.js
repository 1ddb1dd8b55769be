// The consent banner and manager post their form in place (the page stays where it is); without JavaScript the
// same forms post and come back to the page. The footer's « Gestion des cookies » opens the DSFR modal.
(function () {
  "use strict";
  function close(form) {
    var banner = document.getElementById("bandeau-cookies");
    var modal = document.getElementById("gestion-cookies");
    // The focus must not be lost with the element that had it: the modal gives it back to what opened it (the
    // footer's link; DSFR's conceal() alone does not); when the banner goes, its buttons too (and its « Personnaliser »
    // that may have opened the modal), so the focus goes where Tab would have gone next, the skip links.
    if (modal && window.dsfr && form.closest("#gestion-cookies")) window.dsfr(modal).modal.conceal(false, !!banner);
    if (banner) {
      banner.remove();
      var next = document.querySelector(".fr-skiplinks a");
      if (next) next.focus();
    }
    var status = document.getElementById("choix-cookies-enregistre");
    if (status) status.textContent = "Vos choix sur les cookies sont enregistrés.";
  }
  document.querySelectorAll("form.proactif-consent-form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.fetch) return;
      event.preventDefault();
      var data = new FormData(form);
      if (event.submitter && event.submitter.name) data.append(event.submitter.name, event.submitter.value);
      fetch(form.action, {method: "POST", body: data, credentials: "same-origin",
                          headers: {"X-Requested-With": "fetch"}})
        .then(function (response) { if (response.ok) close(form); else form.submit(); })
        .catch(function () { form.submit(); });
    });
  });
  var link = document.getElementById("lien-gestion-cookies");
  if (link) {
    link.addEventListener("click", function (event) {
      var modal = document.getElementById("gestion-cookies");
      if (!modal || window.dsfr === undefined) return;  // no DSFR script: the link opens the page version
      event.preventDefault();
      // DSFR registers the link as the modal's button (its aria-controls) and opens the modal on this same click
      // (a toggle: opening it here too would close it again); it also gives the focus back to the link on closing.
      if (!link.hasAttribute("data-fr-js-modal-button")) window.dsfr(modal).modal.disclose();
    });
  }
})();
