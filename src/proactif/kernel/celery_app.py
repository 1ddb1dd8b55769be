"""Celery on RabbitMQ: the distributed mode of the executor (PROACTIF_BROKER_URL).

Every registered task becomes a Celery task of the same name on its lane's queue. Messages are
acknowledged after the task ran (acks_late) and re-delivered if the worker dies, which is safe
because tasks are idempotent.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import Queue

from proactif.kernel.executor import LANES, discover_tasks, run_in_worker

_app: Celery | None = None


def _task_body(name: str) -> Any:
    def run(*args: Any, **kwargs: Any) -> Any:
        return run_in_worker(name, args, kwargs)

    run.__name__ = run.__qualname__ = name.replace(".", "_")
    run.__module__ = "proactif.kernel.celery_app"
    return run


def queue_name(lane: str) -> str:
    from django.conf import settings

    return f"{settings.QUEUE_PREFIX}{lane}"


def create_app(broker_url: str) -> Celery:
    app = Celery("proactif", broker=broker_url)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=queue_name("batch"),
        task_queues=[Queue(queue_name(lane)) for lane in LANES],
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        broker_transport_options={"confirm_publish": True},
    )
    for spec in discover_tasks().values():
        app.task(name=spec.name, queue=queue_name(spec.queue), acks_late=True)(_task_body(spec.name))
    return app


def reset() -> None:
    """Forget the app (tests switch brokers and prefixes)."""
    global _app
    _app = None


def get_app() -> Celery:
    global _app
    if _app is None:
        from django.conf import settings

        if not settings.BROKER_URL:
            raise RuntimeError("PROACTIF_BROKER_URL is not set: the Celery executor is not configured")
        _app = create_app(settings.BROKER_URL)
    return _app
