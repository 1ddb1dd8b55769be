"""What the connectors' sandbox serves about the synthetic population: the records another administration
would hold about a synthetic resident (CAF famille and benefits, France Travail payments, tax household).
Only synthetic residents (`source = "synth"`) are ever found: the sandbox cannot reveal a real person."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Q

from proactif.registry.models import BenefitReceipt, FoyerFiscal, Person, Resource


def _person(person: Person) -> dict[str, Any]:
    return {"id": person.pk, "nom_naissance": person.nom_naissance, "nom_usage": person.nom_usage,
            "prenoms": person.prenoms, "sexe": person.sexe, "date_naissance": person.date_naissance,
            "code_insee_naissance": person.code_insee_naissance, "lieu_naissance": person.lieu_naissance}


def find_by_identity(nom_naissance: str, prenoms: list[str], sexe: str, born: date | None) -> int | None:
    """A synthetic resident matching the identité pivot (names compared in capitals, first names in order)."""
    candidates = Person.objects.filter(source="synth", nom_naissance__iexact=nom_naissance, sexe=sexe)
    if born is not None:
        candidates = candidates.filter(date_naissance=born)
    wanted = [p.upper() for p in prenoms if p]
    for pk, given in candidates.values_list("id", "prenoms")[:20]:
        names = given.upper().split()
        if names[:len(wanted)] == wanted or (wanted and names[:1] == wanted[:1]):
            return int(pk)
    return None


def record(person_id: int, today: date) -> dict[str, Any] | None:
    """The person, their famille (allocataires, children), address, benefits being paid, resources."""
    person = (Person.objects.filter(pk=person_id, source="synth")
              .select_related("famille", "household__address__voie", "foyer_fiscal").first())
    if person is None:
        return None
    members = list(Person.objects.filter(famille_id=person.famille_id).exclude(famille_id=None)) or [person]
    paid_to = Q(person_id=person.pk) | (Q(famille_id=person.famille_id) if person.famille_id else Q())
    benefits = {b.benefit: b for b in BenefitReceipt.objects.filter(paid_to).exclude(until__lt=today)}
    resources = list(Resource.objects.filter(person__in=members).exclude(end_on__lt=today))
    address = person.household.address if person.household else None
    return {"person": _person(person), "famille_id": person.famille_id,
            "allocataires": [_person(m) for m in members if m.famille_role != "enfant"] or [_person(person)],
            "enfants": [_person(m) for m in members if m.famille_role == "enfant"],
            "address": None if address is None else {
                "numero_voie": f"{address.numero or ''} {address.voie.nom}".strip().upper(),
                "code_postal": address.code_postal, "commune": address.commune.upper(),
                "code_insee": address.voie.code_insee},
            "benefits": {k: {"since": v.since, "monthly_amount": float(v.monthly_amount)} for k, v in benefits.items()},
            "resources": [{"person_id": r.person_id, "kind": r.kind, "monthly_amount": float(r.monthly_amount),
                           "start_on": r.start_on} for r in resources]}


def tax_household(spi: str) -> dict[str, Any] | None:
    """The synthetic tax household whose first declarant has this numéro fiscal: declarants, dependants and
    the yearly income of its members (from their monthly resources)."""
    foyer = FoyerFiscal.objects.filter(numero_fiscal=spi, members__source="synth").distinct().first()
    if foyer is None:
        return None
    members = list(Person.objects.filter(foyer_fiscal=foyer).order_by("id"))
    declarants = [m for m in members if m.foyer_role == "declarant"] or members[:1]
    dependants = [m for m in members if m.foyer_role == "personne_a_charge"]
    yearly: dict[str, Decimal] = {}
    for kind, amount in Resource.objects.filter(person__in=members).values_list("kind", "monthly_amount"):
        yearly[kind] = yearly.get(kind, Decimal(0)) + amount * 12
    address = None
    if declarants and declarants[0].household_id:
        household = declarants[0].household
        if household is not None and household.address is not None:
            a = household.address
            address = {"voie": f"{a.numero or ''} {a.voie.nom}".strip().upper(), "code_postal": a.code_postal,
                       "commune": a.commune.upper()}
    return {"spi": spi, "declarants": [_person(d) for d in declarants[:2]],
            "dependants": [_person(d) for d in dependants], "yearly": {k: float(v) for k, v in yearly.items()},
            "address": address}


def france_travail(identifier: str, today: date) -> dict[str, Any] | None:
    """A synthetic job seeker by sandbox identifier (`FT` and the person's number): their unemployment
    benefit as monthly payments."""
    if not (identifier.startswith("FT") and identifier[2:].isdigit()):
        return None
    person = Person.objects.filter(pk=int(identifier[2:]), source="synth").first()
    if person is None:
        return None
    allowance = Resource.objects.filter(person=person, kind="chomage").exclude(end_on__lt=today).first()
    return {"person": _person(person), "identifier": identifier,
            "allowance": float(allowance.monthly_amount) if allowance else None,
            "since": allowance.start_on if allowance else None}
