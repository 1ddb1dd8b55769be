"""In-process events between capabilities that must not import each other.

The capability where something happens to a person publishes it (`messaging` publishes "reply_received",
`deadlines` "appointment_booked"); every event is declared by its publisher, and the capabilities that
react to it declare a listener (`journeys` resumes the instances waiting for it). Listeners run
synchronously, in the publisher's transaction. Publishing an undeclared event is an error, never a silent
drop.
"""

from __future__ import annotations

from typing import Any

from proactif.kernel import capabilities


class UnknownEvent(LookupError):
    pass


def publish(event: str, *, person_id: int, instance_id: int | None = None, **payload: Any) -> int:
    """Call every listener of `event`; returns how many there were."""
    if event not in capabilities.events():
        raise UnknownEvent(f"event {event!r} is declared by no capability")
    handlers = capabilities.listeners(event)
    for handler in handlers:
        handler(event, person_id, instance_id=instance_id, **payload)
    return len(handlers)
