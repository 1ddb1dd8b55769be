"""Rights (use case 4): screening every household with OpenFisca-France, detections and their explanation,
the "vous pourriez avoir droit à…" outreach, take-up follow-up; the citizen's page reached by a signed link."""

from pathlib import Path

from proactif.journeys import services as journeys
from proactif.kernel.capabilities import (
    Capability,
    Event,
    HomeBlock,
    LinkTarget,
    MessageData,
    Nav,
    Pages,
    PersonalData,
    agent,
    route,
    signed_link,
)
from proactif.messaging import services as messaging
from proactif.rights import _gdpr as gdpr
from proactif.rights import services, views

LINK_PURPOSE = "rights.reponse"
CCAS = agent(services.PURPOSE)
CCAS_READS = agent(services.PURPOSE, personal=True)
FOLDER = Path(__file__).parent


def _install() -> None:
    messaging.load_templates(FOLDER / "messages.yaml")
    journeys.load_folder(FOLDER / "journeys")


CAPABILITY = Capability(
    name="rights", label="Accès aux droits",
    personal_data=PersonalData.handled_by(
        "droits", ("rights.Outreach", "rights.Assessment", "rights.HouseholdResult"), gdpr),
    pages=(
        Pages("droits/", "rights", (
            route("", views.runs, CCAS, "runs"),
            route("criblages/<int:run_id>/", views.run, CCAS_READS, "run"),
            route("criblages/<int:run_id>/informer/", views.inform, CCAS_READS, "inform"),
            route("criblages/<int:run_id>/foyers/<int:household_id>/", views.household, CCAS_READS, "household"),
            route("accompagnements/", views.outreaches, CCAS_READS, "outreaches"),
            route("accompagnements/<int:outreach_id>/recapitulatif.pdf", views.claim_summary, CCAS_READS,
                  "claim_summary"),
        )),
        Pages("demarches/droits/", "droits-portail", (
            route("", views.portal, signed_link(LINK_PURPOSE, refusal="rights/portal_no_link.html"), "home"),
        )),
    ),
    home=(HomeBlock("Droits à examiner", "rights:runs", "rights/_home.html", services.home_review, 30),),
    nav=(Nav("Droits", "rights:runs", 40),),
    message_data=(MessageData("droits", "outreach_id", services.outreach_views, ("liste", "nombre", "total"),
                              example={"liste": "Prime d'activité (environ 150 € par mois)", "nombre": 1,
                                       "total": 150}),),
    events=(Event("right_detected", "Droit possible détecté"),
            Event("appointment_requested", "Rendez-vous demandé au CCAS"),
            Event("claim_filed", "Demande de prestation déposée"),
            Event("right_granted", "Prestation ouverte"),
            Event("right_refused", "Refus d'être informé de ses droits")),
    link_targets=(LinkTarget(LINK_PURPOSE, "droits-portail:home"),),
    install=_install,
)
