"""Watch (use case 5): the register of vulnerable people (art. L121-6-1 CASF) and the heatwave and cold-wave plans —
the vigilance level, the daily rounds of contacts with their no-answer path, the call list, the board of coverage
and the préfet's file — and the home devices: telemetry, rules on each person's thresholds, alerts, the desk and the
escalation. Every agent page is kept for the purpose `prevention_sante`; the one public page is the referent's
signed link, which acknowledges one alert and shows nothing else."""

from pathlib import Path

from django.conf import settings

from proactif.accounts.domain import Section
from proactif.journeys import services as journeys
from proactif.kernel.capabilities import (
    ApiRouter,
    Capability,
    ContactBasis,
    Event,
    HomeBlock,
    Listener,
    MessageData,
    Nav,
    Pages,
    Panel,
    PersonalData,
    Recipients,
    Scope,
    Sending,
    agent,
    api,
    public,
    route,
    webhook,
)
from proactif.messaging import services as messaging
from proactif.watch import _escalation as escalation
from proactif.watch import _gdpr as gdpr
from proactif.watch import _referent as referent
from proactif.watch import api as watch_api
from proactif.watch import services, views

FOLDER = Path(__file__).parent
# The register opens under prévention santé only — not under action sociale, though the CCAS exercises both
WATCH = agent(services.PURPOSE, exclusive=True)
WATCH_READS = agent(services.PURPOSE, personal=True, exclusive=True)


def _install() -> None:
    messaging.load_templates(FOLDER / "messages.yaml")
    journeys.load_folder(FOLDER / "journeys")


CAPABILITY = Capability(
    name="watch", label="Veille des personnes vulnérables",
    personal_data=PersonalData.handled_by(
        "registre_vulnerables", ("watch.Registration", "watch.RegistrationEvent", "watch.Contact", "watch.Need",
                                 "watch.CheckIn", "watch.Call", "watch.DeviceLoan", "watch.Observation",
                                 "watch.HourlyAggregate", "watch.RuleState", "watch.Alert",
                                 "watch.PersonThresholds", "watch.ThresholdChange"), gdpr),
    pages=(
        Pages("veille/", "watch", (
            route("", views.home, WATCH, "home"),
            route("vigilance/", views.vigilance, WATCH, "vigilance"),
            route("plans/<int:plan_id>/", views.plan, WATCH_READS, "plan"),
            route("plans/<int:plan_id>/appels/", views.calls, WATCH_READS, "calls"),
            route("plans/<int:plan_id>/prefet.csv", views.prefet, WATCH_READS, "prefet"),
            route("plans/<int:plan_id>/lever/", views.end_plan, WATCH, "end_plan"),
            route("contacts/<int:checkin_id>/appel/", views.record_call, WATCH_READS, "record_call"),
            route("contacts/<int:checkin_id>/prise-en-charge/", views.take_in_charge, WATCH_READS, "take_in_charge"),
            route("registre/", views.register, WATCH_READS, "register"),
            route("registre/inscrire/", views.enrol, WATCH_READS, "enrol"),
            route("registre/transmission/", views.transmission, WATCH_READS, "transmission"),
            route("registre/<int:registration_id>/", views.entry, WATCH_READS, "entry"),
            route("pupitre/", views.desk, WATCH_READS, "desk"),
            route("appareils/", views.devices, WATCH_READS, "devices"),
            route("appareils/quartiers.json", views.devices_quartiers, WATCH, "devices_quartiers"),
            route("astreinte/", views.add_shift, WATCH, "add_shift"),
            route("alertes/<int:alert_id>/", views.alert_action, WATCH_READS, "alert_action"),
            route("personnes/<int:person_id>/", views.person_watch, WATCH_READS, "person_watch"),
            route("referent/<str:token>/", views.referent_ack, public(
                "le lien signé envoyé au référent d'une personne pour une alerte critique : la vue vérifie le jeton "
                "(propre à l'alerte et au référent, valable 24 heures) et ne permet que de prendre cette alerte en "
                "charge ; elle répond 400 ou 410 à un jeton faux ou expiré"), "referent_ack"),
        )),
    ),
    api=ApiRouter("/watch", watch_api.router, {
        watch_api.device_observations: webhook(watch_api.verify_device, "le jeton propre de l'appareil "
                                                                       "(Authorization: Bearer), donné à son "
                                                                       "enregistrement"),
        watch_api.gateway_observations: api("watch:ingest"),
    }),
    scopes=(Scope("watch:ingest", "Déposer les mesures FHIR des appareils à domicile (passerelle)",
                  frozenset({services.PURPOSE})),),
    home=(HomeBlock("Veille canicule et grand froid", "watch:home", "watch/_home.html", services.home_block, 8),),
    nav=(Nav("Veille", "watch:home", 48),),
    panels=(Panel(Section.VEILLE.value, "Registre des personnes vulnérables", "watch/_panel.html",
                  services.person_panel),),
    message_data=(
        MessageData("veille", "veille_id", services.message_views,
                    ("phenomene", "periode", "periode_phrase", "personne", "contact"),
                    example={"phenomene": "canicule", "periode": "pendant la canicule",
                             "periode_phrase": "Pendant la canicule", "personne": "Jeanne MARTIN",
                             "contact": "Paul MARTIN"}),
        MessageData("alerte_veille", "alerte_id", escalation.message_views,
                    ("personne", "constat", "adresse", "telephone"),
                    example={"personne": "Jeanne MARTIN", "constat": "SpO2 à 86 %",
                             "adresse": "12 rue de Paris, 75015 Paris", "telephone": "06 12 34 56 78"}),
        MessageData("acquittement_veille", referent.CONTEXT_KEY, referent.message_views, ("lien", "validite"),
                    example={"lien": "https://mairie.example/veille/referent/1x.2y.0a1b2c3d4e:1tZ9bq:signature/",
                             "validite": "24 heures"}),
        MessageData("inscription", "inscription_id", services.acknowledgement_views,
                    ("date_demande", "tiers", "transmission", "consentement"),
                    example={"date_demande": "3 juin 2026", "tiers": "", "transmission": "", "consentement": False}),
    ),
    events=(Event("veille_due", "Veille : contact du jour à faire"),
            Event("veille_ok", "Veille : tout va bien"),
            Event("veille_aide", "Veille : besoin d'aide"),
            Event("alerte_ouverte", "Télésurveillance : alerte critique ouverte"),
            Event("alerte_acquittee", "Télésurveillance : alerte acquittée"),
            Event("alerte_resolue", "Télésurveillance : alerte résolue")),
    listeners=(Listener(("reply_received",), services.on_reply),),
    sending=(Sending(services.COMMUNICATION, lambda: settings.WATCH_HOURS, every_day=True, capped=False),),
    contact_bases=(ContactBasis(services.COMMUNICATION, "Inscription au registre des personnes vulnérables",
                                services.holders),),
    recipients=(Recipients("veille.contact_urgence", "Personne à prévenir en cas d'urgence",
                           services.contact_recipients),
                Recipients("veille.referent", "Référent de la personne", escalation.referents),
                Recipients("veille.astreinte", "Agent d'astreinte (ou numéro du pupitre)", escalation.astreinte),
                Recipients("veille.alerte_proche", "Personne à prévenir, pour une alerte d'appareil",
                           escalation.contacts_urgence)),
    install=_install,
)
