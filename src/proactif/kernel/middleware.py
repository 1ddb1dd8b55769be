"""Request context: a request id, structured-log binding, request metrics."""

from __future__ import annotations

import ipaddress
import re
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
    """The address the request came from. Each of the `PROACTIF_TRUSTED_PROXIES` reverse proxies in front
    appends the address it received the request from to `X-Forwarded-For`, so the client is the N-th address
    from the right; whatever stands left of it was written by the client and is not believed (a rotating
    header would otherwise dodge login throttling and forge the address in the access log)."""
    from django.conf import settings

    remote = request.META.get("REMOTE_ADDR")
    hops = settings.TRUSTED_PROXIES
    if hops <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < hops:  # not through every proxy: only the connection's address is known
        return remote
    candidate = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id_from(header: str) -> str:
    """The caller's `X-Request-ID` when it is a plain token (it reaches logs and the DPO's CSV export),
    else a new one."""
    return header if REQUEST_ID.fullmatch(header) else uuid.uuid4().hex


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request.headers.get("X-Request-ID", ""))
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
