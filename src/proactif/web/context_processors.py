from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def identity(request: HttpRequest) -> dict[str, Any]:
    from proactif.web._navigation import navigation_for

    return {
        "collectivite": settings.COLLECTIVITE_NAME,
        "collectivite_tagline": settings.COLLECTIVITE_TAGLINE,
        "collectivite_phone": settings.COLLECTIVITE_PHONE,
        "collectivite_logo": bool(settings.COLLECTIVITE_LOGO),
        "state_identity": settings.STATE_IDENTITY,
        "agent_page": bool(getattr(getattr(request, "user", None), "is_authenticated", False)),
        "navigation": navigation_for(request),
    }
