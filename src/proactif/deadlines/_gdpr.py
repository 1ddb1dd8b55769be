"""Deadlines' part in GDPR rights: a resident's appointments and title requests."""

from __future__ import annotations

from typing import Any

from proactif.deadlines.models import Appointment, TitleRequest
from proactif.kernel.capabilities import ErasureItem


def export(person_id: int) -> dict[str, Any]:
    return {
        "rendez_vous": [{"debut": a.starts_at.isoformat(), "guichet": a.counter.name, "statut": a.status,
                         "motif": a.case, "titres": a.kinds, "pre_demandes": a.pre_demandes}
                        for a in Appointment.objects.filter(person_id=person_id).select_related("counter")],
        "demandes_de_titre": [{"titre": r.kind, "pre_demande": r.pre_demande, "statut": r.status,
                               "deposee": r.created_at.isoformat(),
                               "prete": r.ready_at.isoformat() if r.ready_at else None,
                               "remise": r.collected_at.isoformat() if r.collected_at else None}
                              for r in TitleRequest.objects.filter(person_id=person_id)],
    }


def plan_erasure(person_id: int) -> list[ErasureItem]:
    return [ErasureItem("rendez-vous", "erase", "les rendez-vous et demandes de titre sont effacés (le titre "
                        "lui-même relève de l'ANTS)", Appointment.objects.filter(person_id=person_id).count()
                        + TitleRequest.objects.filter(person_id=person_id).count())]


def erase(person_id: int) -> dict[str, int]:
    return {"title_requests": TitleRequest.objects.filter(person_id=person_id).delete()[0],
            "appointments": Appointment.objects.filter(person_id=person_id).delete()[0]}


def wipe() -> int:
    return TitleRequest.objects.all().delete()[0] + Appointment.objects.all().delete()[0]

