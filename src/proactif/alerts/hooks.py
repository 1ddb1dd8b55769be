"""How alerts plug into messaging at start-up: the `alerte` namespace of templates, the resident's "are you
safe?" link, and SMS replies (OK / AIDE)."""

from __future__ import annotations

from django.urls import reverse


def connect() -> None:
    from proactif.alerts import services
    from proactif.kernel import events
    from proactif.messaging import context as message_context
    from proactif.messaging import services as messaging

    message_context.register("alerte", "alerte_message_id", services.message_views)
    messaging.register_link_target(services.LINK_PURPOSE, lambda link: reverse("alertes-portail:reponse"))
    events.subscribe("reply_received", services.on_reply)
