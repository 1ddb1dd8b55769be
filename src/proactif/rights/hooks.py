"""How rights plug into messaging (the `droits` namespace, the citizen's link) at start-up."""

from __future__ import annotations

from django.urls import reverse

LINK_PURPOSE = "rights.reponse"


def connect() -> None:
    from proactif.audit import gdpr
    from proactif.messaging import context as message_context
    from proactif.messaging import services as messaging
    from proactif.rights import services
    from proactif.rights.gdpr import PROVIDER

    message_context.register("droits", "outreach_id", services.outreach_views)
    messaging.register_link_target(LINK_PURPOSE, lambda link: reverse("droits-portail:home"))
    gdpr.register(PROVIDER)
