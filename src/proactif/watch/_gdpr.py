"""The register's part in GDPR rights and retention.

The register rests on the person's request or non-objection (art. L121-6-1 and R121-2 to R121-12 CASF) and holds
health data (GDPR art. 9): everything about the person — the entry, its history, the referent and the persons to
warn (third parties the person named: their names and numbers go with the entry), the « besoins particuliers », the
day's contacts and the agents' call notes, and the messages sent to the persons to warn — is exported and erased
with the person's file. One thing stays after an objection: the fact that the person objected, without anything
else, so that a later transmission or third-party request is not taken against their will.

Retention (`purge`): a removed entry is emptied at once and deleted `REMOVAL_DAYS` after its removal; the check-ins
and calls of a plan are deleted `PROACTIF_WATCH_CHECKIN_RETENTION_DAYS` after its day (default: 400 days, one
season and its review).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from proactif.kernel import clock
from proactif.kernel.capabilities import ErasureItem
from proactif.messaging import services as messaging
from proactif.watch import domain
from proactif.watch.models import (
    Alert,
    Call,
    CheckIn,
    Contact,
    DeadLetter,
    DeviceLoan,
    HourlyAggregate,
    Need,
    Observation,
    PersonThresholds,
    Registration,
    RegistrationEvent,
    RuleState,
    ThresholdChange,
)

CONTEXT_KEY = "veille_id"  # the check-in a message to a person to warn is about
ALERT_KEY = "alerte_id"  # the device alert a message to the referent, the desk or a person to warn is about


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def _telemetry(person_id: int) -> dict[str, Any]:
    """Devices lent, and the readings kept (raw and hourly), for the export."""
    loans = DeviceLoan.objects.filter(person_id=person_id).select_related("device")
    return {
        "appareils_pretes": [{"appareil": loan.device.get_kind_display(), "numero_de_serie": loan.device.serial,
                              "du": _iso(loan.start_on), "au": _iso(loan.end_on)} for loan in loans],
        "mesures": [{"mesure": code, "le": _iso(at), "valeur": value, "unite": unit} for code, at, value, unit in
                    Observation.objects.filter(person_id=person_id).order_by("at").values_list(
                        "code", "at", "value", "unit")],
        "moyennes_horaires": [{"mesure": a.code, "heure": _iso(a.hour), "nombre": a.count, "moyenne": a.mean,
                               "min": a.minimum, "max": a.maximum}
                              for a in HourlyAggregate.objects.filter(person_id=person_id).order_by("hour")],
        "alertes": [{"regle": a.rule, "gravite": a.get_severity_display(), "message": a.message,
                     "constatee_le": _iso(a.found_at), "etat": a.get_status_display(),
                     "acquittee_le": _iso(a.acknowledged_at), "par": a.acknowledged_by or None,
                     "resolue_le": _iso(a.resolved_at), "note": a.note or None}
                    for a in Alert.objects.filter(person_id=person_id).order_by("opened_at")],
        "seuils": _thresholds(person_id),
        "messages_des_alertes": [{"le": _iso(m.sent_at or m.created_at), "canal": m.channel,
                                  "destinataire": m.recipient, "texte": m.body} for m in messaging.direct_messages(
                                      ALERT_KEY, _alert_ids(person_id))],
    }


def _alert_ids(person_id: int) -> list[int]:
    return list(Alert.objects.filter(person_id=person_id).values_list("id", flat=True))


def _thresholds(person_id: int) -> dict[str, Any] | None:
    """The person's own thresholds and their history, each change with the clinician's instruction."""
    current = PersonThresholds.objects.filter(person_id=person_id).first()
    changes = ThresholdChange.objects.filter(person_id=person_id).order_by("at", "id")
    if current is None and not changes.exists():
        return None
    return {"programme": current.programme if current else None,
            "seuils_propres": current.overrides if current else None,
            "historique": [{"le": _iso(c.at), "par": c.by, "programme_avant": c.programme_before,
                            "programme_apres": c.programme_after, "avant": c.before, "apres": c.after,
                            "clinicien": c.clinician, "instruction_du": _iso(c.instructed_on), "motif": c.reason}
                           for c in changes]}


def export(person_id: int) -> dict[str, Any]:
    telemetry = _telemetry(person_id)
    registration = Registration.objects.filter(person_id=person_id).first()
    if registration is None:
        return {"registre_vulnerables": None, "telesurveillance": telemetry}
    need = Need.objects.filter(registration=registration).first()
    checkins = list(CheckIn.objects.filter(registration=registration).select_related("plan").order_by("day"))
    calls: dict[int, list[Call]] = {}
    for call in Call.objects.filter(checkin__in=checkins):
        calls.setdefault(call.checkin_id, []).append(call)
    direct = messaging.direct_messages(CONTEXT_KEY, [c.pk for c in checkins])
    return {"registre_vulnerables": {
        "statut": registration.get_status_display(), "qualite": domain.QUALITES.get(registration.qualite),
        "reconnaissances_handicap": [domain.HANDICAP_TITRES.get(h, h) for h in registration.handicap],
        "date_demande": _iso(registration.requested_on), "demandeur": registration.get_requested_by_display(),
        "tiers_demandeur": " — ".join(filter(None, (registration.third_party_name, domain.TIERS_QUALITES.get(
            registration.third_party_quality, "")))) or None,
        "transmission": domain.TRANSMISSIONS.get(registration.transmission),
        "telephone": registration.telephone or None,
        "service_intervenant_a_domicile": registration.home_service or None,
        "vit_seul": registration.lives_alone, "pas_de_proche_a_proximite": registration.no_family_nearby,
        "accuse_de_reception_le": _iso(registration.acknowledged_on), "confirme_le": _iso(registration.confirmed_on),
        "radiation": {"le": _iso(registration.removed_on), "motif": domain.REMOVAL_REASONS.get(
            registration.removal_reason)} if registration.removed_on else None,
        "contacts": [{"role": c.get_role_display(), "nom": c.name, "lien": c.relation or None,
                      "telephone": c.telephone or None, "email": c.email or None} for c in registration.contacts.all()],
        "besoins_particuliers": {"texte": need.text, "accord_le": _iso(need.agreed_on),
                                 "accord_recueilli_par": need.agreement_source} if need else None,
        "historique": [{"le": _iso(e.at), "evenement": e.kind, "par": e.by} for e in registration.events.all()],
        "contacts_des_plans": [{
            "jour": _iso(c.day), "plan": domain.PHENOMENES.get(c.plan.phenomenon), "reponse": domain.ANSWERS.get(
                c.answer), "canal": c.answer_channel or None, "repondu_le": _iso(c.answered_at),
            "appels": [{"le": _iso(call.at), "par": call.by, "issue": domain.CALL_OUTCOMES.get(
                call.outcome, (call.outcome,))[0], "note": call.note or None} for call in calls.get(c.pk, [])]}
            for c in checkins],
        "messages_aux_personnes_a_prevenir": [{"le": _iso(m.sent_at or m.created_at), "canal": m.channel,
                                               "destinataire": m.recipient, "texte": m.body} for m in direct],
    }, "telesurveillance": telemetry}


def _telemetry_plan(person_id: int) -> list[ErasureItem]:
    return [i for i in (
        ErasureItem("mesures des appareils à domicile (données de santé)", "erase",
                    "données de santé (RGPD art. 9), sans autre usage une fois la personne effacée",
                    Observation.objects.filter(person_id=person_id).count()),
        ErasureItem("moyennes horaires des mesures", "erase", "tirées des mesures, effacées avec elles",
                    HourlyAggregate.objects.filter(person_id=person_id).count()),
        ErasureItem("prêts d'appareils", "erase", "l'appareil reste à la collectivité ; le prêt est effacé",
                    DeviceLoan.objects.filter(person_id=person_id).count()),
        ErasureItem("alertes des appareils et mémoire des règles", "erase",
                    "tirées des mesures, effacées avec elles",
                    Alert.objects.filter(person_id=person_id).count()
                    + RuleState.objects.filter(person_id=person_id).count()),
        ErasureItem("messages envoyés pour les alertes (référent, astreinte, personne à prévenir)", "erase",
                    "leur texte et leur destinataire sont effacés",
                    messaging.direct_messages(ALERT_KEY, _alert_ids(person_id)).count()),
        ErasureItem("seuils propres à la personne et instructions des cliniciens", "erase",
                    "données de santé (RGPD art. 9), sans usage une fois la personne effacée",
                    PersonThresholds.objects.filter(person_id=person_id).count()
                    + ThresholdChange.objects.filter(person_id=person_id).count())) if i.count]


def _erase_telemetry(person_id: int) -> dict[str, int]:
    messages = messaging.erase_direct(ALERT_KEY, _alert_ids(person_id))
    return {"messages_des_alertes": messages,
            "seuils": PersonThresholds.objects.filter(person_id=person_id).delete()[0]
            + ThresholdChange.objects.filter(person_id=person_id).delete()[0],
            "mesures": Observation.objects.filter(person_id=person_id).delete()[0],
            "moyennes_horaires": HourlyAggregate.objects.filter(person_id=person_id).delete()[0],
            "prets": DeviceLoan.objects.filter(person_id=person_id).delete()[0],
            "alertes": Alert.objects.filter(person_id=person_id).delete()[0],
            "memoire_des_regles": RuleState.objects.filter(person_id=person_id).delete()[0]}


def plan_erasure(person_id: int) -> list[ErasureItem]:
    registration = Registration.objects.filter(person_id=person_id).first()
    if registration is None:
        return _telemetry_plan(person_id)
    checkins = CheckIn.objects.filter(registration=registration)
    items = [
        ErasureItem("inscription au registre des personnes vulnérables", "erase",
                    "l'inscription repose sur la demande de la personne : effacer ses données vaut radiation "
                    "(art. R121-2 et suivants CASF)"),
        ErasureItem("référent et personnes à prévenir", "erase", "leurs coordonnées ne servent qu'à l'inscription",
                    registration.contacts.count()),
        ErasureItem("besoins particuliers (données de santé)", "erase", "données de santé (RGPD art. 9)",
                    Need.objects.filter(registration=registration).count()),
        ErasureItem("contacts des plans canicule et grand froid, et notes d'appel", "erase",
                    "plus utiles une fois la personne radiée", checkins.count()),
        ErasureItem("messages aux personnes à prévenir", "erase", "leur texte et leur destinataire sont effacés",
                    messaging.direct_messages(CONTEXT_KEY, list(checkins.values_list("id", flat=True))).count()),
    ]
    if RegistrationEvent.objects.filter(registration=registration, kind="opposition").exists():
        items.append(ErasureItem("opposition à l'inscription", "retain", "la seule trace gardée est que la personne "
                                 "s'est opposée à son inscription, pour qu'une transmission ou la demande d'un tiers "
                                 "ne la réinscrive pas contre son gré (RGPD art. 17-3-b, art. L121-6-1 CASF)"))
    return [i for i in items if i.count] + _telemetry_plan(person_id)


def erase(person_id: int) -> dict[str, Any]:
    with transaction.atomic():
        telemetry = _erase_telemetry(person_id)
        registration = Registration.objects.filter(person_id=person_id).first()
        if registration is None:
            return {"registre": 0, **telemetry}
        checkin_ids = list(CheckIn.objects.filter(registration=registration).values_list("id", flat=True))
        messages = messaging.erase_direct(CONTEXT_KEY, checkin_ids)
        objected = RegistrationEvent.objects.filter(registration=registration, kind="opposition").exists()
        counts = {"contacts": Contact.objects.filter(registration=registration).delete()[0],
                  "besoins": Need.objects.filter(registration=registration).delete()[0],
                  "contacts_des_plans": CheckIn.objects.filter(pk__any=checkin_ids).delete()[0],
                  "messages_aux_personnes_a_prevenir": messages}
        if objected:
            _keep_objection_only(registration)
            counts["opposition_conservee"] = 1
        else:
            registration.delete()
        counts["registre"] = 1
    return {**counts, **telemetry}


def _keep_objection_only(registration: Registration) -> None:
    RegistrationEvent.objects.filter(registration=registration).exclude(kind="opposition").delete()
    RegistrationEvent.objects.filter(registration=registration).update(by="", detail={})
    Registration.objects.filter(pk=registration.pk).update(
        status="radiee", removal_reason="opposition", telephone="", home_service="", third_party_name="",
        third_party_quality="", transmission="", handicap=[], lives_alone=None, no_family_nearby=False,
        quartier_id=None, updated_at=clock.now())


def purge() -> dict[str, Any]:
    today = clock.today()
    removed_before = today - timedelta(days=domain.REMOVAL_DAYS)
    old = Registration.objects.filter(status="radiee", removed_on__lt=removed_before)
    gone = list(old.exclude(removal_reason="opposition").values_list("id", flat=True))
    messaging.erase_direct(CONTEXT_KEY, list(CheckIn.objects.filter(registration_id__any=gone).values_list(
        "id", flat=True)))
    if gone:
        Registration.objects.filter(pk__any=gone).delete()  # their events, contacts, needs, check-ins and calls too
    deleted = len(gone)
    kept = 0
    for registration in old.filter(removal_reason="opposition").exclude(events__by="").distinct():
        _keep_objection_only(registration)
        kept += 1
    horizon = today - timedelta(days=settings.WATCH_CHECKIN_RETENTION_DAYS)
    old_checkins = list(CheckIn.objects.filter(day__lt=horizon).values_list("id", flat=True))
    messaging.erase_direct(CONTEXT_KEY, old_checkins)
    if old_checkins:
        CheckIn.objects.filter(pk__any=old_checkins).delete()  # their calls too
    checkins = len(old_checkins)
    raw_before = clock.now() - timedelta(days=settings.WATCH_RAW_RETENTION_DAYS)
    hourly_before = clock.now() - timedelta(days=settings.WATCH_HOURLY_RETENTION_DAYS)
    return {"registre_radiations_supprimees": deleted, "oppositions_reduites": kept, "contacts_des_plans": checkins,
            "mesures": Observation.objects.filter(at__lt=raw_before).delete()[0],
            "messages_refuses": DeadLetter.objects.filter(received_at__lt=raw_before).delete()[0],
            "moyennes_horaires": HourlyAggregate.objects.filter(hour__lt=hourly_before).delete()[0],
            "alertes": Alert.objects.filter(status="resolue", resolved_at__lt=clock.now() - timedelta(
                days=settings.WATCH_ALERT_RETENTION_DAYS)).delete()[0]}


def wipe() -> int:
    """Every resident forgotten (a registry replaced): the register goes with them."""
    count = Registration.objects.count()
    Observation.objects.all().delete()
    HourlyAggregate.objects.all().delete()
    Alert.objects.all().delete()
    RuleState.objects.all().delete()
    PersonThresholds.objects.all().delete()
    ThresholdChange.objects.all().delete()
    DeviceLoan.objects.all().delete()
    CheckIn.objects.all().delete()
    Registration.objects.all().delete()
    return count
