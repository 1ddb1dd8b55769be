"""Background loops of a single process: the scheduler (and the embedded executor it feeds)."""

from __future__ import annotations

import threading

from django.db import close_old_connections

from proactif.kernel import executor, scheduler
from proactif.kernel.logging import get_logger

log = get_logger(__name__)


class SchedulerLoop:
    """Claims due periodic jobs every `interval` seconds and hands them to the executor."""

    def __init__(self, interval: float = 15.0):
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="proactif-scheduler", daemon=True)

    def start(self) -> SchedulerLoop:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def run_forever(self) -> None:
        self._run()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                scheduler.tick()
            except Exception:
                log.exception("scheduler tick failed")
            finally:
                close_old_connections()
            self._stop.wait(self.interval)


_started = False


def start_embedded(threads: int, scheduler_interval: float = 15.0) -> None:
    """In-process execution for `proactif demo` / `serve` without a broker (idempotent)."""
    global _started
    from django.conf import settings

    if _started:
        return
    _started = True
    if not settings.BROKER_URL:
        executor.set_backend(executor.EmbeddedBackend(threads))
    SchedulerLoop(scheduler_interval).start()
    log.info("background work started", executor=executor.get_backend().mode)
