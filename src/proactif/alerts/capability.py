"""Alerts (use case 2): incidents on a map, their recipients, updates and resolution on the urgent lane, the
residents' answers, CAP 1.2 and the Atom feed; the resident's "are you safe?" page reached by a signed link."""

from pathlib import Path

from proactif.accounts.domain import Section
from proactif.alerts import _gdpr as gdpr
from proactif.alerts import api as alerts_api
from proactif.alerts import services, views
from proactif.kernel.capabilities import (
    ApiRouter,
    Capability,
    ForResident,
    HomeBlock,
    LinkTarget,
    Listener,
    MessageData,
    Nav,
    Pages,
    PersonalData,
    Scope,
    agent,
    api,
    public,
    route,
    signed_link,
)
from proactif.messaging import services as messaging

POLICE = agent(services.PURPOSE)
POLICE_READS = agent(services.PURPOSE, personal=True)
PUBLIC_FEED = public("les alertes sont publiques par nature (CAP 1.2, flux Atom) : aucune donnée d'habitant")


def _install() -> None:
    messaging.load_templates(Path(__file__).parent / "messages.yaml")


CAPABILITY = Capability(
    name="alerts", label="Alertes",
    personal_data=PersonalData.handled_by(
        "alertes", ("alerts.IncidentRecipient",), gdpr),
    pages=(
        Pages("alertes/", "alerts", (
            route("", views.home, POLICE, "home"),
            route("compter/", views.count, POLICE, "count"),
            route("messages/", views.messages_preview, POLICE, "messages"),
            route("rues/", views.streets, POLICE, "streets"),
            route("couches/<str:name>.json", views.layers, POLICE, "layer"),
            route("fond.pmtiles", views.basemap, POLICE, "basemap"),
            route("envoyer/", views.create, POLICE, "create"),
            route("<int:incident_id>/", views.incident, POLICE_READS, "incident"),
            route("<int:incident_id>/cap/<int:seq>.xml", views.cap, PUBLIC_FEED, "cap"),
            route("flux.atom", views.atom, PUBLIC_FEED, "atom"),
        )),
        Pages("demarches/alerte/", "alertes-portail", (
            route("", views.reponse, signed_link(services.LINK_PURPOSE, refusal="alerts/reponse_sans_lien.html"),
                  "reponse"),
        )),
    ),
    api=ApiRouter("/alerts", alerts_api.router, {
        alerts_api.count: api("alerts:read"),
        alerts_api.send: api("alerts:write"),
        alerts_api.message: api("alerts:write"),
        alerts_api.incident: api("alerts:read"),
        alerts_api.cap: api("alerts:read"),
    }),
    scopes=(Scope("alerts:read", "Lire les incidents, leur distribution et leurs documents CAP",
                  frozenset({services.PURPOSE})),
            Scope("alerts:write", "Envoyer une alerte, une mise à jour ou la fin d'un incident",
                  frozenset({services.PURPOSE}))),
    home=(HomeBlock("Incidents et alertes", "alerts:home", "alerts/_home.html", services.home_incidents, 5),),
    nav=(Nav("Alertes", "alerts:home", 45),),
    message_data=(MessageData("alerte", "alerte_message_id", services.message_views,
                              ("type", "type_en", "titre", "etape", "texte", "texte_en", "zone", "exercice",
                               "numero"),
                              example={"type": "Coupure d'eau", "type_en": "Water cut", "titre": "Fuite rue de Paris",
                                       "etape": "alerte", "texte": "L'eau est coupée jusqu'à 18 h.",
                                       "texte_en": "Water is cut until 6 pm.", "zone": "Quartier de la Gare",
                                       "exercice": False, "numero": 1}),),
    listeners=(Listener(("reply_received",), services.on_reply),),
    link_targets=(LinkTarget(services.LINK_PURPOSE, "alertes-portail:reponse"),),
    for_resident=(ForResident(services.MESSAGE_PURPOSE, "Alertes à votre adresse", Section.ADRESSES,
                              services.resident_items),),
    install=_install,
    notices=services.public_notices,
)
