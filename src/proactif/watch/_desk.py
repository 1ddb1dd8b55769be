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
KINDS = dict(Device.KINDS)
UNITS = rules.UNITS  # one spelling of each unit: the charts, the thresholds and their history


def desk_alerts() -> list[Alert]:
    """Alerts not resolved, the gravest first, then the oldest."""
    rows = list(Alert.objects.exclude(status="resolue").order_by("opened_at")[:500])
    return sorted(rows, key=lambda a: (a.status != "ouverte", ORDER.get(a.severity, 3), a.opened_at))


def _shown(access: Access, person_ids: list[int], session: Any) -> dict[int, Any]:
    """The residents the desk shows; an access-log row for those not logged in this session within 15 minutes
    (the desk and the devices' map refresh themselves: not a row at every refresh)."""
    from proactif.watch import services

    people = registry.residents(person_ids)
    now = clock.now()
    seen: dict[str, str] = dict(session.get(SESSION_KEY) or {})
    due = [pk for pk in people if str(pk) not in seen
           or now - datetime.fromisoformat(seen[str(pk)]) >= DESK_LOG_EVERY]
    if due:
        services.log_read(access, due, "view", pupitre=True)
        seen.update({str(pk): now.isoformat() for pk in due})
        session[SESSION_KEY] = seen
    return people


def name_alerts(access: Access, rows: list[Alert], session: Any) -> list[Alert]:
    """The persons' names on the desk's alerts (logged, see `_shown`)."""
    people = _shown(access, [a.person_id for a in rows], session)
    for alert in rows:
        resident = people.get(alert.person_id)
        alert.name = resident.display_name if resident else f"personne {alert.person_id}"  # type: ignore[attr-defined]
    return rows


BATTERY_LOW = 20  # %
SILENT_AFTER = 3  # expected intervals without a reading
STATUS = {  # status → (label, colour on the map, rank: the gravest first)
    "critique": ("Alerte critique", "#ce0500", 0), "alerte": ("Alerte", "#b34000", 1),
    "hors_ligne": ("Hors ligne", "#3a3a3a", 2), "silencieux": ("Silencieux", "#6a6af4", 3),
    "batterie": ("Batterie faible", "#716043", 4), "inconnu": ("Jamais connecté", "#929292", 5),
    "en_ligne": ("En ligne", "#18753c", 6)}


def device_board(access: Access, session: Any) -> dict[str, Any]:
    """Every device lent today: its person (named, with the home's position), its state read from what it
    last said — the person's gravest open alert, offline (its Last Will), silent (no reading for 3 expected
    intervals), battery low, never connected, online — the gravest first; and the count per state. The persons
    shown are logged as on the desk."""
    now, today = clock.now(), clock.today()
    loans = {device_id: person_id for device_id, person_id in DeviceLoan.objects.filter(
        start_on__lte=today).exclude(end_on__lt=today).values_list("device_id", "person_id")}
    devices = list(Device.objects.filter(pk__in=list(loans)).order_by("serial"))
    persons = sorted(set(loans.values()))
    gravest: dict[int, str] = {}
    for person_id, severity in Alert.objects.filter(person_id__in=persons, status="ouverte").values_list(
            "person_id", "severity"):
        if severity == "critical" or person_id not in gravest:
            gravest[person_id] = "critique" if severity == "critical" else "alerte"
    people = _shown(access, persons, session)
    rows = []
    for device in devices:
        person_id = loans[device.pk]
        resident = people.get(person_id)
        if person_id in gravest:
            status = gravest[person_id]
        elif device.state == "hors_ligne":
            status = "hors_ligne"
        elif device.last_seen_at is None:
            status = "inconnu"
        elif now - device.last_seen_at > timedelta(seconds=SILENT_AFTER * device.expected_interval_s):
            status = "silencieux"
        elif device.battery is not None and device.battery < BATTERY_LOW:
            status = "batterie"
        else:
            status = "en_ligne"
        label, colour, rank = STATUS[status]
        rows.append({"serial": device.serial, "kind": KINDS.get(device.kind, device.kind), "status": status,
                     "label": label, "colour": colour, "rank": rank, "battery": device.battery,
                     "last_seen_at": device.last_seen_at, "person_id": person_id,
                     "name": resident.display_name if resident else f"personne {person_id}",
                     "address": resident.address if resident else "", "quartier": resident.quartier if resident else "",
                     "lon": resident.lon if resident else None, "lat": resident.lat if resident else None})
    rows.sort(key=lambda r: (r["rank"], r["serial"]))
    counts = {key: sum(1 for r in rows if r["status"] == key) for key in STATUS}
    return {"devices": rows, "counts": [(key, STATUS[key][0], STATUS[key][1], n) for key, n in counts.items()],
            "placed": sum(1 for r in rows if r["lon"] is not None)}


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
