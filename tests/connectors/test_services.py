"""The connectors as the platform uses them: the per-person, per-month cache, the call log (legal basis,
purpose, recipient, actor — no content), and the circuit breaker."""

from __future__ import annotations

import pytest

from proactif.connectors import _particulier as particulier
from proactif.connectors import _transport as transport
from proactif.connectors import domain
from proactif.connectors import services as connectors
from proactif.connectors._sandbox import serve
from proactif.connectors.models import CachedAnswer, ConnectorCall
from tests.connectors.test_contract import benefit_holder, identity_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox(settings):
    server = serve(0, "sandbox", rate_limit=1000)
    port = server.server_address[1]
    settings.API_PARTICULIER_URL = f"http://127.0.0.1:{port}"
    settings.API_IMPOT_URL = f"http://127.0.0.1:{port}/impotparticulier/1.0"
    settings.API_PARTICULIER_TOKEN = settings.API_IMPOT_TOKEN = "sandbox"
    connectors.reset()
    yield server
    connectors.reset()
    server.shutdown()
    server.server_close()


def test_an_answer_is_kept_for_the_month_and_every_call_is_logged_without_its_content(sandbox) -> None:
    person = benefit_holder("rsa")
    context = connectors.CallContext(purpose="rights.screening", actor="job:screening", person_id=person.pk)
    first = connectors.particulier_call("revenu_solidarite_active", context, identity=identity_of(person))
    again = connectors.particulier_call("revenu_solidarite_active", context, identity=identity_of(person))
    assert first.found and not first.from_cache and again.from_cache and again.data == first.data
    assert CachedAnswer.objects.filter(operation="revenu_solidarite_active").count() == 1
    calls = list(ConnectorCall.objects.filter(person_id=person.pk).order_by("id").values(
        "api", "operation", "purpose", "legal_basis", "actor", "status", "from_cache", "recipient"))
    assert [c["from_cache"] for c in calls] == [False, True]
    assert calls[0]["legal_basis"] == domain.LEGAL_BASIS_PROACTIVE and calls[0]["actor"] == "job:screening"
    assert calls[0]["recipient"] and calls[0]["status"] == 200
    stored = str(list(ConnectorCall.objects.values()))
    assert person.nom_naissance not in stored and "est_beneficiaire" not in stored  # no identity, no answer


def test_nobody_found_is_an_answer_too(sandbox) -> None:
    context = connectors.CallContext(purpose="rights.screening", actor="test")
    nobody = domain.Identity("PERSONNE", ("INCONNUE",), "F", None)
    assert not connectors.particulier_call("prime_activite", context, identity=nobody).found
    assert connectors.particulier_call("prime_activite", context, identity=nobody).from_cache


def test_the_circuit_opens_after_repeated_failures_and_stops_calling() -> None:
    waits: list[float] = []
    exchange = transport.Transport("http://127.0.0.1:9", api="api_particulier", max_attempts=1, sleep=waits.append,
                                   breaker=domain.CircuitBreaker(threshold=3, cooldown=60))
    client = particulier.ApiParticulier(exchange, "t", "21920040500015")
    identity = domain.Identity("DURANT", ("PIERRE",), "M", None)
    context = domain.CallContext(purpose="test", actor="test")
    for _ in range(3):
        with pytest.raises(domain.ApiError) as failed:
            client.call("prime_activite", context, identity=identity)
        assert failed.value.code == "reseau"
    with pytest.raises(domain.ApiError) as stopped:
        client.call("prime_activite", context, identity=identity)
    assert stopped.value.code == "circuit_ouvert"


def test_rate_limit_headers_and_backoff() -> None:
    limit = domain.rate_limit({"RateLimit-Limit": "50", "RateLimit-Remaining": "3", "RateLimit-Reset": "1700000030"},
                              1_700_000_000)
    assert (limit.limit, limit.remaining, limit.reset_seconds) == (50, 3, 30)
    assert [domain.backoff(n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0] and domain.backoff(2, hint=7) == 7
    assert domain.backoff(9) == 30
