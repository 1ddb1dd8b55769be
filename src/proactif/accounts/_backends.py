from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from proactif.accounts.models import Agent


class AgentBackend(ModelBackend):
    """Session backend. Password checks go through `services.authenticate_agent` (throttling and
    lockout); this backend only restores the agent of a session. Django's permissions (`ModelBackend`'s groups
    and permissions) serve only the public website's CMS: the platform's own pages are opened by purposes and
    roles (`web._access`)."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None, password: str | None = None,
                     **credentials: Any) -> Agent | None:
        return None

    def get_user(self, user_id: int) -> Agent | None:
        return Agent.objects.select_related("service").filter(pk=user_id, is_active=True).first()
