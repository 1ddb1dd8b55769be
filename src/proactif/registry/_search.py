"""Resident search by name, address, phone or e-mail — index range scans only, so it stays fast
on a million residents (see `proactif bench search`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from proactif.kernel.text import prefix_upper_bound, search_key
from proactif.registry import domain
from proactif.registry.models import Address, ContactPoint, Person, Voie

STREET_WORDS = {"RUE", "AVENUE", "AV", "BOULEVARD", "BD", "PLACE", "PL", "ALLEE", "CHEMIN", "CH", "IMPASSE",
                "IMP", "QUAI", "ROUTE", "RTE", "COURS", "SQUARE", "PASSAGE", "VILLA", "CITE", "SENTIER",
                "PROMENADE", "ESPLANADE", "RUELLE", "HAMEAU", "LIEU", "ROND", "VOIE", "PARVIS", "CARREFOUR"}
STOP_WORDS = {"DE", "DU", "DES", "LA", "LE", "LES", "L", "D", "ET", "AU", "AUX", "SAINT", "ST"}
SUFFIXES = {"BIS", "TER", "QUATER", "A", "B", "C", "D"}


@dataclass(frozen=True)
class SearchQuery:
    kind: str  # name | address | phone | email | empty
    text: str
    error: str = ""


def classify(raw: str) -> SearchQuery:
    text = (raw or "").strip()
    if len(text) < 2:
        return SearchQuery("empty", text)
    if "@" in text:
        return SearchQuery("email", text.lower())
    digits = re.sub(r"[\s.\-()]", "", text)
    if re.fullmatch(r"\+?\d{6,15}", digits):
        return SearchQuery("phone", digits)
    if " " not in text and re.search(r"[._\d]", text) and re.search(r"[a-zA-Z]", text):
        return SearchQuery("email", text.lower())  # the start of an e-mail address: "marie.dupont", "jdupont75"
    key = search_key(text)
    tokens = key.split()
    if tokens and (tokens[0].isdigit() or any(t in STREET_WORDS for t in tokens)):
        return SearchQuery("address", key)
    return SearchQuery("name", key)


SANDBOX_SOURCES = ("synth",)


def _person_qs(sandbox: bool = False) -> QuerySet[Person]:
    qs = Person.objects.exclude(status__in=("merged", "anonymised")).select_related("household__address__voie")
    return qs.filter(source__in=SANDBOX_SOURCES) if sandbox else qs


def _prefix(field: str, prefix: str) -> Q:
    return Q(**{f"{field}__gte": prefix, f"{field}__lt": prefix_upper_bound(prefix)})


def name_readings(tokens: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    """Every way to read the words as (nom, prénoms): "MARIE LE GALL" is tried as nom "MARIE" with prénoms
    "LE GALL", nom "LE GALL" with prénom "MARIE", nom "MARIE LE" with "GALL", and nom "GALL" with the rest."""
    readings: list[tuple[str, tuple[str, ...]]] = [(" ".join(tokens), ())]
    for k in range(1, len(tokens)):
        readings.append((" ".join(tokens[:k]), tuple(tokens[k:])))
        readings.append((" ".join(tokens[k:]), tuple(tokens[:k])))
    return list(dict.fromkeys(readings))


def by_name(key: str, limit: int, sandbox: bool = False) -> list[Person]:
    tokens = key.split()[:5]
    if not tokens:
        return []
    found: dict[int, Person] = {}
    for nom, prenoms in name_readings(tokens):
        for field in ("nom_cle", "usage_cle"):
            qs = _person_qs(sandbox).filter(_prefix(field, nom))
            for prenom in prenoms:
                qs = qs.filter(prenoms_cle__contains=prenom)
            for person in qs.order_by(field, "prenoms_cle")[:limit]:
                found.setdefault(person.pk, person)
    # an exact surname (birth or usage name) before the names it only begins (« Roux » before « Rousseau »)
    return sorted(found.values(), key=lambda p: (p.nom_cle not in tokens and p.usage_cle not in tokens,
                                                 p.usage_cle if p.usage_cle in tokens else p.nom_cle,
                                                 p.prenoms_cle, p.pk))[:limit]


def by_email(text: str, limit: int, sandbox: bool = False) -> list[Person]:
    ids = ContactPoint.objects.filter(kind="email").filter(_prefix("value", text)).values_list(
        "person_id", flat=True)[:limit]
    return list(_person_qs(sandbox).filter(pk__in=list(ids)).order_by("nom_cle", "prenoms_cle"))


def by_phone(digits: str, limit: int, sandbox: bool = False) -> tuple[list[Person], str]:
    try:
        phone = domain.normalise_phone("telephone", digits)
    except domain.FieldError as exc:
        return [], exc.reason
    assert phone is not None
    ids = ContactPoint.objects.filter(kind="phone", value=phone.e164).values_list("person_id", flat=True)[:limit]
    return list(_person_qs(sandbox).filter(pk__in=list(ids)).order_by("nom_cle", "prenoms_cle")), ""


def parse_address(key: str) -> tuple[int | None, str, list[str]]:
    tokens = key.split()
    numero: int | None = None
    suffixe = ""
    if tokens and tokens[0].isdigit():
        numero = int(tokens.pop(0))
        if tokens and tokens[0] in SUFFIXES and len(tokens) > 1:
            suffixe = tokens.pop(0)
    words = [t for t in tokens if t not in STOP_WORDS and t not in STREET_WORDS]
    if not words:  # "rue de la paix" → keep the street word if nothing else is left
        words = [t for t in tokens if t not in STOP_WORDS]
    return numero, suffixe, words


def matching_voies(words: list[str], limit: int = 200) -> list[int]:
    qs = Voie.objects.all()
    for word in words:
        qs = qs.filter(cle__contains=word)
    return list(qs.values_list("id", flat=True)[:limit])


def by_address(key: str, limit: int, sandbox: bool = False) -> list[Person]:
    numero, suffixe, words = parse_address(key)
    if not words:
        return []
    voie_ids = matching_voies(words)
    if not voie_ids:
        return []
    addresses = Address.objects.filter(voie_id__in=voie_ids)
    if numero is not None:
        addresses = addresses.filter(numero=numero)
        if suffixe:
            addresses = addresses.filter(suffixe__iexact=suffixe)
    address_ids = list(addresses.values_list("id", flat=True)[:500])
    return list(_person_qs(sandbox).filter(household__address_id__in=address_ids).exclude(status="deceased")
                .order_by("household__address__numero", "household_id", "nom_cle", "prenoms_cle")[:limit])


def search_page(raw: str, limit: int, offset: int, sandbox: bool = False) -> tuple[SearchQuery, list[Person], bool]:
    """One page of results (`limit` from `offset`), and whether there are more."""
    query, persons = search(raw, offset + limit + 1, sandbox)
    return query, persons[offset:offset + limit], len(persons) > offset + limit


def search(raw: str, limit: int = 50, sandbox: bool = False) -> tuple[SearchQuery, list[Person]]:
    query = classify(raw)
    if query.kind == "name":
        return query, by_name(query.text, limit, sandbox)
    if query.kind == "email":
        return query, by_email(query.text, limit, sandbox)
    if query.kind == "phone":
        persons, error = by_phone(query.text, limit, sandbox)
        return SearchQuery("phone", query.text, error), persons
    if query.kind == "address":
        return query, by_address(query.text, limit, sandbox)
    return query, []
