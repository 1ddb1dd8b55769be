"""Access-log use cases: write a row for every read or change of a person's data; query and export. And the GDPR
rights and retention across capabilities: each capability that holds personal data declares it (`PersonalData`
in its `capability.py`) — what it exports for art. 15, what it erases, anonymises or must retain for art. 17,
its retention purge — and this module runs them all, so a new capability joins the rights workflow by
declaring, and the audit layer never imports the capabilities above it."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import connection, transaction
from django.db.models import Count, QuerySet

from proactif.accounts.domain import Actor
from proactif.audit.models import AccessLog
from proactif.kernel import capabilities, clock, csvexport, metrics
from proactif.kernel.capabilities import ErasureItem, PersonalData
from proactif.kernel.logging import get_logger
from proactif.kernel.middleware import current_request

log = get_logger(__name__)


def record(actor: Actor, action: str, *, purpose: str, person_ids: Iterable[int | None] = (None,),
           sections: Iterable[str] = ("",), detail: dict[str, Any] | None = None) -> int:
    """Append one row per (person, section). Returns the number of rows written."""
    meta = current_request.get()
    now = clock.now()
    rows = [
        AccessLog(at=now, actor_kind=actor.kind, actor_id=actor.id, actor_label=actor.label[:254],
                  service=actor.service or "", person_id=person_id, purpose=purpose, action=action,
                  section=section, detail=detail or {}, request_id=meta.request_id if meta else "",
                  ip=meta.ip if meta else None)
        for person_id in person_ids for section in sections
    ]
    AccessLog.objects.bulk_create(rows)
    metrics.AUDIT_ROWS.labels(action=action).inc(len(rows))
    return len(rows)


@dataclass
class LogFilter:
    person_id: int | None = None
    actor: str = ""
    service: str = ""
    purpose: str = ""
    action: str = ""
    since: date | None = None
    until: date | None = None
    test_keys_only: bool = False  # rows made by test API keys only


def search(f: LogFilter) -> QuerySet[AccessLog]:
    qs = AccessLog.objects.all()
    if f.test_keys_only:
        from proactif.accounts import services as accounts

        qs = qs.filter(actor_kind="api_key", actor_id__in=accounts.test_key_ids())
    if f.person_id is not None:
        qs = qs.filter(person_id=f.person_id)
    if f.actor:
        qs = qs.filter(actor_label__icontains=f.actor)
    if f.service:
        qs = qs.filter(service=f.service)
    if f.purpose:
        qs = qs.filter(purpose=f.purpose)
    if f.action:
        qs = qs.filter(action=f.action)
    # The first and last days a date can hold bound nothing (and would overflow once moved to UTC).
    if f.since and f.since > date.min:
        qs = qs.filter(at__gte=clock.local_datetime(f.since))
    if f.until and f.until < date.max:
        qs = qs.filter(at__lt=clock.local_datetime(f.until + timedelta(days=1)))
    return qs.order_by("-at", "-id")


def person_history(person_id: int, limit: int = 50, service: str | None = None) -> list[dict[str, Any]]:
    """Who consulted this person's file: one line per access (sections grouped); with `service`, only that
    service's reads (an agent sees their own service's, the DPO everyone's)."""
    qs = AccessLog.objects.filter(person_id=person_id)
    if service is not None:
        qs = qs.filter(service=service)
    rows = qs.order_by("-at", "-id").values(
        "at", "actor_label", "service", "purpose", "action", "section", "request_id")[: limit * 12]
    grouped: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = (row["request_id"] or row["at"], row["actor_label"], row["action"], row["purpose"])
        entry = grouped.setdefault(key, {**row, "sections": []})
        if row["section"] and row["section"] not in entry["sections"]:
            entry["sections"].append(row["section"])
    return list(grouped.values())[:limit]


CSV_COLUMNS = ["horodatage", "acteur_type", "acteur_id", "acteur", "service", "personne_id", "finalite",
               "action", "section", "requete", "ip"]


def export_csv(f: LogFilter) -> Iterator[str]:
    """Stream the filtered log as CSV (for the DPO; the export itself is logged by the caller)."""
    buffer = io.StringIO()
    writer = csvexport.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    for row in search(f).values_list("at", "actor_kind", "actor_id", "actor_label", "service", "person_id",
                                     "purpose", "action", "section", "request_id", "ip").iterator(2000):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([row[0].astimezone(clock.local_tz()).isoformat(), *row[1:]])
        yield buffer.getvalue()


def home_watch(access: Any) -> dict[str, Any]:
    """The DPO's home block: the reads logged today, the lists exported as files this week and by whom, the
    GDPR exports and erasures of the month."""
    now = clock.now()
    today = datetime.combine(clock.today(), datetime.min.time(), tzinfo=clock.local_tz())
    week, month = now - timedelta(days=7), now - timedelta(days=30)
    exports = (AccessLog.objects.filter(at__gte=week, action__in=("export_list", "export_log"))
               .values_list("actor_label").annotate(n=Count("request_id", distinct=True)).order_by("-n")
               .values_list("actor_label", "n"))
    return {"today": AccessLog.objects.filter(at__gte=today).count(), "exports": list(exports[:5]),
            "rights": AccessLog.objects.filter(at__gte=month, action="export").values("person_id").distinct().count(),
            "erasures": AccessLog.objects.filter(at__gte=month, action="erase").values("person_id").distinct().count()}


