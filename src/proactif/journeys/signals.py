"""Journeys listen to the events other capabilities publish (kernel.events)."""

from __future__ import annotations

from typing import Any

from proactif.kernel import events

EVENTS = ("link_clicked", "reply_received", "appointment_booked", "appointment_cancelled", "appointment_missed",
          "document_ready", "document_collected")


def _handler(event: str) -> Any:
    def handle(person_id: int, instance_id: int | None = None, **payload: Any) -> None:
        from proactif.journeys import services

        services.signal(event, person_id, instance_id=instance_id, payload=payload)
        services.start_for_event(event, person_id, subject_id=payload.get("subject_id"))

    return handle


def connect() -> None:
    for event in EVENTS:
        events.subscribe(event, _handler(event))
