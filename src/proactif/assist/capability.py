"""Assist (use case 3), first half: the town's public website. Pages agents write and publish in the CMS
(Wagtail, its admin under `/cms/` for the agents working for `information`), served under `/site/` in DSFR with
the collectivité's identity; a French search that forgives typos and missing accents; consent asked the CNIL
way; the visitors' queries classified by theme, offline."""

from proactif.assist import _cms, services, views
from proactif.kernel.capabilities import Capability, Mount, Nav, NoPersonalData, Pages, agent, public, route

SITE = public("le site public de la collectivité : des contenus publiés pour tous, rien sur les habitants du "
              "registre")
CHOICE = public("les choix du visiteur sur son propre navigateur (cookies, centres d'intérêt) : ils ne désignent "
                "personne, la preuve du consentement est gardée sous un identifiant aléatoire")
EDITORS = agent(services.PURPOSE)


CAPABILITY = Capability(
    name="assist", label="Site public",
    personal_data=NoPersonalData(
        "le site ne tient rien sur les habitants du registre : les preuves de consentement sont rangées sous un "
        "identifiant aléatoire que seul le cookie du visiteur porte (sans adresse IP ni empreinte) et purgées cinq "
        "ans après la fin de leur validité ; la mesure d'audience ne compte que des totaux par jour et par page"),
    pages=(Pages("redaction/", "redaction", (route("", views.editorial, EDITORS, "home"),)),
           Pages("site/", "assist", (
        route("recherche/", views.search, SITE, "search"),
        route("themes/<slug:slug>/", views.theme, SITE, "theme"),
        route("cookies/", views.cookies, CHOICE, "cookies"),
        route("mes-centres-d-interet/", views.interests, CHOICE, "interests"),
        route("mes-centres-d-interet/oublier/", views.forget_interests, CHOICE, "forget_interests"),
    )),),
    mounts=(
        Mount("site/", _cms.page_patterns, SITE),
        Mount("documents/", _cms.document_patterns, public("les documents que la rédaction publie sur le site "
                                                           "(Wagtail vérifie la collection et la publication)")),
        Mount("cms/", _cms.admin_patterns, EDITORS),
    ),
    nav=(Nav("Site public", "redaction:home", 60),),
    install=services.install,
    warm_up=services.warm_up,
)
