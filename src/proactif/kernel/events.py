"""In-process events between capabilities that must not import each other.

A lower capability publishes (`messaging` publishes "reply_received"; `deadlines` publishes
"appointment_booked"); a higher one subscribes in its AppConfig.ready (`journeys` resumes the instances
waiting for it). Subscribers run synchronously, in the publisher's transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

_subscribers: dict[str, list[Callable[..., Any]]] = defaultdict(list)


def subscribe(event: str, handler: Callable[..., Any]) -> None:
    if handler not in _subscribers[event]:
        _subscribers[event].append(handler)


def publish(event: str, **payload: Any) -> int:
    """Call every subscriber of `event`; returns how many there were."""
    handlers = list(_subscribers.get(event, ()))
    for handler in handlers:
        handler(**payload)
    return len(handlers)
