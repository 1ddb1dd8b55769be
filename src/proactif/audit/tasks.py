"""Nightly retention purge across capabilities."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from proactif.audit import services as audit
from proactif.kernel.scheduler import periodic


@periodic(every=timedelta(days=1), at=time(3, 30))
def retention_purge() -> dict[str, Any]:
    return audit.retention_purge()
