"""Rights tasks: a screening chunk (batch lane: any worker takes any chunk) and the daily take-up follow-up."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from proactif.kernel.executor import task
from proactif.kernel.scheduler import periodic
from proactif.rights import services


@task(queue="batch")
def screen_chunk(run_id: int, index: int) -> dict[str, Any]:
    return services.run_chunk(run_id, index)


@periodic(every=timedelta(days=1), at=time(7, 0))
def follow_up() -> dict[str, int]:
    """Take-up checks at M+1 and M+3 of the outreach, through the connectors."""
    return services.follow_up()
