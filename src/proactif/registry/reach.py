"""How each person can be reached, loaded in bulk for messaging at send time: names for the greeting,
addresses per channel, preferred channels, and which channels the consents and oppositions leave open
for a communication purpose. A handful of queries per batch, whatever its size."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Q

from proactif.registry import domain
from proactif.registry.models import ChannelPreference, Consent, ContactPoint, OptOut, Person

CHANNELS = ("sms", "email", "push", "letter")


@dataclass(frozen=True)
class Reachable:
    person_id: int
    prenom: str
    nom: str
    civilite: str
    langue: str
    born: date | None
    synthetic: bool
    active: bool
    preferences: tuple[str, ...]
    addresses: dict[str, str] = field(default_factory=dict)  # sms → E.164, email → address, letter → lines
    allowed: frozenset[str] = frozenset()  # channels open for the purpose asked

    @property
    def nom_complet(self) -> str:
        return f"{self.prenom} {self.nom.upper()}".strip()


def postal_lines(person: Person, nom_complet: str, civilite: str) -> str:
    """The address block of a letter (norme NF Z10-011): at most six lines of 38 characters, the last one
    postcode and commune in capitals; empty when the person has no known address."""
    household = person.household
    address = household.address if household else None
    if address is None:
        return ""
    lines = [f"{civilite} {nom_complet}"[:38]]
    if household and household.logement:
        lines.append(household.logement.upper()[:38])
    number = f"{address.numero}{(' ' + address.suffixe.upper()) if address.suffixe else ''} " if address.numero else ""
    lines.append(f"{number}{address.voie.nom}".upper()[:38])
    if address.complement:
        lines.append(address.complement.upper()[:38])
    lines.append(f"{address.code_postal} {address.commune}".upper().strip()[:38])
    return "\n".join(lines[:6])


def reachable(person_ids: list[int], purpose: str) -> dict[int, Reachable]:
    persons = (Person.objects.filter(pk__in=person_ids)
               .select_related("household__address__voie")
               .only("id", "prenoms", "nom_naissance", "nom_usage", "sexe", "langue", "date_naissance", "source",
                     "status", "household__logement", "household__address__numero", "household__address__suffixe",
                     "household__address__complement", "household__address__code_postal",
                     "household__address__commune", "household__address__voie__nom"))
    contacts: dict[int, dict[str, str]] = defaultdict(dict)
    for person_id, kind, value, mobile in ContactPoint.objects.filter(
            person_id__in=person_ids, status="active").order_by("created_at").values_list(
            "person_id", "kind", "value", "is_mobile"):
        if kind == "email":
            contacts[person_id]["email"] = value
        elif kind == "phone" and mobile:
            contacts[person_id]["sms"] = value
        elif kind == "postal":
            contacts[person_id]["postal"] = value
    preferences: dict[int, list[str]] = defaultdict(list)
    for person_id, channel in ChannelPreference.objects.filter(person_id__in=person_ids).order_by(
            "person_id", "rank").values_list("person_id", "channel"):
        preferences[person_id].append(channel)
    events: dict[int, list[domain.ConsentEvent]] = defaultdict(list)
    for person_id, p, channel, decision, at in Consent.objects.filter(
            person_id__in=person_ids, purpose=purpose).values_list("person_id", "purpose", "channel", "decision",
                                                                   "recorded_at"):
        events[person_id].append(domain.ConsentEvent(p, channel, decision, at))
    values = {v for c in contacts.values() for k, v in c.items() if k in ("sms", "email")}
    rules: dict[Any, list[domain.OptOutRule]] = defaultdict(list)
    for person_id, value, p, channel in OptOut.objects.filter(revoked_at__isnull=True).filter(
            Q(person_id__in=person_ids) | Q(contact_value__in=values)).values_list(
            "person_id", "contact_value", "purpose", "channel"):
        rules[person_id if person_id else value].append(domain.OptOutRule(p, channel))
    out = {}
    for person in persons:
        pid = person.pk
        civilite = "Madame" if person.sexe == "F" else "Monsieur"
        nom = person.nom_usage or person.nom_naissance
        prenom = person.prenoms.split(" ")[0] if person.prenoms else ""
        addresses = {k: v for k, v in contacts[pid].items() if k in ("sms", "email")}
        letter = contacts[pid].get("postal")
        full = f"{prenom} {nom.upper()}".strip()
        letter = f"{civilite} {full}"[:38] + "\n" + letter if letter else postal_lines(person, full, civilite)
        if letter:
            addresses["letter"] = letter
        decisions = domain.current_decisions(events[pid])
        allowed = frozenset(
            channel for channel in CHANNELS
            if domain.may_contact(purpose, channel, decisions,
                                  rules[pid] + [r for k, v in addresses.items() if k in ("sms", "email")
                                                for r in rules.get(v, [])]))
        out[pid] = Reachable(pid, prenom, nom, civilite, person.langue or "fr", person.date_naissance,
                             person.source == "synth", person.status == "active", tuple(preferences[pid]),
                             addresses, allowed)
    return out
