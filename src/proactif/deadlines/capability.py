"""Deadlines (use case 1): identity-document renewals, the town hall's agenda, title requests, the citizen
portal reached by a signed link."""

from pathlib import Path

from proactif.accounts.domain import Role, Section
from proactif.deadlines import _gdpr as gdpr
from proactif.deadlines import services, views
from proactif.journeys import services as journeys
from proactif.kernel.capabilities import (
    Capability,
    Event,
    ForResident,
    HomeBlock,
    JourneyData,
    LinkTarget,
    MessageData,
    Nav,
    Pages,
    Panel,
    PersonalData,
    agent,
    route,
    signed_link,
)
from proactif.messaging import services as messaging
from proactif.registry.domain import AGREEMENT_FIELDS, agreement

LINK_PURPOSE = services.LINK_PURPOSE
DESK = agent("etat_civil", personal=True)
CITIZEN = signed_link(LINK_PURPOSE, refusal="deadlines/portal_no_link.html")
FOLDER = Path(__file__).parent


def _install() -> None:
    messaging.load_templates(FOLDER / "messages.yaml")
    journeys.load_folder(FOLDER / "journeys")
    services.ensure_default_counter()


CAPABILITY = Capability(
    name="deadlines", label="Échéances et titres",
    personal_data=PersonalData.handled_by(
        "rendez_vous", ("deadlines.Appointment", "deadlines.TitleRequest"), gdpr),
    pages=(
        Pages("rendez-vous/", "deadlines", (
            route("", views.agenda, DESK, "agenda"),
            route("<int:appointment_id>/", views.appointment_action, DESK, "appointment"),
            route("<int:appointment_id>.ics", views.agent_ics, DESK, "agent_ics"),
            route("reserver/", views.agent_booking, DESK, "agent_booking"),
            route("titres/", views.titles, DESK, "titles"),
            route("guichets/", views.counters, agent("etat_civil", roles=[Role.RESPONSABLE]), "counters"),
        )),
        Pages("demarches/titres/", "portal", (
            route("", views.portal, CITIZEN, "home"),
            route("annuler/", views.portal_cancel, CITIZEN, "cancel"),
            route("<int:appointment_id>.ics", views.portal_ics, CITIZEN, "ics"),
        )),
    ),
    home=(HomeBlock("Rendez-vous du jour", "deadlines:agenda", "deadlines/_home.html", services.home_day, 20),),
    nav=(Nav("Rendez-vous", "deadlines:agenda", 30),),
    panels=(Panel(Section.DOCUMENTS, "Rendez-vous et demandes de titres", "deadlines/_person_panel.html",
                  services.person_panel),),
    message_data=(MessageData("rendez_vous", "appointment_id", services.appointment_views,
                              ("date", "heure", "lieu", "adresse", "guichet", "numeros_predemande"),
                              services.ics_attachment, roots={"pieces": None},  # the documents to bring
                              example={"date": "mardi 2 mars 2027", "heure": "10h00", "lieu": "Mairie",
                                       "adresse": "1 place de la Mairie", "guichet": "Mairie",
                                       "numeros_predemande": "AB12CD34EF",
                                       "_racines": {"pieces": ["votre ancien titre", "une photo d'identité"]}}),
                  MessageData("demande", "request_id", services.request_views,
                              ("type", *AGREEMENT_FIELDS),
                              example={"type": "carte d'identité", **agreement("cni"),
                                       "_racines": {"date_limite": "15 avril 2027"}})),
    journey_data=(JourneyData("rendez_vous", services.journey_appointments),
                  JourneyData("retrait", services.collection_deadlines)),
    events=(Event("appointment_booked", "Rendez-vous pris"), Event("appointment_cancelled", "Rendez-vous annulé"),
            Event("appointment_missed", "Rendez-vous manqué"), Event("document_ready", "Titre prêt"),
            Event("document_collected", "Titre remis")),
    link_targets=(LinkTarget(LINK_PURPOSE, "portal:home"),),
    for_resident=(ForResident("rappels_echeances", "Vos titres d'identité", Section.DOCUMENTS,
                              services.resident_items),),
    reports={"deadlines": services.figures},
    install=_install,
)
