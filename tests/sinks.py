"""The real built-in sinks (SMTP server, HTTP SMS and push providers) on free ports, with receipts applied
in the test's own thread, and people of the seeded commune reachable on the channels a test needs."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from proactif.accounts.domain import access_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sinks(settings: Any, tmp_path: Any) -> Iterator[Any]:
    from proactif.messaging import _providers as providers
    from proactif.messaging import _sinks as sink_module

    http_port, smtp_port = free_port(), free_port()
    settings.SINK_HTTP_PORT, settings.SINK_SMTP_PORT = http_port, smtp_port
    settings.SMTP_HOST, settings.SMTP_PORT = "127.0.0.1", smtp_port
    settings.SMS_TIMEOUT_MS = 800
    settings.LETTERS_DIR = tmp_path / "letters"
    settings.SMS_PROVIDERS = json.dumps([
        {"name": "sms-a", "format": "json", "url": f"http://127.0.0.1:{http_port}/sms/json", "weight": 70,
         "token": "tok-a", "secret": "secret-a"},
        {"name": "sms-b", "format": "form", "url": f"http://127.0.0.1:{http_port}/sms/form", "weight": 30,
         "token": "tok-b", "secret": "secret-b"}])
    sink_module.stop()
    providers.reset()
    running = sink_module.start(http_port, smtp_port, receipts="manual")
    yield running
    sink_module.stop()
    providers.reset()


def fault(sinks: Any, provider: str, *, status: int = 0, delay: float = 0.0, count: int = 1) -> None:
    """Make a sink provider answer `status` (or stall `delay` seconds) for its next `count` requests."""
    import httpx

    httpx.post(f"{sinks.http_url}/_control", json={"provider": provider, "status": status, "delay": delay,
                                                   "count": count}).raise_for_status()


def reachable_person(agents: dict[str, Any], channels: tuple[str, ...] = ("sms", "email"),
                     purpose: str = "rappels_echeances", skip: int = 0) -> Any:
    """A resident with every channel in `channels` reachable, consents granted for `purpose`."""
    from proactif.registry import services as registry
    from proactif.registry.models import Person

    wanted = {"sms": "phone", "email": "email"}
    query = Person.objects.filter(status="active", source="synth")
    for channel in channels:
        if channel in wanted:
            query = query.filter(contacts__kind=wanted[channel], contacts__status="active")
    candidates = list(query.distinct().order_by("id").values_list("id", flat=True)[:200])
    from proactif.accounts import services as accounts

    access = access_for(accounts.actor_for_agent(agents["etat_civil"]))
    found = 0
    for person_id in candidates:
        reach = registry.reachable([person_id], purpose)[person_id]
        if not all(reach.addresses.get(c) for c in channels):
            continue
        if found < skip:
            found += 1
            continue
        registry.record_consent(access, person_id, purpose=purpose, channel="*", decision="granted", source="guichet",
                                text_version="test")
        return registry.reachable([person_id], purpose)[person_id]
    raise AssertionError(f"no resident reachable on {channels}")
