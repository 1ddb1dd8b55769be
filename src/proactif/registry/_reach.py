"""How each person can be reached, loaded in bulk for messaging at send time: names for the greeting,
addresses per channel, preferred channels, and which channels the consents and oppositions leave open
for a communication purpose — for a "declared" purpose, the persons its declared basis holds (a register kept
by a capability, `kernel.capabilities.ContactBasis`), nobody else. A handful of queries per batch, whatever its
size."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Q

from proactif.kernel import capabilities
from proactif.registry import domain
from proactif.registry.models import ChannelPreference, Consent, ContactPoint, OptOut, Person


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


@dataclass(frozen=True)
class PostalAddress:
    logement: str
    numero: int | None
    suffixe: str
    voie: str
    complement: str
    code_postal: str
    commune: str


def postal_lines(address: PostalAddress | None, nom_complet: str, civilite: str) -> str:
    """The address block of a letter (norme NF Z10-011): at most six lines of 38 characters, the last one
    postcode and commune in capitals; empty when the person has no known address."""
    if address is None:
        return ""
    lines = [f"{civilite} {nom_complet}"[:38]]
    if address.logement:
        lines.append(address.logement.upper()[:38])
    number = f"{address.numero}{(' ' + address.suffixe.upper()) if address.suffixe else ''} " if address.numero else ""
    lines.append(f"{number}{address.voie}".upper()[:38])
    if address.complement:
        lines.append(address.complement.upper()[:38])
    lines.append(f"{address.code_postal} {address.commune}".upper().strip()[:38])
    return "\n".join(lines[:6])


# --- the rules every way of reading reach shares (`reachable` person by person, `reach_profiles` in bulk) ----
def contact_use(kind: str, is_mobile: bool) -> str | None:
    """What a contact point serves: an e-mail address, a mobile number (SMS), postal lines, a Messenger id —
    a landline serves none of the channels."""
    if kind == "phone":
        return "sms" if is_mobile else None
    return kind if kind in ("email", "postal", "messenger") else None


def channel_addresses(contacts: dict[str, str], preferences: Sequence[str], letter: str) -> dict[str, str]:
    """The address of each channel a person can be written on, from their contacts by use (the latest of each),
    their preferred channels and their letter's address block (empty: no known address)."""
    addresses = {k: v for k, v in contacts.items() if k in ("sms", "email", "messenger")}
    if "sms" in addresses and "whatsapp" in preferences:  # WhatsApp on the mobile they asked it on
        addresses["whatsapp"] = addresses["sms"]
    if letter:
        addresses["letter"] = letter
    return addresses


def allowed_channels(purpose: str, decisions: dict[tuple[str, str], str],
                     rules: Sequence[domain.OptOutRule], held: bool = False) -> frozenset[str]:
    """The channels the consents (latest decisions) and oppositions leave open for the purpose (`held`: the person
    is on the list its declared basis keeps)."""
    return frozenset(c for c in capabilities.channels(sent=True)
                     if domain.may_contact(purpose, c, decisions, rules, held))


def held_by_basis(purpose: str, person_ids: list[int]) -> set[int]:
    """Of these persons, those the basis declared for a "declared" purpose holds now (none without a declaration:
    no basis, no message); for any other purpose, none (its rule does not ask)."""
    spec = domain.COMMUNICATION_PURPOSES.get(purpose)
    if spec is None or spec.rule != "declared":
        return set()
    basis = capabilities.contact_basis(purpose)
    if basis is None:
        return set()
    return set(basis.holders(list(person_ids))) & set(person_ids)


