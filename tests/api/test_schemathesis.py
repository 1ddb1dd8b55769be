"""Schemathesis against the API, in process (WSGI), on the seeded test database, with a fixed seed.

Every operation gets schemathesis' boundary cases (its coverage phase: each limit and one past it, missing and
extra fields, wrong types), then generated cases, valid and invalid, authenticated with a live key of a service
holding every scope that service may hold (or the DPO's key, for the access log). Each response is checked:
no server error, a status the OpenAPI declares for the operation, the declared content type, a body matching
the declared schema. The figures are printed; the run is bounded by the number of examples per operation
(about two minutes on SQLite).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, Phase, given
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, ServerError
from schemathesis.generation import GenerationMode
from schemathesis.openapi.checks import UndefinedStatusCode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from proactif.accounts import services as accounts


@schemathesis.serializer("multipart/report")
def _report(ctx: Any, value: Any) -> bytes:
    """A bounce or complaint report (the e-mail feedback webhook) is raw bytes: sent as generated."""
    return value if isinstance(value, bytes) else str(value).encode()

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

SEED = 14
EXAMPLES = 100  # generated cases per operation and mode (valid, invalid), beside the boundary cases
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# together, every scope; the DPO's for the access log
SERVICES = ("etat_civil", "police_municipale", "sante_prevention", "dpo", "communication")


@contextmanager
def wsgi_app() -> Iterator[WSGIHandler]:
    """Django's WSGI application, keeping the test's connection (and its transaction) between requests."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


def keys() -> dict[str, str]:
    """Scope → the header of a live key holding it: a key per service, with every scope the service may hold."""
    headers: dict[str, str] = {}
    for service in SERVICES:
        scopes = accounts.scopes_for_service(service)
        _, token = accounts.create_api_key(service, "schemathesis", "live", scopes)
        for scope in scopes:
            headers.setdefault(scope, f"Bearer {token}")
    return headers


class Tally:
    def __init__(self) -> None:
        self.cases = 0
        self.statuses: Counter[int] = Counter()
        self.by_operation: defaultdict[str, Counter[int]] = defaultdict(Counter)
        self.failures: Counter[str] = Counter()
        self.examples: dict[str, str] = {}

    def run(self, case: Any, headers: dict[str, str]) -> None:
        response = case.call(headers=headers)
        self.cases += 1
        self.statuses[response.status_code] += 1
        self.by_operation[case.operation.label][response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except* Failure as group:
            for failure in _leaves(group):
                kind = ("server error" if isinstance(failure, ServerError)
                        else "undeclared status" if isinstance(failure, UndefinedStatusCode)
                        else type(failure).__name__)
                self.failures[kind] += 1
                self.examples.setdefault(f"{kind}: {case.operation.label}",
                                         f"{case.as_curl_command(headers=headers)} → {response.status_code} "
                                         f"{failure.title}: {response.content[:300]!r}")


def _leaves(group: BaseExceptionGroup[Failure]) -> Iterator[Failure]:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            yield from _leaves(exc)
        else:
            yield exc


def test_the_api_conforms_to_its_openapi(agents: dict[str, Any], client: Client) -> None:
    client.force_login(agents["admin"])  # the contract is for the collectivité's agents
    schema = schemathesis.openapi.from_dict(client.get("/api/v1/openapi.json").json())
    with wsgi_app() as app:
        schema.app = app
        by_scope = keys()
        tally = Tally()
        started = time.monotonic()
        operations = [result.ok() for result in schema.get_all_operations()]
        unsatisfiable: list[str] = []
        for operation in operations:
            scope = operation.definition.raw.get("x-scope")
            headers = {"Authorization": by_scope[scope]} if scope else {}
            config = schema.config.generation_for(operation=operation)
            for case in schema.iter_coverage_cases(operation, generation_modes=list(GenerationMode),
                                                   generation_config=config):
                tally.run(case, headers)
            for mode in GenerationMode:
                strategy = operation.as_strategy(generation_mode=mode)

                @hypothesis.seed(SEED)
                @hypothesis.settings(max_examples=EXAMPLES, deadline=None, database=None,
                                     phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
                @given(case=strategy)
                def fuzz(case: Any) -> None:
                    tally.run(case, headers)  # noqa: B023 (run at once, within this iteration)

                try:
                    fuzz()
                except hypothesis.errors.Unsatisfiable:
                    # no invalid input exists for an operation taking any bytes (the e-mail feedback webhook's raw
                    # report): its negative mode has nothing to generate; a valid mode must always generate
                    assert mode is GenerationMode.NEGATIVE, operation.label
                    unsatisfiable.append(operation.label)
    seconds = time.monotonic() - started
    print(f"\nschemathesis: {len(operations)} operations, {tally.cases} cases in {seconds:.0f} s; "
          f"server errors: {tally.failures['server error']}, undeclared statuses: "
          f"{tally.failures['undeclared status']}, other failures: "
          f"{sum(tally.failures.values()) - tally.failures['server error'] - tally.failures['undeclared status']}; "
          f"statuses: {dict(sorted(tally.statuses.items()))}")
    for label, statuses in sorted(tally.by_operation.items()):
        print(f"  {label}: {dict(sorted(statuses.items()))}")
    for label, example in sorted(tally.examples.items()):
        print(f"  {label}\n    {example}")
    assert set(tally.by_operation) == {operation.label for operation in operations}  # every operation was tried
    assert not tally.failures, dict(tally.failures)
    assert unsatisfiable in ([], ["POST /api/v1/messaging/email-feedback/{provider}"]), unsatisfiable

