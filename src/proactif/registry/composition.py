"""A household as a benefits calculation reads it: dwelling, members and their roles, resources per month,
benefits paid — in a handful of queries."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from django.db.models import Q

from proactif.registry.models import BenefitPayment, BenefitReceipt, Household, MonthlyResource, Person, Resource


def household_composition(household_id: int, months: list[date]) -> dict[str, Any]:
    household = Household.objects.select_related("address__voie").get(pk=household_id)
    members = list(Person.objects.filter(household_id=household_id, status="active").order_by("id").values(
        "id", "date_naissance", "sexe", "menage_role", "famille_id", "famille_role", "foyer_fiscal_id", "foyer_role",
        "taux_incapacite"))
    ids = [m["id"] for m in members]
    resources: dict[int, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    fed: set[tuple[int, str]] = set()  # (person, month) the monthly feeds cover
    for person_id, month, kind, amount in MonthlyResource.objects.filter(
            person_id__in=ids, month__in=months).values_list("person_id", "month", "kind", "amount"):
        key = month.strftime("%Y-%m")
        resources[person_id][kind][key] = resources[person_id][kind].get(key, 0.0) + float(amount)
        fed.add((person_id, key))
    for person_id, kind, amount, start, end in Resource.objects.filter(person_id__in=ids).values_list(
            "person_id", "kind", "monthly_amount", "start_on", "end_on"):
        for month in months:
            key = month.strftime("%Y-%m")
            running = (start is None or start <= month.replace(day=28)) and (end is None or end >= month)
            if running and (person_id, key) not in fed:
                resources[person_id][kind][key] = resources[person_id][kind].get(key, 0.0) + float(amount)
    familles = {m["famille_id"] for m in members if m["famille_id"]}
    paid: dict[str, dict[str, float]] = defaultdict(dict)
    for benefit, month, amount in BenefitPayment.objects.filter(person_id__in=ids, month__in=months).values_list(
            "benefit", "month", "amount"):
        paid[benefit][month.strftime("%Y-%m")] = paid[benefit].get(month.strftime("%Y-%m"), 0.0) + float(amount)
    receiving = {}
    for benefit, amount, since, until in BenefitReceipt.objects.filter(
            Q(person_id__in=ids) | Q(famille_id__in=familles)).values_list("benefit", "monthly_amount", "since",
                                                                             "until"):
        receiving[benefit] = {"monthly_amount": float(amount), "since": since, "until": until}
    address = household.address
    return {"id": household.pk, "statut_occupation": household.statut_occupation,
            "loyer": float(household.loyer) if household.loyer is not None else None,
            "depcom": address.voie.code_insee if address is not None else "",
            "members": members, "resources": {k: {kind: dict(v) for kind, v in kinds.items()}
                                              for k, kinds in resources.items()},
            "benefits_paid": dict(paid), "benefits_receiving": receiving}
