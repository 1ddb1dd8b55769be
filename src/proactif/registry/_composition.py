"""A household as a benefits calculation reads it: dwelling, members and their roles, resources per month
(net; gross and taxable where the source gives them), benefits paid — in a handful of queries."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from django.db.models import Q

from proactif.registry.models import BenefitPayment, BenefitReceipt, Household, MonthlyResource, Person, Resource


def household_composition(household_id: int, months: list[date]) -> dict[str, Any]:
    found = household_compositions([household_id], months)
    if household_id not in found:
        raise Household.DoesNotExist(f"household {household_id}")
    return found[household_id]


def household_compositions(household_ids: list[int], months: list[date]) -> dict[int, dict[str, Any]]:
    """The compositions of many households at once (a screening chunk), in the same handful of queries."""
    households = {h.pk: h for h in Household.objects.filter(pk__any=household_ids).select_related("address__voie")}
    everyone = list(Person.objects.filter(household_id__any=household_ids, status="active").order_by("id").values(
        "id", "household_id", "date_naissance", "sexe", "menage_role", "famille_id", "famille_role",
        "foyer_fiscal_id", "foyer_role", "taux_incapacite"))
    ids = [m["id"] for m in everyone]
    # person → kind → month → amount: net (every resource), gross and taxable (where the source gives them)
    resources: dict[int, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    gross: dict[int, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    taxable: dict[int, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))

    def known(*amounts: Any) -> list[tuple[dict[int, dict[str, dict[str, float]]], float]]:
        return [(into, float(a)) for into, a in zip((resources, gross, taxable), amounts, strict=True) if a is not None]

    fed: set[tuple[int, str]] = set()  # (person, month) the monthly feeds cover
    for person_id, month, kind, *amounts in MonthlyResource.objects.filter(
            person_id__any=ids, month__in=months).values_list("person_id", "month", "kind", "amount", "gross_amount",
                                                              "taxable_amount"):
        key = month.strftime("%Y-%m")
        for into, amount in known(*amounts):
            into[person_id][kind][key] = into[person_id][kind].get(key, 0.0) + amount
        fed.add((person_id, key))
    calendar = [(month, month.replace(day=28), month.strftime("%Y-%m")) for month in months]
    for person_id, kind, start, end, *amounts in Resource.objects.filter(person_id__any=ids).values_list(
            "person_id", "kind", "start_on", "end_on", "monthly_amount", "gross_amount", "taxable_amount"):
        resources[person_id].setdefault(kind, {})  # a stream known, even ended: the person's resources are known
        streams = known(*amounts)
        for month, late, key in calendar:
            running = (start is None or start <= late) and (end is None or end >= month)
            if running and (person_id, key) not in fed:
                for into, amount in streams:
                    into[person_id][kind][key] = into[person_id][kind].get(key, 0.0) + amount
    household_of = {m["id"]: m["household_id"] for m in everyone}
    famille_household = {m["famille_id"]: m["household_id"] for m in everyone if m["famille_id"]}
    paid: dict[int, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for person_id, benefit, month, amount in BenefitPayment.objects.filter(
            person_id__any=ids, month__in=months).values_list("person_id", "benefit", "month", "amount"):
        by_month = paid[household_of[person_id]][benefit]
        by_month[month.strftime("%Y-%m")] = by_month.get(month.strftime("%Y-%m"), 0.0) + float(amount)
    receiving: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    for person_id, famille_id, benefit, amount, since, until in BenefitReceipt.objects.filter(
            Q(person_id__any=ids) | Q(famille_id__any=list(famille_household))).values_list(
            "person_id", "famille_id", "benefit", "monthly_amount", "since", "until"):
        household_id = household_of.get(person_id) if person_id else famille_household.get(famille_id)
        if household_id is not None:
            receiving[household_id][benefit] = {"monthly_amount": float(amount), "since": since, "until": until}
    fed_persons: dict[int, set[int]] = defaultdict(set)  # who the monthly feeds cover, per household
    for person_id, _ in fed:
        fed_persons[household_of[person_id]].add(person_id)
    members_of: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for m in everyone:
        members_of[m.pop("household_id")].append(m)
    out = {}
    for household_id, household in households.items():
        members = members_of[household_id]
        address = household.address
        out[household_id] = {
            "id": household_id, "statut_occupation": household.statut_occupation,
            "loyer": float(household.loyer) if household.loyer is not None else None,
            "depcom": address.voie.code_insee if address is not None else "", "members": members,
            "quartier_id": address.quartier_id if address is not None else None,
            "fed": sorted(fed_persons[household_id]),
            "resources": {m["id"]: {kind: dict(v) for kind, v in resources[m["id"]].items()}
                          for m in members if m["id"] in resources},
            "gross": {m["id"]: {kind: dict(v) for kind, v in gross[m["id"]].items()}
                      for m in members if m["id"] in gross},
            "taxable": {m["id"]: {kind: dict(v) for kind, v in taxable[m["id"]].items()}
                        for m in members if m["id"] in taxable},
            "benefits_paid": {k: dict(v) for k, v in paid[household_id].items()},
            "benefits_receiving": dict(receiving[household_id])}
    return out
