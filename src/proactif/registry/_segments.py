"""Segments: named groups of residents a journey can enter by (`entry: {type: segment, segment: NAME}`).
Each is a query over the registry as it is today; a journey's daily entry starts those not already in it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from django.db.models import Count, QuerySet

from proactif.registry.domain import add_years
from proactif.registry.models import Person

Query = Callable[[date], QuerySet[Person]]
SEGMENTS: dict[str, tuple[str, Query]] = {}


def segment(name: str, label: str) -> Callable[[Query], Query]:
    def register(fn: Query) -> Query:
        SEGMENTS[name] = (label, fn)
        return fn

    return register


def _born_before(today: date, years: int) -> date:
    return add_years(today, -years)


@segment("residents", "Tous les habitants résidents")
def residents(today: date) -> QuerySet[Person]:
    return Person.objects.filter(status="active")


@segment("seniors_isoles", "Personnes de 65 ans ou plus vivant seules")
def seniors_alone(today: date) -> QuerySet[Person]:
    alone = Person.objects.filter(status="active").values("household_id").annotate(n=Count("id")).filter(n=1)
    return Person.objects.filter(status="active", date_naissance__lte=_born_before(today, 65),
                                 household_id__in=alone.values("household_id"))


@segment("handicap", "Personnes avec un taux d'incapacité d'au moins 50 %")
def disability(today: date) -> QuerySet[Person]:
    return Person.objects.filter(status="active", taux_incapacite__gte=50)


@segment("nouveaux_majeurs", "Habitants devenus majeurs dans les 30 derniers jours")
def new_adults(today: date) -> QuerySet[Person]:
    from datetime import timedelta

    return Person.objects.filter(status="active", date_naissance__lte=_born_before(today, 18),
                                 date_naissance__gt=_born_before(today - timedelta(days=30), 18))


def segment_names() -> dict[str, str]:
    return {name: label for name, (label, _) in SEGMENTS.items()}


def members(name: str, today: date) -> list[int]:
    return list(SEGMENTS[name][1](today).values_list("id", flat=True))
