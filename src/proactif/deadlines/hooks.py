"""How deadlines plug into messaging and journeys (registered at start-up)."""

from __future__ import annotations

from django.urls import reverse

from proactif.accounts.domain import Section


def connect() -> None:
    from proactif.deadlines import services
    from proactif.journeys import contexts as journey_contexts
    from proactif.kernel import simulation
    from proactif.messaging import context as message_context
    from proactif.messaging import services as messaging
    from proactif.registry import services as registry

    message_context.register("rendez_vous", "appointment_id", services.appointment_views)
    message_context.register("demande", "request_id", services.request_views)
    message_context.register_attachment("appointment_id", services.ics_attachment)
    journey_contexts.register("rendez_vous", services.journey_appointments)
    journey_contexts.register("retrait", services.collection_deadlines)
    messaging.register_link_target("deadlines.booking", lambda link: reverse("portal:home"))
    simulation.register_report("deadlines", services.figures)
    registry.register_panel(Section.DOCUMENTS, "Rendez-vous et demandes de titres", "deadlines/_person_panel.html",
                            services.person_panel)
