"""How every resident can be reached, for the whole commune at once: what a live count over any area adds up
(alerts' map). The same rules as `reachable` (`contact_use`, `channel_addresses`, `allowed_channels`), applied
once per distinct *profile* rather than once per person.

A resident's profile is what a channel choice reads of them: their preferred channels in order, the channels
they have an address on, the channels their consents and oppositions leave open for the purpose, their language.
A commune of two million residents has a few hundred distinct profiles. Each resident's is found with a handful
of whole-table queries read into numpy arrays (no object per person): contact uses as bits, preferences as a
number in base (channels + 1), the latest consent decisions as an index into the distinct sets of decisions.
Residents with an opposition (by person or by contact value, rare) go through `reachable` one by one — the
exact path, used as is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import connection

from proactif.registry import _reach as reach
from proactif.registry import domain
from proactif.registry.models import ChannelPreference, Consent, ContactPoint, OptOut, Person

USES = ("sms", "email", "postal", "messenger")  # contact uses, as bits (1 << index)


@dataclass(frozen=True)
class ReachProfile:
    preferences: tuple[str, ...]
    addresses: frozenset[str]  # the channels with an address
    allowed: frozenset[str]  # the channels open for the purpose
    langue: str


@dataclass(frozen=True)
class ReachProfiles:
    """The active residents who live at an address: ids (sorted), their address, their profile (an index into
    `profiles`)."""

    person_ids: np.ndarray
    address_ids: np.ndarray
    profile: np.ndarray
    profiles: list[ReachProfile]


def reach_stamp() -> tuple[Any, ...]:
    """Changes when residents, contacts, preferences, consents or oppositions are added (greatest ids: an
    index lookup each, whatever the size) or an opposition is revoked. Changes made in place (a status, a
    move, a contact that bounces) are not seen: the caller rebuilds after a while as well."""
    from django.db.models import Count, Max

    stamp: list[Any] = [model.objects.aggregate(top=Max("id"))["top"] for model in (
        Person, ContactPoint, ChannelPreference, Consent)]
    stamp.append(tuple(OptOut.objects.aggregate(top=Max("id"), revoked=Count("revoked_at")).values()))
    return tuple(stamp)


def _rows(queryset: Any) -> list[tuple[Any, ...]]:
    """A queryset's rows as the database gives them, fetched at once (no conversion, no chunks of 100)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()  # type: ignore[no-any-return]


def reach_profiles(purpose: str) -> ReachProfiles:
    people = _rows(Person.objects.filter(status="active", household__address__isnull=False).order_by("id")
                   .values_list("id", "household__address_id", "langue"))
    n = len(people)
    ids = np.fromiter((p[0] for p in people), np.int64, n)
    address_ids = np.fromiter((p[1] for p in people), np.int64, n)
    codes: dict[str, int] = {}
    langue_code = np.fromiter((codes.setdefault(p[2] or "fr", len(codes)) for p in people), np.int64, n)
    langues = list(codes)
    del people

    def positions(person_ids: Any) -> tuple[np.ndarray, np.ndarray]:
        """The positions of these persons among the residents, and which of them are residents."""
        wanted = np.asarray(person_ids, dtype=np.int64)
        if not n:
            return np.zeros(0, np.int64), np.zeros(len(wanted), bool)
        at = np.minimum(np.searchsorted(ids, wanted), n - 1)
        found = ids[at] == wanted
        return at[found], found

    uses = np.zeros(n, np.int64)
    contacts = _rows(ContactPoint.objects.filter(status="active").values_list("person_id", "kind", "is_mobile"))
    bits = {(kind, mobile): 1 << USES.index(use) for kind, mobile in {(k, bool(m)) for _, k, m in contacts}
            if (use := reach.contact_use(kind, mobile))}
    bit = np.fromiter((bits.get((k, bool(m)), 0) for _, k, m in contacts), np.int64, len(contacts))
    at, found = positions(np.fromiter((c[0] for c in contacts), np.int64, len(contacts)))
    del contacts
    np.bitwise_or.at(uses, at, bit[found])

    channels, preference_code = _preferences(positions, n)
    decision_sets, decision_code = _decisions(purpose, positions, n)
    keys, inverse = _distinct([uses, preference_code, decision_code, langue_code])
    known: dict[ReachProfile, int] = {}  # distinct keys may make one profile (a postal contact, for instance)
    numbers = np.asarray([known.setdefault(_profile(purpose, int(u), int(p), decision_sets[int(d)],
                                                    langues[int(lg)], channels), len(known))
                          for u, p, d, lg in keys], dtype=np.int32)
    profile = numbers[inverse] if len(keys) else np.zeros(n, np.int32)

    opposed = _opposed()
    if opposed:  # the exact path, one by one
        at, found = positions(opposed)
        residents = [p for p, f in zip(opposed, found, strict=True) if f]
        exact: dict[int, reach.Reachable] = {}
        for start in range(0, len(residents), 5_000):
            exact.update(reach.reachable(residents[start:start + 5_000], purpose))
        for position in at.tolist():
            r = exact[int(ids[position])]
            one = ReachProfile(r.preferences, frozenset(r.addresses), r.allowed, r.langue)
            profile[position] = known.setdefault(one, len(known))
    return ReachProfiles(ids, address_ids, profile, list(known))


