"""A real Celery worker on RabbitMQ, with PostgreSQL: the scheduler claims a due job, a worker process
runs it and records the outcome — the same task functions as the embedded executor."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
from django.db import connection

from proactif.kernel import clock, executor, scheduler
from proactif.kernel.models import ScheduledJob
from proactif.registry.models import Document
from tests.conftest import require, service_up

pytestmark = [pytest.mark.integration, pytest.mark.postgres]
BROKER = os.environ.get("PROACTIF_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
JOB = "registry.refresh_document_statuses"


@pytest.fixture
def celery(settings, tmp_path):
    require(connection.vendor == "postgresql", "the Celery integration test runs on PostgreSQL (DATABASE_URL)")
    require(service_up("127.0.0.1", 5672), "RabbitMQ is not running on 127.0.0.1:5672")
    from proactif.kernel import celery_app

    prefix = f"test-{uuid.uuid4().hex[:8]}-"
    settings.BROKER_URL = BROKER
    settings.QUEUE_PREFIX = prefix
    celery_app.reset()
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROACTIF_")}
    env.update(DATABASE_URL=f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
                            f"{db['PORT'] or 5432}/{db['NAME']}",
               PROACTIF_BROKER_URL=BROKER, PROACTIF_QUEUE_PREFIX=prefix, PROACTIF_HOME=str(tmp_path / "worker"),
               PROACTIF_SECRET_KEY="worker-test", PROACTIF_LOG_LEVEL="WARNING")
    worker = subprocess.Popen([sys.executable, "-m", "proactif.cli", "worker", "--concurrency", "1",
                               "--hostname", f"{prefix}worker@%h"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    executor.set_backend(executor.CeleryBackend())
    yield worker
    executor.set_backend(None)
    worker.kill()
    worker.wait(10)
    celery_app.reset()


def wait_for(condition, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_the_job_the_scheduler_claimed(celery) -> None:
    from proactif.synth import services as synth

    synth.seed(300, 2, reset=True, parallel=False)  # transactional tests leave an empty database
    stale = Document.objects.filter(status="valide").first()
    Document.objects.filter(pk=stale.pk).update(expires_on=clock.today() - timedelta(days=1))
    scheduler.ensure_rows()
    ScheduledJob.objects.filter(name=JOB).update(next_run_at=clock.now() - timedelta(minutes=1))
    dispatched = scheduler.tick()
    assert JOB in dispatched["dispatched"] and dispatched["executor"] == "celery"
    finished = wait_for(lambda: ScheduledJob.objects.get(name=JOB).runs == 1)
    assert finished, f"the worker did not run the job:\n{celery.stderr.read() if celery.poll() is not None else ''}"
    job = ScheduledJob.objects.get(name=JOB)
    assert job.last_status == "ok" and job.lease_until is None and job.next_run_at > clock.now()
    assert Document.objects.get(pk=stale.pk).status == "expire"
    assert scheduler.tick()["dispatched"] == []  # claimed once, run once
