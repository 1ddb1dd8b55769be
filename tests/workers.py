"""Worker processes for the reliability tests: the same code as production, in another process, pointed at
the test database and at the sinks the test runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import connection


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return (f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
            f"{db['NAME']}")


def worker_env(home: Path, sinks: Any, **extra: str) -> dict[str, str]:
    """Environment of a worker process: this test's database and sinks; no quiet hours, caps or rate limits
    (the tests must not depend on the hour they run at)."""
    from django.conf import settings

    env = {k: v for k, v in os.environ.items() if not k.startswith("PROACTIF_") and k != "DATABASE_URL"}
    env.update(DATABASE_URL=database_url(), PROACTIF_HOME=str(home), PROACTIF_SECRET_KEY="worker-test",
               PROACTIF_LOG_LEVEL="WARNING", PROACTIF_SINKS="false", PROACTIF_SMTP_HOST="127.0.0.1",
               PROACTIF_SMTP_PORT=str(sinks.smtp_port), PROACTIF_SMS_PROVIDERS=settings.SMS_PROVIDERS,
               PROACTIF_SINK_HTTP_PORT=str(sinks.http_port), PROACTIF_SINK_SMTP_PORT=str(sinks.smtp_port),
               PROACTIF_SEND_LEASE_SECONDS="3", PROACTIF_QUIET_HOURS="00:00-23:59",
               PROACTIF_SEND_ON_SUNDAYS="true", PROACTIF_SEND_ON_HOLIDAYS="true", PROACTIF_CAP_PER_DAY="1000",
               PROACTIF_CAP_PER_WEEK="1000", PROACTIF_RATE_LIMITS="sms=100000,email=100000,push=100000,letter=100000",
               PROACTIF_LETTERS_DIR=str(home / "letters"))
    env.update(extra)
    return env


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """A worker process; what it writes on stderr goes to $PROACTIF_HOME/worker.log (see `log_tail`)."""
    home = Path(env["PROACTIF_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    log = (home / "worker.log").open("a")
    return subprocess.Popen([sys.executable, "-m", "proactif.cli", *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=log, text=True, start_new_session=True)


def kill9(process: subprocess.Popen[str]) -> None:
    """SIGKILL the worker and every process it started (Celery's pool children): the machine died."""
    import signal
    from contextlib import suppress

    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def log_tail(env: dict[str, str], lines: int = 40) -> str:
    path = Path(env["PROACTIF_HOME"]) / "worker.log"
    return "\n".join(path.read_text().splitlines()[-lines:]) if path.exists() else ""


def wait_for(condition: Callable[[], bool], seconds: float = 120, every: float = 0.1) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


class SinkCount:
    """Every submission the sinks receive, counted by idempotency key."""

    def __init__(self, sinks: Any):
        self.submissions: Counter[str] = Counter()
        sinks.store.listen(lambda item: self.submissions.update([item.key]))

    @property
    def keys(self) -> int:
        return len(self.submissions)

    @property
    def duplicates(self) -> int:
        return sum(self.submissions.values()) - len(self.submissions)


def end_other_sessions(seconds: float = 10) -> None:
    """PostgreSQL: end the other connections to the test database (threads of this process, workers killed
    a moment ago), so that it can be dropped at the end of the session."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid()")

    def alone() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND pid <> pg_backend_pid()")
            return int(cursor.fetchone()[0]) == 0

    wait_for(alone, seconds, every=0.2)


def campaign_commune(residents: int) -> dict[int, Any]:
    """A fresh commune of `residents` and the campaign's template on SMS and e-mail: who may be reached for
    reminders (person id → reach)."""
    from proactif.kernel.install import install
    from proactif.messaging import services as messaging
    from proactif.registry import services as registry
    from proactif.registry.models import Person
    from proactif.synth import services as synth

    synth.seed(residents, 3, reset=True, parallel=False)
    install()
    messaging.save_template("campagne.test", "sms", "Bonjour {{ personne.prenom }}, réunion publique jeudi.",
                            publish=True)
    messaging.save_template("campagne.test", "email", "Bonjour {{ personne.prenom }},\nréunion publique jeudi.",
                            subject="Réunion publique", publish=True)
    ids = list(Person.objects.filter(status="active").values_list("id", flat=True))
    return registry.reachable(ids, "rappels_echeances")
