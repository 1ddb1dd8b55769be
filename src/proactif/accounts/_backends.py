from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from proactif.accounts.models import Agent


class AgentBackend:
    """Session backend. Password checks go through `services.authenticate_agent` (throttling and
    lockout); this backend only restores the agent of a session."""

    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> Agent | None:
        return None

    def get_user(self, user_id: int) -> Agent | None:
        return Agent.objects.select_related("service").filter(pk=user_id, is_active=True).first()
