"""Shared fixtures: a small synthetic commune seeded once per test database, agents of every role,
and the rule that integration tests fail (not skip) under CI=true when a service is missing."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from proactif.accounts.domain import Role

pytest_plugins = ["tests.sinks"]  # the built-in sinks on free ports, for messaging and journeys tests

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# The reference data the repository carries (data/), read in place like the application reads it
REFERENCE_DATA = Path(os.environ.get("PROACTIF_REFERENCE_DATA") or Path(__file__).resolve().parents[1] / "data")
SEED_RESIDENTS = 1500
PASSWORD = "correct-horse-battery-staple-42"


COMMITTING_MARKS = ("e2e", "integration", "reliability")
DATABASE_FIXTURES = frozenset({"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback",
                               "live_server"})


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--database-only", action="store_true",
                     help="run only the tests that reach the test database (the django_db marker or a database "
                          "fixture): the second database's session of scripts/test.sh, where the others — pure "
                          "functions, commands run on their own SQLite home — would only run again unchanged")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `postgres` need a PostgreSQL server's behaviour: on SQLite they are deselected (the PostgreSQL
    session of scripts/test.sh runs them), not skipped — a skip must mean something is missing. With
    `--database-only`, the tests that never reach the test database are deselected too.

    A test that commits empties the database when it ends, so it must not share a session with the tests that read
    the seeded commune: it carries one of COMMITTING_MARKS, which scripts/test.sh runs in their own sessions."""
    stray = [item.nodeid for item in items if commits(item) and not any(item.get_closest_marker(m)
                                                                          for m in COMMITTING_MARKS)]
    if stray:
        raise pytest.UsageError("tests that commit must be marked " + " or ".join(COMMITTING_MARKS) + ": "
                                + ", ".join(stray))
    on_postgres = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
    chosen = [item for item in items if (on_postgres or item.get_closest_marker("postgres") is None)
              and (not config.getoption("database_only") or uses_database(item))]
    if len(chosen) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in chosen])
        items[:] = chosen


def uses_database(item: pytest.Item) -> bool:
    """The test reaches the session's test database: pytest-django's marker, or a fixture that needs one (the
    fixture names are the closure: `agents` brings `db`)."""
    return (item.get_closest_marker("django_db") is not None
            or bool(set(getattr(item, "fixturenames", ())) & DATABASE_FIXTURES))


def commits(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("django_db")
    fixtures = set(getattr(item, "fixturenames", ()))
    return bool(marker and marker.kwargs.get("transaction")) or bool(fixtures & {"transactional_db", "live_server"})


def require(condition: bool, reason: str) -> None:
    """Skip when something external is missing — but fail under CI=true, where it must be there."""
    if not condition:
        if CI:
            pytest.fail(f"{reason} (CI=true: integration prerequisites must be present)")
        pytest.skip(reason)


def service_up(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def reference_file(name: str) -> Path:
    """A file of data/: the repository carries it, so it is never missing (a test would fail, not skip)."""
    path = REFERENCE_DATA / name
    assert path.is_file(), f"reference data {path} is absent: data/README.md lists what the repository carries"
    return path


@pytest.fixture(scope="session", autouse=True)
def unreachable_providers() -> None:
    """Messages a test sends without the `sinks` fixture go nowhere (a closed port), never to the sinks of
    a demo or a simulation running on this machine's default ports."""
    import json

    from django.conf import settings

    from proactif.messaging import _providers as providers

    settings.SMTP_PORT = settings.SINK_SMTP_PORT = 9
    settings.SINK_HTTP_PORT = 9
    settings.SMS_PROVIDERS = json.dumps([{"name": "sms-a", "format": "json", "url": "http://127.0.0.1:9/sms/json",
                                          "weight": 1, "token": "t", "secret": "s"}])
    providers.reset()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> None:
    """Seed one small commune (and its public website) per test database; tests run in transactions rolled back
    after each."""
    from proactif.assist import services as assist
    from proactif.kernel.install import install
    from proactif.synth import services as synth

    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        install()
        create_agents()
        synth.seed(SEED_RESIDENTS, 7, parallel=False)
        assist.seed_demo()  # the synthetic commune's public website


AGENTS = {
    "etat_civil": ("etat_civil", Role.AGENT), "responsable": ("etat_civil", Role.RESPONSABLE),
    "ccas": ("ccas", Role.AGENT),
    "communication": ("communication", Role.AGENT), "sante": ("sante_prevention", Role.AGENT),
    "police": ("police_municipale", Role.AGENT),
    "dpo": ("dpo", Role.DPO), "admin": ("dsi", Role.ADMIN),
}


def create_agents() -> None:
    """One agent per role/service, all with PASSWORD (argon2 hashing is slow: done once per database)."""
    from proactif.accounts import services as accounts

    for key, (service, role) in AGENTS.items():
        accounts.create_agent(f"{key}@test.proactif.fr", PASSWORD, service=service, role=role,
                              first_name=key.title(), last_name="Test")


@pytest.fixture
def agents(db: None) -> dict[str, object]:
    from proactif.accounts.models import Agent

    return {key: Agent.objects.get(email=f"{key}@test.proactif.fr") for key in AGENTS}


@pytest.fixture
def heard(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """Every event published during the test, beside the declared listeners: {"event", "person_id", …}."""
    from proactif.kernel import capabilities

    seen: list[dict[str, object]] = []
    declared = capabilities.listeners

    def record(event: str, person_id: int, instance_id: int | None = None, **payload: object) -> None:
        seen.append({"event": event, "person_id": person_id, "instance_id": instance_id, **payload})

    monkeypatch.setattr(capabilities, "listeners", lambda event: [*declared(event), record])
    return seen


@pytest.fixture
def fixed_clock() -> Iterator[object]:
    from proactif.kernel import clock

    fixed = clock.FixedClock(datetime(2026, 11, 28, 10, 0, tzinfo=UTC))
    with clock.use(fixed):
        yield fixed


def some_person_id(**filters: object) -> int:
    from proactif.registry.models import Person

    person = Person.objects.filter(status="active", **filters).order_by("id").first()
    assert person is not None, f"no person matching {filters} in the seeded commune"
    return int(person.pk)


@pytest.fixture
def test_contacts(settings: Any) -> list[str]:
    """An exercise reaches only the configured test contacts: one synthetic resident's mobile phone."""
    from proactif.registry.models import ContactPoint

    value = ContactPoint.objects.filter(kind="phone", is_mobile=True, status="active", person__status="active",
                                        person__source="synth").order_by("id").values_list("value", flat=True).first()
    settings.ALERT_TEST_CONTACTS = [value]
    return [value]


def fr(text: str) -> str:
    """`text` as French typography puts it on a page (`web._typography`): what page assertions compare with."""
    from proactif.web._typography import typeset_html

    return typeset_html(text)