def purge_older_than(days: int) -> int:
    """The retention purge: the only way rows leave the log (bypasses the append-only manager)."""
    cutoff = clock.now() - timedelta(days=days)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AccessLog._meta.db_table} WHERE at < %s", [cutoff])
        return cursor.rowcount


def rows_about(person_id: int) -> int:
    return AccessLog.objects.filter(person_id=person_id).count()


def count() -> int:
    return AccessLog.objects.count()


def actions() -> list[str]:
    return sorted(AccessLog.objects.values_list("action", flat=True).distinct())


# --- GDPR rights and retention across capabilities ----------------------------------------------------------
def providers() -> list[PersonalData]:
    return capabilities.personal_data()


def wipe_everyone() -> dict[str, int]:
    """Every capability forgets every resident, before the registry is emptied and refilled."""
    return {provider.name: provider.wipe() for provider in providers()}


def export_person(actor: Actor, person_id: int) -> dict[str, Any]:
    """Everything Proactif holds on a person (art. 15), including who accessed their file."""
    data: dict[str, Any] = {
        "personne_id": person_id,
        "genere_le": clock.now().isoformat(),
        "responsable_de_traitement": _controller(),
    }
    with _known(person_id):
        for provider in providers():
            data[provider.name] = provider.export(person_id)
    record(actor, "export", purpose="rgpd", person_ids=[person_id], detail={"right": "art15"})
    return data


@contextmanager
def _known(person_id: int) -> Iterator[None]:
    """A person the registry does not know: LookupError (before anything is written or logged)."""
    try:
        yield
    except ObjectDoesNotExist:
        raise LookupError(f"personne {person_id} inconnue") from None


def erasure_plan(person_id: int, seen_by: Actor | None = None) -> list[ErasureItem]:
    """What an erasure would do, capability by capability (counts of a person's data: a logged read when an
    agent sees it)."""
    with _known(person_id):
        plan = [item for provider in providers() for item in provider.plan_erasure(person_id)]
    if seen_by is not None:
        record(seen_by, "view", purpose="rgpd", person_ids=[person_id], detail={"right": "erasure_plan"})
    return plan


def erase_person(actor: Actor, person_id: int, reason: str) -> dict[str, Any]:
    """Apply the erasure plan in one transaction: all of it or nothing (art. 17)."""
    if not reason.strip():
        raise ValueError("indiquez le motif de la demande d'effacement")
    plan = erasure_plan(person_id)
    done: dict[str, Any] = {}
    with transaction.atomic():
        for provider in providers():
            done[provider.name] = provider.erase(person_id)
        record(actor, "erase", purpose="rgpd", person_ids=[person_id],
                     detail={"right": "art17", "done": done})
    log.info("personal data erased", person_id=person_id, providers=list(done))
    return {"plan": [item.__dict__ for item in plan], "done": done}


def purge() -> dict[str, Any]:
    """Retention purge: every capability's (the access log's own included)."""
    return {provider.name: provider.purge() for provider in providers()}


def retention_purge() -> dict[str, Any]:
    """The nightly purge: every capability's retention, the agents' login attempts (30 days) and the request
    budgets' windows of clients that did not come back."""
    from proactif.accounts import services as accounts
    from proactif.kernel import ratelimit

    figures = purge()
    figures["accounts"] = {"login_attempts": accounts.purge_login_attempts()}
    figures["kernel"] = {"request_windows": ratelimit.purge()}
    return figures


# --- the access log's own part: who consulted a person's data ----------------------------------------------
def export_consultations(person_id: int) -> dict[str, Any]:
    return {"consultations": [
        {"date": row["at"].isoformat(), "acteur": row["actor_label"], "service": row["service"],
         "finalite": row["purpose"], "action": row["action"], "sections": row["sections"]}
        for row in person_history(person_id, limit=10_000)]}


def plan_consultations(person_id: int) -> list[ErasureItem]:
    from django.conf import settings

    return [ErasureItem("journal des consultations", "retain",
                        "la trace des accès au dossier est conservée pour contrôler qu'ils étaient légitimes "
                        f"(CNIL, délibération 2021-122), puis supprimée après {settings.AUDIT_RETENTION_DAYS} jours",
                        rows_about(person_id))]


def purge_consultations() -> dict[str, Any]:
    from django.conf import settings

    return {"access_log_rows": purge_older_than(settings.AUDIT_RETENTION_DAYS)}


def _controller() -> str:
    from django.conf import settings

    return str(settings.COLLECTIVITE_NAME)
