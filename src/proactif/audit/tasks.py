"""Nightly retention purge across capabilities."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from proactif.accounts import services as accounts
from proactif.audit import gdpr
from proactif.kernel.scheduler import periodic


@periodic(every=timedelta(days=1), at=time(3, 30))
def retention_purge() -> dict[str, Any]:
    figures = gdpr.purge()
    figures["accounts"] = {"login_attempts": accounts.purge_login_attempts()}
    return figures
