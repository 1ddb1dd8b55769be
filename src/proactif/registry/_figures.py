"""The registry's figures for the dashboard, kept as a snapshot (the scans take seconds on a million)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Q

from proactif.kernel import clock
from proactif.registry import _identity as identity
from proactif.registry import domain
from proactif.registry.models import (
    Address,
    Consent,
    ContactPoint,
    Document,
    FiguresSnapshot,
    Household,
    Person,
    Quartier,
    Voie,
)

AGE_BANDS = [(0, 4), (5, 9), (10, 14), (15, 19), (20, 24), (25, 29), (30, 34), (35, 39), (40, 44), (45, 49),
             (50, 54), (55, 59), (60, 64), (65, 69), (70, 74), (75, 79), (80, 84), (85, 89), (90, 94), (95, 120)]


def _age_pyramid(today: date) -> list[dict[str, Any]]:
    """Residents by sex and 5-year band, from one scan grouped by birth date (a few tens of thousands of
    groups, computed in SQL without per-row functions)."""
    bands = {band: {"F": 0, "M": 0} for band in AGE_BANDS}
    rows = (Person.objects.filter(status="active", date_naissance__isnull=False)
            .values_list("sexe", "date_naissance").annotate(n=Count("id")).order_by())
    for sexe, born, n in rows:
        age = domain.age_on(born, today)
        band = next((b for b in AGE_BANDS if b[0] <= age <= b[1]), AGE_BANDS[-1] if age > 95 else AGE_BANDS[0])
        bands[band][sexe] = bands[band].get(sexe, 0) + n
    return [{"band": f"{low}–{high}" if high < 120 else f"{low}+", "F": v["F"], "M": v["M"]}
            for (low, high), v in bands.items()]


def compute_figures() -> dict[str, Any]:
    """The dashboard's figures, straight from the tables (full scans: seconds on a million residents)."""
    today = clock.today()
    active = Person.objects.filter(status="active")
    horizon = today + timedelta(days=183)
    expiring = dict(Document.objects.filter(kind__in=("cni", "passeport"), status="valide", expires_on__gte=today,
                                            expires_on__lte=horizon, person__status="active")
                    .values_list("kind").annotate(n=Count("id")).values_list("kind", "n"))
    by_quartier = list(Quartier.objects.annotate(n=Count("addresses__households__members",
                                                         filter=Q(addresses__households__members__status="active")))
                       .values("code", "nom", "n").order_by("-n")[:10])
    return {
        "as_of": today.isoformat(),
        "computed_at": clock.now().isoformat(),
        "residents": active.count(),
        "households": Household.objects.count(),
        "addresses": Address.objects.count(),
        "voies": Voie.objects.count(),
        "quartiers": Quartier.objects.count(),
        "with_email": ContactPoint.objects.filter(kind="email", status="active", person__status="active")
        .values("person_id").distinct().count(),
        "with_mobile": ContactPoint.objects.filter(kind="phone", is_mobile=True, status="active",
                                                   person__status="active").values("person_id").distinct().count(),
        "documents_expiring_6_months": {"cni": expiring.get("cni", 0), "passeport": expiring.get("passeport", 0)},
        "consents_granted": dict(Consent.objects.filter(decision="granted").values_list("purpose")
                                 .annotate(n=Count("id")).values_list("purpose", "n")),
        "disability": active.filter(taux_incapacite__gte=50).count(),
        "age_pyramid": _age_pyramid(today),
        "top_quartiers": by_quartier,
        "pending_duplicates": identity.pending_suggestions().count(),
    }


def refresh_figures() -> dict[str, Any]:
    """Compute the figures and keep them as the latest snapshot (every 10 minutes, and after loads)."""
    figures = compute_figures()
    with transaction.atomic():
        snapshot = FiguresSnapshot.objects.create(computed_at=clock.now(), figures=figures)
        FiguresSnapshot.objects.exclude(pk=snapshot.pk).delete()
    return figures


def dashboard_figures() -> dict[str, Any]:
    """The latest snapshot (computed now only if there is none yet): the dashboard never waits for scans."""
    snapshot = FiguresSnapshot.objects.order_by("-computed_at").first()
    return dict(snapshot.figures) if snapshot else refresh_figures()
