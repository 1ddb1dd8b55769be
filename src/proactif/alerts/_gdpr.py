"""Alerts' part in GDPR rights and retention: the incidents that reached a resident, and their answers.

What the resident said (the answer to "are you safe?", the channel, the time, the note they wrote, and the
agent who handled it) is erased on request, and cleared by the purge `PROACTIF_MESSAGE_RETENTION_DAYS` after
the incident is closed. The fact that they were among a real incident's recipients is retained: it is the
collectivité's proof that it alerted them (the mayor's police powers), the trace the messaging provider keeps
of every send as well, and it says nothing the resident wrote. An exercise proves nothing: its rows go.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from proactif.alerts import domain
from proactif.alerts.models import IncidentMessage, IncidentRecipient
from proactif.kernel import clock
from proactif.kernel.capabilities import ErasureItem

ANSWERS = {"en_securite": "en sécurité", "besoin_aide": "besoin d'aide"}
RETAIN_PROOF = ("la personne reste dans la liste des destinataires, sans sa réponse ni sa note : cette liste "
                "prouve que la collectivité l'a alertée (pouvoirs de police du maire) et peut être produite en "
                "cas de recours (RGPD art. 17-3-b et 17-3-e)")
NO_ANSWER = {"answer": "", "answer_channel": "", "answered_at": None, "note": "", "handled_by": "",
             "handled_at": None}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _answered() -> Q:
    """Rows holding something the resident said, or its handling."""
    return (~Q(answer="") | ~Q(note="") | Q(answered_at__isnull=False) | ~Q(handled_by="")
            | Q(handled_at__isnull=False))


def _of(person_id: int) -> QuerySet[IncidentRecipient]:
    return IncidentRecipient.objects.filter(person_id=person_id)


def export(person_id: int) -> dict[str, Any]:
    rows = list(_of(person_id).select_related("incident").order_by("incident__created_at", "incident_id"))
    first_sent = dict(((m.incident_id, m.seq), m.sent_at) for m in IncidentMessage.objects.filter(
        incident_id__in=[r.incident_id for r in rows]).only("incident_id", "seq", "sent_at"))
    out = []
    for r in rows:
        incident = r.incident
        kind = domain.TYPES.get(incident.type_code)
        out.append({
            "type": kind.label if kind else incident.type_code, "titre": incident.title,
            "zone": incident.area_label, "exercice": incident.exercise, "statut": incident.get_status_display(),
            "cree_le": _iso(incident.created_at), "premier_message_recu_le": _iso(first_sent.get(
                (r.incident_id, r.from_seq))),
            "close_le": _iso(incident.closed_at),
            "reponse": ANSWERS.get(r.answer, r.answer) or None, "canal_de_reponse": r.answer_channel or None,
            "repondu_le": _iso(r.answered_at), "note": r.note or None,
            "traite_par": r.handled_by or None, "traite_le": _iso(r.handled_at)})
    return {"alertes_recues": out}


def plan_erasure(person_id: int) -> list[ErasureItem]:
    rows = _of(person_id)
    items = [
        ErasureItem("réponses aux alertes", "erase", "la réponse, son canal et sa date, la note écrite par la "
                    "personne et le nom de l'agent qui l'a traitée sont effacés", rows.filter(_answered()).count()),
        ErasureItem("alertes reçues", "retain", RETAIN_PROOF, rows.filter(incident__exercise=False).count()),
    ]
    exercises = rows.filter(incident__exercise=True).count()
    if exercises:
        items.append(ErasureItem("exercices d'alerte", "erase", "un exercice n'a rien à prouver : la personne est "
                                 "retirée de ses destinataires", exercises))
    return items


def erase(person_id: int) -> dict[str, int]:
    rows = _of(person_id)
    return {"exercise_recipients": rows.filter(incident__exercise=True).delete()[0],
            "answers": rows.filter(_answered()).update(**NO_ANSWER)}


def purge() -> dict[str, int]:
    cutoff = clock.now() - timedelta(days=settings.MESSAGE_RETENTION_DAYS)
    closed = IncidentRecipient.objects.filter(incident__status="close", incident__closed_at__lt=cutoff)
    return {"exercise_recipients": closed.filter(incident__exercise=True).delete()[0],
            "answers": closed.filter(_answered()).update(**NO_ANSWER)}


def wipe() -> int:
    return int(IncidentRecipient.objects.all().delete()[0])

