"""Messaging: templates, the outbox and its channels, receipts and replies, citizen links, the built-in sinks."""

from pathlib import Path

from proactif.accounts.domain import OPERATIONAL_PURPOSES, Role
from proactif.kernel.capabilities import (
    ApiRouter,
    Capability,
    Channel,
    Event,
    HomeBlock,
    MessageData,
    Nav,
    Pages,
    PersonalData,
    agent,
    public,
    route,
    signed_link,
    webhook,
)
from proactif.messaging import _gdpr as gdpr
from proactif.messaging import api as messaging_api
from proactif.messaging import domain, services, views
from proactif.registry import domain as registry_domain
from proactif.registry import services as registry

AGENTS = agent(*OPERATIONAL_PURPOSES)
READS = agent(*OPERATIONAL_PURPOSES, personal=True)
# The outbox and a message: their service's agents, and the DPO; the sinks' inbox: also the administrator
MESSAGES = agent(*OPERATIONAL_PURPOSES, "rgpd", personal=True)
SINKS = agent(*OPERATIONAL_PURPOSES, "tenue_registre", personal=True)
EDITORS = agent(*OPERATIONAL_PURPOSES, roles=[Role.RESPONSABLE])  # write templates
SIGNED = webhook(messaging_api.verify_webhook, "HMAC-SHA256 de « horodatage.corps » avec le secret du fournisseur "
                                               "(en-têtes X-Proactif-Timestamp, X-Proactif-Signature), refusé "
                                               "au-delà de PROACTIF_WEBHOOK_MAX_AGE_SECONDS")
WHATSAPP = webhook(messaging_api.verify_whatsapp, "HMAC-SHA256 du corps avec le secret de l'application Meta "
                                                  "(en-tête X-Hub-Signature-256, PROACTIF_WHATSAPP_APP_SECRET)")
MESSENGER = webhook(messaging_api.verify_messenger, "HMAC-SHA256 du corps avec le secret de l'application Meta "
                                                    "(en-tête X-Hub-Signature-256, PROACTIF_MESSENGER_APP_SECRET)")
SIGNED_REPORT = webhook(messaging_api.verify_feedback, "HMAC-SHA256 de « horodatage.corps » (le rapport brut) avec "
                                                      "le secret du fournisseur d'e-mails "
                                                      "(PROACTIF_EMAIL_FEEDBACK_SECRETS ; en-têtes "
                                                      "X-Proactif-Timestamp, X-Proactif-Signature), refusé au-delà de "
                                                      "PROACTIF_WEBHOOK_MAX_AGE_SECONDS")
HANDSHAKE = public("la vérification d'abonnement de Meta (hub.mode=subscribe) : l'opération ne renvoie "
                   "hub.challenge que si hub.verify_token est le jeton configuré, et ne lit ni n'écrit rien d'autre")


def _install() -> None:
    services.load_templates(Path(__file__).parent / "messages.yaml")


CAPABILITY = Capability(
    name="messaging", label="Messages",
    personal_data=PersonalData.handled_by(
        "messagerie", ("messaging.OutboxMessage", "messaging.InboundMessage", "messaging.Link", "messaging.Engagement",
                "messaging.PushSubscription", "messaging.DeliveryReceipt", "messaging.SinkMessage",
                "messaging.EmailFeedback"), gdpr,
        fields=("messaging.SinkMessage.recipient", "messaging.EmailFeedback.address")),
    pages=(
        Pages("messages/", "messaging", (
            route("", views.outbox, MESSAGES, "outbox"),
            route("<int:message_id>/", views.message, MESSAGES, "message"),
            route("modeles/", views.templates, AGENTS, "templates"),
            route("modeles/nouveau/", views.template_edit, EDITORS, "template_new"),
            route("modeles/<int:template_id>/", views.template_show, AGENTS, "template"),
            route("modeles/<int:template_id>/enregistrer/", views.template_save, EDITORS, "template_save"),
            route("modeles/<int:template_id>/publier/", views.publish, EDITORS, "publish"),
            route("modeles/<int:template_id>/apercu/", views.preview, READS, "preview"),
            route("modeles/compteur-sms/", views.sms_counter, AGENTS, "sms_counter"),
            route("boite-de-test/", views.sink, SINKS, "sink"),
            route("courriers/<int:batch_id>.<str:kind>", views.letter_batch, READS, "letters"),
        )),
        Pages("", "citoyen", (
            route("l/<str:token>", views.open_link,
                  public("l'entrée des liens envoyés aux habitants : la vue vérifie le jeton signé de l'adresse "
                         "et répond 410 s'il n'est plus valide"), "citizen_link"),
            route("notifications/cle/", views.push_key,
                  public("la clé publique VAPID, que tout navigateur lit pour s'abonner"), "push_key"),
            route("notifications/sw.js", views.service_worker,
                  public("le script du navigateur qui affiche les notifications"), "service_worker"),
            route("notifications/abonnement/", views.push_subscribe, signed_link("*"), "push_subscribe"),
        )),
    ),
    api=ApiRouter("/messaging", messaging_api.router, {
        messaging_api.receipt: SIGNED, messaging_api.inbound: SIGNED, messaging_api.email_feedback: SIGNED_REPORT,
        messaging_api.whatsapp_handshake: HANDSHAKE, messaging_api.whatsapp_events: WHATSAPP,
        messaging_api.messenger_handshake: HANDSHAKE, messaging_api.messenger_events: MESSENGER}),
    home=(HomeBlock("Distribution des messages", "messaging:outbox", "messaging/_home.html",
                    services.home_deliveries, 60),
          HomeBlock("Boîte de test", "messaging:sink", "messaging/_home_sinks.html", services.home_sinks, 65)),
    nav=(Nav("Messages", "messaging:outbox", 50),),
    message_data=(MessageData("document", "document_id", registry.document_views,
                              ("type", "numero", "expire_le", "echeance", "delivre_le", "mois_restants",
                               *registry_domain.AGREEMENT_FIELDS),
                              example={"type": "passeport", "numero": "23AB45678", "expire_le": "14 mars 2027",
                                       "echeance": "expire le 14 mars 2027", "delivre_le": "15 mars 2017",
                                       "mois_restants": 3, **registry_domain.agreement("passeport")}),),
    events=(Event("link_clicked", "Lien ouvert"), Event("reply_received", "Réponse reçue"),
            Event("email_feedback", "Rebond ou plainte sur un e-mail")),
    channels=tuple(Channel(code, label) for code, label in domain.CHANNEL_LABELS.items()),
    reports={"messages": services.simulation_report},
    install=_install,
    alongside=services.start_sinks,
)
