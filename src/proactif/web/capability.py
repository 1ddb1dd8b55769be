"""The agent interface's frame: the dashboard, the collectivité's identity (stylesheet, logo, favicon), and the
operators' probes (health, metrics)."""

from proactif.accounts.domain import Role
from proactif.kernel.capabilities import Capability, Nav, NoPersonalData, Pages, agent, public, route
from proactif.web import views

IDENTITY = public("l'identité visuelle de la collectivité, servie à toute page, connexion comprise")

CAPABILITY = Capability(
    name="web", label="Interface",
    personal_data=NoPersonalData("le tableau de bord montre des effectifs, jamais une personne"),
    pages=(Pages("", "web", (
        route("", views.home, agent(), "home"),
        route("healthz", views.healthz, public("la sonde des répartiteurs de charge : état de la base et du courtier"),
              "healthz"),
        # Operators' figures (traffic, queues, failures): for an administrator's session, or the scraper bearing
        # PROACTIF_METRICS_TOKEN — not for the whole internet.
        route("metrics", views.metrics_view, agent(roles=[Role.ADMIN], bearer_setting="METRICS_TOKEN"), "metrics"),
        route("identite.css", views.identity_css, IDENTITY, "identity_css"),
        route("identite/logo", views.logo, IDENTITY, "logo"),
        route("favicon.svg", views.favicon, IDENTITY, "favicon"),
        route("favicon.ico", views.favicon, IDENTITY, "favicon_ico"),
        route("mentions-legales/", views.legal_notice, public("les mentions légales, dues sur toute page publique"),
              "legal_notice"),
        route("donnees-personnelles/", views.personal_data, public("l'information des habitants sur leurs données "
                                                                   "(RGPD art. 13 et 14)"), "personal_data"),
        route("accessibilite/", views.accessibility, public("la déclaration d'accessibilité (RGAA, loi 2005-102 "
                                                            "art. 47)"), "accessibility"),
    )),),
    nav=(Nav("Tableau de bord", "web:home", 0),),
)
