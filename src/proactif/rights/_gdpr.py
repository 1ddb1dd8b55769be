"""Rights' part in GDPR rights: the outreach a resident received, and the screening results about their
household (a detection is about every member: it is exported to each and erased at any member's request; the
next screening computes it again unless the person opposes it)."""

from __future__ import annotations

from typing import Any

from proactif.kernel.capabilities import ErasureItem
from proactif.registry import services as registry
from proactif.rights.models import Assessment, HouseholdResult, Outreach


def _household(person_id: int) -> int | None:
    return registry.household_id_of(person_id)


def export(person_id: int) -> dict[str, Any]:
    household_id = _household(person_id)
    return {
        "information_sur_des_droits": [
            {"date": o.created_at.isoformat(), "prestations": o.benefits, "statut": o.get_status_display(),
             "suivis": o.followups} for o in Outreach.objects.filter(person_id=person_id)],
        "droits_detectes_pour_le_foyer": [
            {"criblage": a.run_id, "mois": a.run.period, "prestation": a.benefit, "montant_mensuel": round(a.amount, 2),
             "eligible": a.eligible, "percue": a.receiving, "detectee": a.detected, "confiance": a.confidence,
             "raisons": a.reasons, "donnees_manquantes": a.missing}
            for a in Assessment.objects.filter(household_id=household_id).select_related("run").order_by("run_id")]
        if household_id else [],
        "calculs_conserves_pour_le_foyer": HouseholdResult.objects.filter(household_id=household_id).count()
        if household_id else 0,
    }


def plan_erasure(person_id: int) -> list[ErasureItem]:
    household_id = _household(person_id)
    results = (Assessment.objects.filter(household_id=household_id).count()
               + HouseholdResult.objects.filter(household_id=household_id).count()) if household_id else 0
    return [ErasureItem("information sur des droits", "erase", "les informations envoyées et leur suivi sont "
                        "effacés", Outreach.objects.filter(person_id=person_id).count()),
            ErasureItem("droits détectés pour le foyer", "erase",
                        "les résultats des criblages du foyer sont effacés ; un criblage ultérieur les recalcule, "
                        "sauf opposition", results)]


def erase(person_id: int) -> dict[str, int]:
    household_id = _household(person_id)
    done = {"outreach": Outreach.objects.filter(person_id=person_id).delete()[0]}
    if household_id:
        done["assessments"] = Assessment.objects.filter(household_id=household_id).delete()[0]
        done["household_results"] = HouseholdResult.objects.filter(household_id=household_id).delete()[0]
    return done


def wipe() -> int:
    return sum(model.objects.all().delete()[0] for model in (Outreach, Assessment, HouseholdResult))
