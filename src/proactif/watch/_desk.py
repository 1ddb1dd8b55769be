"""The watch desk (issue 18): open alerts by severity with their persons, and a person's watch page (vitals
against their thresholds, devices, alerts). The desk refreshes itself: its access-log rows are written once per
session for the persons it shows, again only after 15 minutes — not at every refresh."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from proactif.accounts.domain import Access
from proactif.kernel import clock
from proactif.kernel.charts import Chart, Series
from proactif.registry import services as registry
from proactif.watch import _thresholds as thresholds
from proactif.watch import domain, rules
from proactif.watch.models import Alert, DeadLetter, Device, DeviceLoan, HourlyAggregate, Observation

DESK_LOG_EVERY = timedelta(minutes=15)
SESSION_KEY = "veille_pupitre_journal"
ORDER = {"critical": 0, "warning": 1, "info": 2}
LABELS = {"heart_rate": "Fréquence cardiaque", "respiratory_rate": "Fréquence respiratoire",
          "temperature": "Température", "spo2": "Saturation en oxygène", "systolic_bp": "Pression systolique",
          "diastolic_bp": "Pression diastolique"}
UNITS = {"heart_rate": "/min", "respiratory_rate": "/min", "temperature": "°C", "spo2": "%", "systolic_bp": "mm Hg",
         "diastolic_bp": "mm Hg"}


def desk_alerts() -> list[Alert]:
    """Alerts not resolved, the gravest first, then the oldest."""
    rows = list(Alert.objects.exclude(status="resolue").order_by("opened_at")[:500])
    return sorted(rows, key=lambda a: (a.status != "ouverte", ORDER.get(a.severity, 3), a.opened_at))


def name_alerts(access: Access, rows: list[Alert], session: Any) -> list[Alert]:
    """The persons' names on the desk's alerts; logged for persons not logged in this session within 15 minutes."""
    from proactif.watch import services

    people = registry.residents([a.person_id for a in rows])
    now = clock.now()
    seen: dict[str, str] = dict(session.get(SESSION_KEY) or {})
    due = [pk for pk in people if str(pk) not in seen
           or now - datetime.fromisoformat(seen[str(pk)]) >= DESK_LOG_EVERY]
    if due:
        services.log_read(access, due, "view", pupitre=True)
        seen.update({str(pk): now.isoformat() for pk in due})
        session[SESSION_KEY] = seen
    for alert in rows:
        resident = people.get(alert.person_id)
        alert.name = resident.display_name if resident else f"personne {alert.person_id}"  # type: ignore[attr-defined]
    return rows


def desk_figures() -> dict[str, int]:
    """Counts only: open alerts by severity, devices offline or silent, refused messages of the last day."""
    open_alerts = Alert.objects.filter(status="ouverte")
    return {"critical": open_alerts.filter(severity="critical").count(),
            "warning": open_alerts.filter(severity="warning").count(),
            "acknowledged": Alert.objects.filter(status="acquittee").count(),
            "offline": Device.objects.filter(state="hors_ligne").count(),
            "refused_today": DeadLetter.objects.filter(received_at__gte=clock.now() - timedelta(days=1)).count()}


def person_page(access: Access, person_id: int, hours: int = 48) -> dict[str, Any]:
    """A person's watch page: their vitals over `hours` (hourly means against their effective thresholds, and
    the table), the devices lent, the alerts, their thresholds and the history of their changes; one access-log
    row."""
    from proactif.watch import services

    resident = registry.residents([person_id]).get(person_id)
    if resident is None:
        raise LookupError(person_id)
    services.log_read(access, [person_id], "view", telesurveillance=True)
    own = thresholds.current(person_id)
    since = clock.now() - timedelta(hours=hours)
    hourly: dict[str, dict[datetime, float]] = defaultdict(dict)
    for row in HourlyAggregate.objects.filter(person_id=person_id, hour__gte=since).order_by("hour"):
        hourly[row.code][row.hour] = round(row.mean, 1)
    charts = []
    for code, points in hourly.items():
        if code not in LABELS:
            continue
        hours_seen = sorted(points)
        labels = tuple(h.astimezone(clock.local_tz()).strftime("%d/%m %H h") for h in hours_seen)
        bounds = own.thresholds.of(code)  # the person's effective thresholds, those the rules apply
        series = [Series(f"{LABELS[code]} (moyenne horaire)", tuple(points[h] for h in hours_seen))]
        for label, value in (("seuil bas critique", bounds.critical_low),
                             ("seuil bas d'avertissement", bounds.warning_low),
                             ("seuil haut d'avertissement", bounds.warning_high),
                             ("seuil haut critique", bounds.critical_high)):
            if value is not None:
                series.append(Series(label.capitalize(), tuple(value for _ in hours_seen)))
        charts.append(Chart(f"veille-{code}", LABELS[code], labels, tuple(series), unit=UNITS[code],
                            label_header="Heure", description=f"{LABELS[code]} sur {hours} heures et ses seuils"))
    latest = {code: (at, value) for code, at, value in Observation.objects.filter(
        person_id=person_id, at__gte=since).order_by("at").values_list("code", "at", "value")}
    devices = [(loan.device, loan) for loan in DeviceLoan.objects.filter(person_id=person_id, end_on__isnull=True)
               .select_related("device")]
    return {"resident": resident, "charts": charts, "latest": latest, "devices": devices,
            "alerts": list(Alert.objects.filter(person_id=person_id).order_by("-opened_at")[:50]),
            "labels": LABELS, "units": UNITS, "hours": hours, "severities": dict(Alert.SEVERITIES),
            "qualites": domain.QUALITES, **threshold_view(person_id, own)}


def threshold_view(person_id: int, own: thresholds.Current) -> dict[str, Any]:
    """The thresholds part of a person's page: the programme, each vital's bounds (marked when the person's own),
    the programmes to choose from and the history of the changes with their instructions."""
    rows = []
    for vital in rules.VITALS:
        bounds = own.thresholds.of(vital)
        base = rules.PROGRAMMES.get(own.programme, ("", rules.DEFAULTS))[1].of(vital)
        cells = [{"name": b, "field": thresholds.field_name(vital, b), "label": rules.BOUND_LABELS[b],
                  "value": getattr(bounds, b), "base": getattr(base, b),
                  "text": "" if getattr(bounds, b) is None else thresholds.shown(getattr(bounds, b))}
                 for b in rules.BOUNDS]
        rows.append({"vital": vital, "label": LABELS[vital], "unit": UNITS[vital], "own": vital in own.overrides,
                     "bounds": cells})
    return {"threshold_rows": rows, "programme": own.programme,
            "programme_label": thresholds.programme_label(own.programme),
            "programmes": [(k, label) for k, (label, _) in rules.PROGRAMMES.items()],
            "threshold_history": [(c, thresholds.differences(c)) for c in thresholds.history(person_id)]}