def reachable(person_ids: list[int], purpose: str) -> dict[int, Reachable]:
    persons = Person.objects.filter(pk__any=person_ids).values_list(  # tuples: no model instance per person
        "id", "prenoms", "nom_naissance", "nom_usage", "sexe", "langue", "date_naissance", "source", "status",
        "household__address_id", "household__logement", "household__address__numero", "household__address__suffixe",
        "household__address__voie__nom", "household__address__complement", "household__address__code_postal",
        "household__address__commune")
    contacts: dict[int, dict[str, str]] = defaultdict(dict)
    for person_id, kind, value, mobile in ContactPoint.objects.filter(
            person_id__any=person_ids, status="active").order_by("created_at").values_list(
            "person_id", "kind", "value", "is_mobile"):
        use = contact_use(kind, mobile)
        if use:
            contacts[person_id][use] = value
    preferences: dict[int, list[str]] = defaultdict(list)
    for person_id, channel in ChannelPreference.objects.filter(person_id__any=person_ids).order_by(
            "person_id", "rank").values_list("person_id", "channel"):
        preferences[person_id].append(channel)
    events: dict[int, list[domain.ConsentEvent]] = defaultdict(list)
    for person_id, p, channel, decision, at in Consent.objects.filter(
            person_id__any=person_ids, purpose=purpose).order_by("recorded_at", "id").values_list(
            "person_id", "purpose", "channel", "decision", "recorded_at"):
        events[person_id].append(domain.ConsentEvent(p, channel, decision, at))
    values = {v for c in contacts.values() for k, v in c.items() if k in ("sms", "email")}
    rules: dict[Any, list[domain.OptOutRule]] = defaultdict(list)
    for person_id, value, p, channel in OptOut.objects.filter(revoked_at__isnull=True).filter(
            Q(person_id__any=person_ids) | Q(contact_value__any=list(values))).values_list(
            "person_id", "contact_value", "purpose", "channel"):
        rules[person_id if person_id else value].append(domain.OptOutRule(p, channel))
    held = held_by_basis(purpose, person_ids)
    out = {}
    # most people have neither a decision for the purpose nor an opposition: their channels are the purpose's
    # default (held by its basis or not), computed once rather than per person and channel
    by_default = {on: allowed_channels(purpose, {}, [], on) for on in (False, True)}
    for (pid, prenoms, nom_naissance, nom_usage, sexe, langue, born, source, status, address_id, logement, numero,
         suffixe, voie, complement, code_postal, commune) in persons:
        civilite = "Madame" if sexe == "F" else "Monsieur"
        nom = nom_usage or nom_naissance
        prenom = prenoms.split(" ")[0] if prenoms else ""
        address = PostalAddress(logement or "", numero, suffixe or "", voie or "", complement or "", code_postal or "",
                                commune or "") if address_id else None
        letter = contacts[pid].get("postal")
        full = f"{prenom} {nom.upper()}".strip()
        letter = f"{civilite} {full}"[:38] + "\n" + letter if letter else postal_lines(address, full, civilite)
        addresses = channel_addresses(contacts[pid], preferences[pid], letter)
        own_rules = rules[pid] + [r for k, v in addresses.items() if k in ("sms", "email") for r in rules.get(v, [])]
        if pid in events or own_rules:
            allowed = allowed_channels(purpose, domain.current_decisions(events[pid]), own_rules, pid in held)
        else:
            allowed = by_default[pid in held]
        out[pid] = Reachable(pid, prenom, nom, civilite, langue or "fr", born, source == "synth", status == "active",
                             tuple(preferences[pid]), addresses, allowed)
    return out


def contact_channels(values: list[str], purpose: str) -> dict[str, frozenset[str]]:
    """For contact values a message is addressed to directly — a registered person's emergency contact, often no
    resident: the channels the oppositions in force on each value (an SMS STOP from the number) leave open for a
    message of `purpose`. No consent is asked of them; an opposition always wins."""
    rules: dict[str, list[domain.OptOutRule]] = defaultdict(list)
    for value, p, channel in OptOut.objects.filter(revoked_at__isnull=True, contact_value__any=list(values)) \
            .values_list("contact_value", "purpose", "channel"):
        rules[value].append(domain.OptOutRule(p, channel))
    sent = capabilities.channels(sent=True)
    return {value: frozenset(c for c in sent if not domain.opposed(purpose, c, rules[value])) for value in values}
