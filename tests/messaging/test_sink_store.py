"""The sinks' store keeps what it received when a write fails (the database restarting) and writes it with
what arrived meanwhile at the next flush: nothing received is dropped, submissions add up."""

from __future__ import annotations

import pytest
from django.db import OperationalError, transaction

from proactif.messaging._sinks.store import Received, SinkStore
from proactif.messaging.models import SinkMessage

pytestmark = pytest.mark.django_db


def test_a_failed_write_keeps_the_batch_for_the_next_flush(monkeypatch) -> None:
    store = SinkStore(interval=None)
    store.record(Received("sms", "sms-a", "store-1", "+33600000001", "", "un"))
    store.record(Received("sms", "sms-a", "store-2", "+33600000002", "", "deux"))

    def away(*args: object, **kwargs: object) -> object:
        raise OperationalError("the connection is closed")

    with monkeypatch.context() as patch:
        patch.setattr(transaction, "atomic", away)
        with pytest.raises(OperationalError):
            store.flush()
    assert store.stats()["pending"] == 2
    store.record(Received("sms", "sms-a", "store-1", "+33600000001", "", "un"))  # submitted again meanwhile
    assert store.flush() == 2
    written = dict(SinkMessage.objects.filter(idempotency_key__startswith="store-").values_list(
        "idempotency_key", "submissions"))
    assert written == {"store-1": 2, "store-2": 1}
    assert store.stats()["pending"] == 0
