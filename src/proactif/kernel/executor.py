"""Task execution, the same task functions in every mode.

- `inline`: run in the calling thread (CLI commands, `tick`, tests);
- `embedded`: an in-process pool of threads fed by a priority queue — urgent work first;
- `celery`: enqueue on RabbitMQ when PROACTIF_BROKER_URL is set; `proactif worker` consumes.

Tasks take ids and plain values, never objects, and must be idempotent: the durable state lives in
the database rows they re-read, so a task that runs twice has one effect.
"""

from __future__ import annotations

import importlib
import itertools
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from proactif.kernel.logging import get_logger

log = get_logger(__name__)

# Priority lanes, most urgent first: an urgent alert never waits behind a campaign.
LANES = ("urgent", "transactional", "bulk", "batch")


@dataclass(frozen=True)
class TaskSpec:
    name: str
    fn: Callable[..., Any]
    queue: str


_TASKS: dict[str, TaskSpec] = {}


def task(queue: str = "batch", name: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a function as a task on a lane. The function stays directly callable."""
    if queue not in LANES:
        raise ValueError(f"unknown lane {queue!r}; lanes are {', '.join(LANES)}")

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        task_name = name or f"{fn.__module__.removeprefix('proactif.').removesuffix('.tasks')}.{fn.__name__}"
        _TASKS[task_name] = TaskSpec(task_name, fn, queue)
        fn.task_name = task_name  # type: ignore[attr-defined]
        return fn

    return register


def discover_tasks() -> dict[str, TaskSpec]:
    """Import every installed capability's `tasks` module so that its tasks register."""
    from django.apps import apps

    for config in apps.get_app_configs():
        if config.name.startswith("proactif."):
            try:
                importlib.import_module(f"{config.name}.tasks")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.tasks":
                    raise
    return dict(_TASKS)


def get_task(name: str) -> TaskSpec:
    if name not in _TASKS:
        discover_tasks()
    try:
        return _TASKS[name]
    except KeyError:
        raise LookupError(f"no task named {name!r}") from None


def run_in_worker(name: str, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None) -> Any:
    """Run a task on a worker thread or process: fresh database connections around it."""
    from django.db import close_old_connections

    close_old_connections()
    try:
        return run_task(name, args, kwargs)
    finally:
        close_old_connections()


def run_task(name: str, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None) -> Any:
    """Run one task here and now, with timing and metrics (in the caller's database connection)."""
    from proactif.kernel import metrics

    spec = get_task(name)
    started = time.monotonic()
    try:
        result = spec.fn(*args, **(kwargs or {}))
    except Exception:
        metrics.TASKS.labels(task=name, status="error").inc()
        log.exception("task failed", task=name)
        raise
    finally:
        metrics.TASK_SECONDS.labels(task=name).observe(time.monotonic() - started)
    metrics.TASKS.labels(task=name, status="ok").inc()
    return result


class Backend(Protocol):
    mode: str

    def submit(self, spec: TaskSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None: ...


class InlineBackend:
    mode = "inline"

    def submit(self, spec: TaskSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        run_task(spec.name, args, kwargs)


class EmbeddedBackend:
    """Worker threads in this process, taking the most urgent lane first (FIFO within a lane)."""

    mode = "embedded"

    def __init__(self, threads: int = 4):
        self._queue: queue.PriorityQueue[tuple[int, int, str, tuple[Any, ...], dict[str, Any]]] = (
            queue.PriorityQueue())
        self._counter = itertools.count()
        self._threads = [threading.Thread(target=self._work, name=f"proactif-executor-{i}", daemon=True)
                         for i in range(threads)]
        self._idle = threading.Condition()
        self._pending = 0
        for thread in self._threads:
            thread.start()

    def submit(self, spec: TaskSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        with self._idle:
            self._pending += 1
        self._queue.put((LANES.index(spec.queue), next(self._counter), spec.name, args, kwargs))

    def _work(self) -> None:
        while True:
            _, _, name, args, kwargs = self._queue.get()
            try:
                run_in_worker(name, args, kwargs)
            except Exception:  # noqa: S110 - run_task logged it; the row stays due and is swept
                pass
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)


class CeleryBackend:
    mode = "celery"

    def __init__(self) -> None:
        from proactif.kernel.celery_app import get_app, queue_name

        self._app = get_app()
        self._queue = queue_name

    def submit(self, spec: TaskSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._app.send_task(spec.name, args=list(args), kwargs=kwargs, queue=self._queue(spec.queue))


_backend: Backend | None = None


def default_backend() -> Backend:
    from django.conf import settings

    return CeleryBackend() if settings.BROKER_URL else InlineBackend()


def get_backend() -> Backend:
    global _backend
    if _backend is None:
        _backend = default_backend()
    return _backend


def set_backend(backend: Backend | None) -> None:
    global _backend
    _backend = backend


def enqueue(name: str, *args: Any, **kwargs: Any) -> None:
    get_backend().submit(get_task(name), args, kwargs)