def _distinct(columns: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of these columns (non-negative integers) and each row's index among them: one number
    per row in mixed radix when it fits in 63 bits (sorting one column, not four)."""
    radices = [int(c.max()) + 1 if len(c) else 1 for c in columns]
    if np.prod([float(r) for r in radices]) >= 2.0 ** 63:
        keys, inverse = np.unique(np.stack(columns, axis=1), axis=0, return_inverse=True)
        return keys, inverse.reshape(-1)
    number = np.zeros(len(columns[0]), np.int64)
    for column, radix in zip(columns, radices, strict=True):
        number = number * radix + column
    distinct, inverse = np.unique(number, return_inverse=True)
    keys = np.zeros((len(distinct), len(columns)), np.int64)
    for i in range(len(columns) - 1, -1, -1):
        distinct, keys[:, i] = np.divmod(distinct, radices[i])
    return keys, inverse.reshape(-1)


def _preferences(positions: Any, n: int) -> tuple[list[str], np.ndarray]:
    """Each resident's preferred channels in order, as one number: digits in base (channels + 1), the first
    preference the lowest digit."""
    rows = _rows(ChannelPreference.objects.order_by("person_id", "rank").values_list("person_id", "channel"))
    channels = sorted({c for _, c in rows})
    base = len(channels) + 1
    code = np.zeros(n, np.int64)
    if rows:
        person = np.fromiter((r[0] for r in rows), np.int64, len(rows))
        index = {c: i + 1 for i, c in enumerate(channels)}
        digit = np.fromiter((index[r[1]] for r in rows), np.int64, len(rows))
        starts = np.r_[0, np.flatnonzero(np.diff(person)) + 1]
        rank = np.arange(len(rows)) - np.repeat(starts, np.diff(np.r_[starts, len(rows)]))
        at, found = positions(person.tolist())
        np.add.at(code, at, digit[found] * base ** rank[found])
    return channels, code


def _decode_preferences(code: int, channels: list[str]) -> tuple[str, ...]:
    base, out = len(channels) + 1, []
    while code:
        code, digit = divmod(code, base)
        out.append(channels[digit - 1])
    return tuple(out)


def _decisions(purpose: str, positions: Any, n: int) -> tuple[list[dict[tuple[str, str], str]], np.ndarray]:
    """Each resident's latest consent decisions for the purpose (`domain.current_decisions`, events in the order
    `reachable` reads them), as an index into the distinct sets of decisions (0: none)."""
    latest: dict[int, dict[tuple[str, str], str]] = {}
    events: dict[int, list[domain.ConsentEvent]] = {}
    # the times as the database gives them (ISO text on SQLite): the order is the database's, and among one
    # person's events only their order matters
    for person_id, p, channel, decision, at in _rows(Consent.objects.filter(purpose=purpose).order_by(
            "recorded_at", "id").values_list("person_id", "purpose", "channel", "decision", "recorded_at")):
        events.setdefault(person_id, []).append(domain.ConsentEvent(p, channel, decision, at))
    for person_id, own in events.items():
        latest[person_id] = domain.current_decisions(own)
    sets: dict[tuple[tuple[tuple[str, str], str], ...], int] = {(): 0}
    code = np.zeros(n, np.int64)
    if latest:
        people = list(latest)
        numbers = [sets.setdefault(tuple(sorted(latest[p].items())), len(sets)) for p in people]
        at, found = positions(people)
        code[at] = np.asarray(numbers, np.int64)[found]
    return [dict(s) for s in sets], code


def _profile(purpose: str, uses: int, preferences: int, decisions: dict[tuple[str, str], str], langue: str,
             channels: list[str]) -> ReachProfile:
    ordered = _decode_preferences(preferences, channels)
    contacts = {use: use for i, use in enumerate(USES) if uses & (1 << i)}
    # every resident here lives at an address: their letter goes there when they gave no postal contact
    addresses = reach.channel_addresses(contacts, ordered, letter="lettre")
    return ReachProfile(ordered, frozenset(addresses), reach.allowed_channels(purpose, decisions, []), langue)


def _opposed() -> list[int]:
    """The persons an opposition may concern: by person, or holding a contact value opposed."""
    rules = list(OptOut.objects.filter(revoked_at__isnull=True).values_list("person_id", "contact_value"))
    found = {p for p, _ in rules if p}
    values = sorted({v for _, v in rules if v})
    for start in range(0, len(values), 5_000):
        found.update(ContactPoint.objects.filter(value__in=values[start:start + 5_000]).values_list(
            "person_id", flat=True))
    return sorted(found)
