"""Registry jobs: daily document statuses, nightly duplicate detection. Idempotent."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from proactif.kernel import scheduler
from proactif.kernel.executor import task
from proactif.kernel.scheduler import periodic
from proactif.registry import services


@periodic(every=timedelta(days=1), at=time(1, 30))
def refresh_document_statuses() -> dict[str, int]:
    return services.refresh_document_statuses()


@periodic(every=timedelta(minutes=10))
def refresh_figures() -> dict[str, Any]:
    return {"residents": services.refresh_figures()["residents"]}


@periodic(every=timedelta(days=1), at=time(2, 30))
def suggest_duplicates() -> dict[str, Any]:
    """Record linkage over the whole registry — skipped when no identity or contact changed since the
    previous run (the linkage would find the same pairs)."""
    name = "registry.suggest_duplicates"
    fingerprint = services.identity_fingerprint()
    if scheduler.job_state(name).get("fingerprint") == fingerprint:
        return {"skipped": 1}
    figures = services.suggest_duplicates()
    scheduler.set_job_state(name, {"fingerprint": fingerprint})
    return figures


@task(queue="batch")
def import_uploaded_file(kind: str, path: str, agent_id: int, purpose: str) -> dict[str, Any]:
    """Import a file an agent uploaded; resumes where a previous attempt stopped."""
    from pathlib import Path

    from proactif.accounts import services as accounts

    if not Path(path).exists():  # already imported by an earlier delivery of this task
        return {"skipped": path}
    actor = accounts.actor_for_agent(accounts.get_agent(agent_id))
    report = services.import_file(kind, path, actor=actor, purpose=purpose)
    Path(path).unlink(missing_ok=True)
    return report.as_dict(max_errors=0)
