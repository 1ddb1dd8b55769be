"""Registry jobs: daily document statuses, nightly duplicate detection. Idempotent."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from proactif.kernel.scheduler import periodic
from proactif.registry import services


@periodic(every=timedelta(days=1), at=time(1, 30))
def refresh_document_statuses() -> dict[str, int]:
    return services.refresh_document_statuses()


@periodic(every=timedelta(days=1), at=time(2, 30))
def suggest_duplicates() -> dict[str, Any]:
    return services.suggest_duplicates()
