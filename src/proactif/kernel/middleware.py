"""Request context: a request id, structured-log binding, request metrics."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

import structlog
from django.http import HttpRequest, HttpResponse

from proactif.kernel import metrics


@dataclass(frozen=True)
class RequestMeta:
    request_id: str
    ip: str | None


current_request: ContextVar[RequestMeta | None] = ContextVar("current_request", default=None)


def client_ip(request: HttpRequest) -> str | None:
    from django.conf import settings

    if settings.HTTPS:  # behind the reverse proxy that terminates TLS
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR")


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if 8 <= len(incoming) <= 64 and incoming.isascii() else uuid.uuid4().hex
        token = current_request.set(RequestMeta(request_id, client_ip(request)))
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.monotonic()
        try:
            response = self.get_response(request)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
            current_request.reset(token)
        metrics.HTTP_SECONDS.observe(time.monotonic() - started)
        metrics.HTTP_REQUESTS.labels(method=request.method, status=str(response.status_code)).inc()
        response["X-Request-ID"] = request_id
        return response
