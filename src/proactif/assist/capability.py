"""Assist (use case 3): the town's public website. Pages agents write and publish in the CMS (Wagtail, its admin
under `/cms/` for the agents working for `information`), served under `/site/` in DSFR with the collectivité's
identity; a French search that forgives typos and missing accents; consent asked the CNIL way; the visitors'
queries classified by theme, offline. Then, for the visitors who accept it, personalisation from first-party
events (interest per theme with decay, measured against a control group), the newsletters they subscribe to,
progressive profiling and a resident's signed-link view.

Each part keeps its routes in its own module (`views_*.ROUTES`, `AGENT_ROUTES`) and its other declarations beside
them; this object gathers them."""

from proactif.assist import (
    _cms,
    _gdpr,
    api,
    services,
    views,
    views_editions,
    views_newsletter,
    views_questions,
    views_resident,
    views_segments,
    views_visitor,
)
from proactif.assist._rules import CHOICE, EDITORS, SITE
from proactif.kernel.capabilities import Capability, Mount, Nav, Pages, PersonalData, public, route

CAPABILITY = Capability(
    name="assist", label="Site public",
    personal_data=PersonalData.handled_by(
        "site", _gdpr.MODELS, _gdpr, fields=("assist.Subscriber.person_id",),
        subjects=("assist.Subscriber", "assist.Profile")),
    pages=(Pages("redaction/", "redaction", (route("", views.editorial, EDITORS, "home"),
                                            *views_segments.ROUTES, *views_editions.ROUTES)),
           Pages("site/", "assist", (
        route("recherche/", views.search, SITE, "search"),
        route("themes/<slug:slug>/", views.theme, SITE, "theme"),
        route("cookies/", views.cookies, CHOICE, "cookies"),
        route("mes-centres-d-interet/", views.interests, CHOICE, "interests"),
        route("mes-centres-d-interet/oublier/", views.forget_interests, CHOICE, "forget_interests"),
        *views_visitor.ROUTES, *views_questions.ROUTES, *views_newsletter.ROUTES,
        *views_resident.ROUTES,
    )),),
    mounts=(
        Mount("site/", _cms.page_patterns, SITE),
        Mount("documents/", _cms.document_patterns, public("les documents que la rédaction publie sur le site "
                                                           "(Wagtail vérifie la collection et la publication)")),
        Mount("cms/", _cms.admin_patterns, EDITORS),
    ),
    api=api.API,
    scopes=api.SCOPES,
    nav=(Nav("Site public", "redaction:home", 60),),
    listeners=views_newsletter.LISTENERS,
    link_targets=views_resident.LINK_TARGETS,
    sending=views_newsletter.SENDING,
    install=services.install,
    warm_up=services.warm_up,
)
