"""Journeys' part in GDPR rights: the journeys a person went through, their log, their tasks."""

from __future__ import annotations

from typing import Any

from proactif.journeys.models import AgentTask, JourneyInstance
from proactif.kernel.capabilities import ErasureItem


def export(person_id: int) -> dict[str, Any]:
    return {"parcours": [{"parcours": i.journey_key, "version": i.definition.version, "statut": i.status,
                          "etape": i.node, "entree": i.entered_at.isoformat(),
                          "fin": i.ended_at.isoformat() if i.ended_at else None, "issue": i.outcome}
                         for i in JourneyInstance.objects.filter(person_id=person_id).select_related("definition")]}


def plan_erasure(person_id: int) -> list[ErasureItem]:
    return [ErasureItem("parcours", "erase", "les parcours en cours sont arrêtés, leur historique effacé",
                        JourneyInstance.objects.filter(person_id=person_id).count())]


def erase(person_id: int) -> dict[str, int]:
    AgentTask.objects.filter(person_id=person_id).delete()
    deleted, _ = JourneyInstance.objects.filter(person_id=person_id).delete()
    return {"journey_rows": deleted}


def wipe() -> int:
    from proactif.journeys.models import NodeVisit

    NodeVisit.objects.all().delete()
    return AgentTask.objects.all().delete()[0] + JourneyInstance.objects.all().delete()[0]

