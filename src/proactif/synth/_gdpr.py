"""The generator's ground truth in GDPR rights: what a synthetic household could claim is data about its
members (derived from their resources): exported with the person, erased with them, wiped with the registry."""

from __future__ import annotations

from typing import Any

from proactif.kernel.capabilities import ErasureItem
from proactif.registry import services as registry
from proactif.synth.models import Entitlement


def _rows(person_id: int) -> Any:
    household = registry.household_id_of(person_id)
    return Entitlement.objects.filter(household_id=household) if household else Entitlement.objects.none()


def export(person_id: int) -> dict[str, Any]:
    return {"droits_simules": [{"prestation": e.benefit, "eligible": e.eligible, "percue": e.receiving,
                                "montant_mensuel": str(e.monthly_amount), "legislation_du": e.seeded_on.isoformat()}
                               for e in _rows(person_id).order_by("benefit", "id")]}


def plan_erasure(person_id: int) -> list[ErasureItem]:
    return [ErasureItem("droits simulés du foyer (commune synthétique)", "erase",
                        "la vérité de terrain du générateur pour le foyer est effacée", _rows(person_id).count())]


def erase(person_id: int) -> dict[str, int]:
    return {"entitlements": _rows(person_id).delete()[0]}


def wipe() -> int:
    return int(Entitlement.objects.all().delete()[0])
