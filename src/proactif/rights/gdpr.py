"""Rights' part in GDPR rights: the outreach a resident received (the screening results are per household
and leave with the household's erasure)."""

from __future__ import annotations

from typing import Any

from proactif.audit.gdpr import ErasureItem, PersonalDataProvider
from proactif.rights.models import Outreach


def export(person_id: int) -> dict[str, Any]:
    return {"information_sur_des_droits": [
        {"date": o.created_at.isoformat(), "prestations": o.benefits, "statut": o.get_status_display(),
         "suivis": o.followups} for o in Outreach.objects.filter(person_id=person_id)]}


def plan_erasure(person_id: int) -> list[ErasureItem]:
    return [ErasureItem("information sur des droits", "erase", "les informations envoyées et leur suivi sont "
                        "effacés", Outreach.objects.filter(person_id=person_id).count())]


def erase(person_id: int) -> dict[str, int]:
    return {"outreach": Outreach.objects.filter(person_id=person_id).delete()[0]}


def wipe() -> int:
    return Outreach.objects.all().delete()[0]


PROVIDER = PersonalDataProvider("droits", export=export, plan_erasure=plan_erasure, erase=erase, wipe=wipe)
