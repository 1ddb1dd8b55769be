"""Audit API: the access log, for the DPO's tools."""

from __future__ import annotations

from datetime import date, datetime

from django.http import HttpRequest
from ninja import Query, Router, Schema

from proactif.accounts.domain import Caller
from proactif.audit import services as audit
from proactif.kernel.ids import Id

router = Router(tags=["journal des accès"])


class LogRow(Schema):
    at: datetime
    actor_kind: str
    actor_label: str
    service: str
    person_id: int | None
    purpose: str
    action: str
    section: str


@router.get("/log", response=list[LogRow], summary="Journal des accès")
def log(request: HttpRequest, person_id: Id | None = None, since: date | None = None, until: date | None = None,
        limit: int = Query(100, ge=1, le=1000)) -> list[object]:
    who: Caller = request.auth  # type: ignore[attr-defined]
    # A test key reads only what test keys did: never which residents the services consulted.
    rows = list(audit.search(audit.LogFilter(person_id=person_id, since=since, until=until,
                                             test_keys_only=who.is_test))[:limit])
    audit.record(who.actor, "export_log", purpose="rgpd", detail={"rows": len(rows)})
    return rows
