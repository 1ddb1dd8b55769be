"""What the register of vulnerable people (watch) reads from the registry: who a person is, where they live,
their phones, whether they live alone, and the disability recognitions the registry knows (AAH, an invalidity
pension, a disability rate) — for the eligibility rules of art. R121-3 CASF and the préfet's file. No access
log here: the caller (watch's services) logs the read with its purpose."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from proactif.registry import domain
from proactif.registry.models import BenefitReceipt, ContactPoint, Person, Resource


@dataclass(frozen=True)
class Resident:
    id: int
    nom: str  # the name in use
    nom_naissance: str
    prenoms: str
    sexe: str
    born: date | None
    active: bool
    status: str
    address: str  # one line: « 12 rue de Paris, appartement 3, 21999 Belleroche »
    code_postal: str
    quartier_id: int | None
    quartier: str
    mobile: str
    landline: str
    household_size: int  # active members of the household, the person included
    handicap: tuple[str, ...]  # keys of watch's HANDICAP_TITRES the registry knows
    synthetic: bool
    lon: float | None = None  # the home's address point (BAN), for the devices' map
    lat: float | None = None

    @property
    def display_name(self) -> str:
        return domain.short_name(self.prenoms, self.nom, self.nom_naissance)


def residents(person_ids: list[int], today: date) -> dict[int, Resident]:
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    rows = list(Person.objects.filter(pk__any=ids).values_list(
        "id", "nom_usage", "nom_naissance", "prenoms", "sexe", "date_naissance", "status", "household_id",
        "taux_incapacite", "source", "household__logement", "household__address__numero",
        "household__address__suffixe", "household__address__voie__nom", "household__address__code_postal",
        "household__address__commune", "household__address__quartier_id", "household__address__quartier__nom",
        "household__address__lon", "household__address__lat"))
    households = {row[7] for row in rows if row[7]}
    sizes: dict[int, int] = defaultdict(int)
    for household_id in Person.objects.filter(household_id__in=households, status="active").values_list(
            "household_id", flat=True):
        sizes[household_id] += 1
    phones: dict[int, dict[str, str]] = defaultdict(dict)
    for person_id, value, mobile in ContactPoint.objects.filter(
            person_id__any=ids, kind="phone", status="active").order_by("created_at").values_list(
            "person_id", "value", "is_mobile"):
        phones[person_id]["mobile" if mobile else "landline"] = value
    titres: dict[int, set[str]] = defaultdict(set)
    for person_id in BenefitReceipt.objects.filter(person_id__any=ids, benefit="aah").exclude(
            until__lt=today).values_list("person_id", flat=True):
        titres[person_id].add("aah")
    for person_id in Resource.objects.filter(person_id__any=ids, kind="invalidite").exclude(
            end_on__lt=today).values_list("person_id", flat=True):
        titres[person_id].add("pension_invalidite")
    out = {}
    for (pk, usage, naissance, prenoms, sexe, born, status, household_id, taux, source, logement, numero, suffixe,
         voie, code_postal, commune, quartier_id, quartier, lon, lat) in rows:
        if taux and taux >= 80:  # a rate of 80 % or more comes with the carte mobilité inclusion « invalidité »
            titres[pk].add("cmi")
        out[pk] = Resident(pk, usage or naissance, naissance, prenoms, sexe, born, status == "active", status,
                           _one_line(numero, suffixe, voie, logement, code_postal, commune), code_postal or "",
                           quartier_id, quartier or "", phones[pk].get("mobile", ""), phones[pk].get("landline", ""),
                           sizes.get(household_id, 1) if household_id else 1, tuple(sorted(titres[pk])),
                           source == "synth", lon, lat)
    return out


def _one_line(numero: Any, suffixe: str | None, voie: str | None, logement: str | None, code_postal: str | None,
              commune: str | None) -> str:
    if not voie:
        return ""
    number = f"{numero}{(' ' + suffixe) if suffixe else ''} " if numero else ""
    parts = [f"{number}{voie}"]
    if logement:
        parts.append(logement)
    parts.append(f"{code_postal or ''} {commune or ''}".strip())
    return ", ".join(p for p in parts if p)


def older_residents(min_age: int, today: date) -> list[int]:
    """Active residents aged `min_age` or more (the register's first audience)."""
    born_before = today.replace(year=today.year - min_age)
    return list(Person.objects.filter(status="active", date_naissance__lte=born_before).values_list("id", flat=True))


def disabled_adults(today: date) -> list[int]:
    """Active adults the registry knows as disabled: the AAH, an invalidity pension, a rate of 50 % or more."""
    adult = today.replace(year=today.year - 18)
    ids = set(Person.objects.filter(status="active", date_naissance__lte=adult, taux_incapacite__gte=50)
              .values_list("id", flat=True))
    ids.update(BenefitReceipt.objects.filter(benefit="aah", person__status="active").exclude(until__lt=today)
               .values_list("person_id", flat=True))
    ids.update(Resource.objects.filter(kind="invalidite", person__status="active").exclude(end_on__lt=today)
               .values_list("person_id", flat=True))
    ids.discard(None)  # type: ignore[arg-type]
    return sorted(ids)


def departements() -> list[str]:
    """The départements of the registry's addresses (by postcode), most addresses first."""
    from django.db.models import Count

    from proactif.registry.models import Address

    counts: dict[str, int] = defaultdict(int)
    for code, n in Address.objects.values_list("code_postal").annotate(n=Count("id")):
        dep = departement_of_postcode(code or "")
        if dep:
            counts[dep] += n
    return [dep for dep, _ in sorted(counts.items(), key=lambda item: -item[1])]


def departement_of_postcode(code: str) -> str | None:
    """'75015' → '75', '20000' → '2A', '97400' → '974'; None for what is not a French postcode."""
    if len(code) != 5 or not code.isdigit():
        return None
    if code.startswith("97"):
        return code[:3]
    if code.startswith("20"):
        return "2A" if int(code) < 20200 else "2B"
    return code[:2]


def find_residents(identities: list[tuple[str | None, str, str, date | None]]) -> list[int | None]:
    """The active resident each (NIR, nom, prénoms, date de naissance) names — by the NIR when given and known,
    else by the birth name or the name in use, the first given name and the birth date, all three exact once
    folded (accents, case, hyphens); None where none or several match (an agent decides, not a guess)."""
    from proactif.kernel.text import search_key

    nirs = {nir for nir, *_ in identities if nir}
    by_nir = dict(Person.objects.filter(nir__in=nirs, status="active").values_list("nir", "id")) if nirs else {}
    days = {born for *_, born in identities if born}
    candidates: dict[tuple[str, date], list[tuple[int, str, str]]] = defaultdict(list)
    for pk, nom_cle, usage_cle, prenoms_cle, born in Person.objects.filter(
            date_naissance__in=days, status="active").values_list("id", "nom_cle", "usage_cle", "prenoms_cle",
                                                                  "date_naissance"):
        first = prenoms_cle.split(" ")[0] if prenoms_cle else ""
        candidates[(first, born)].append((pk, nom_cle, usage_cle))
    out: list[int | None] = []
    for nir, nom, prenoms, born in identities:
        if nir and nir in by_nir:
            out.append(by_nir[nir])
            continue
        first = search_key(prenoms).split(" ")[0] if prenoms else ""
        name = search_key(nom)
        found = {pk for pk, nom_cle, usage_cle in candidates.get((first, born), []) if name in (nom_cle, usage_cle)} \
            if born and name and first else set()
        out.append(found.pop() if len(found) == 1 else None)
    return out
