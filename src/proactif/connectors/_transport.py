"""The HTTP exchange both APIs' clients share: retries of 429 and 502/503/504 with backoff (`Retry-After`
or `RateLimit-Reset` first), a circuit breaker, and a log line per call with why it was made — never what
it returned."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from proactif.connectors import domain
from proactif.kernel import clock
from proactif.kernel.logging import get_logger

log = get_logger(__name__)


class Transport:
    def __init__(self, base_url: str, *, api: str, timeout: float = 10.0, max_attempts: int = 4,
                 http: httpx.Client | None = None, sleep: Callable[[float], None] = time.sleep,
                 breaker: domain.CircuitBreaker | None = None):
        self.base_url = base_url.rstrip("/")
        self.api = api
        self.http = http or httpx.Client(timeout=timeout)
        self.max_attempts = max_attempts
        self.sleep = sleep
        self.breaker = breaker or domain.CircuitBreaker()
        self._lock = threading.Lock()

    def get(self, path: str, params: list[tuple[str, str]], headers: dict[str, str],
            context: domain.CallContext, operation: str) -> tuple[dict[str, Any], httpx.Headers, int]:
        attempt = 0
        while True:
            attempt += 1
            with self._lock:
                if not self.breaker.allows(time.monotonic()):
                    raise domain.ApiError(0, "circuit_ouvert", "API indisponible",
                                          f"{self.api} : trop d'échecs récents, appels suspendus")
            started = time.monotonic()
            try:
                response = self.http.get(f"{self.base_url}{path}", params=params, headers=headers)
            except httpx.HTTPError as exc:
                error = domain.ApiError(0, "reseau", "appel impossible", f"{type(exc).__name__}: {exc}"[:300])
                self._after(False, operation, context, 0, started, attempt, error.code)
                if attempt >= self.max_attempts:
                    raise error from None
                self.sleep(domain.backoff(attempt))
                continue
            limit = domain.rate_limit(dict(response.headers), clock.real_now().timestamp())
            if response.status_code == 200:
                self._after(True, operation, context, 200, started, attempt, "")
                return response.json(), response.headers, attempt
            retry_after = _retry_after(response.headers, limit)
            try:
                body = response.json()
            except ValueError:
                body = None
            error = domain.parse_error(response.status_code, body, retry_after)
            self._after(not error.temporary, operation, context, response.status_code, started, attempt, error.code)
            if not error.temporary or attempt >= self.max_attempts:
                raise error
            self.sleep(domain.backoff(attempt, hint=retry_after))

    def _after(self, ok: bool, operation: str, context: domain.CallContext, status: int, started: float,
               attempt: int, code: str) -> None:
        with self._lock:
            self.breaker.record(ok, time.monotonic())
        # Who, why and on what basis — never the content of the answer
        log.info("connector call", api=self.api, operation=operation, status=status, attempt=attempt,
                 error_code=code, purpose=context.purpose, legal_basis=context.legal_basis, actor=context.actor,
                 ms=round((time.monotonic() - started) * 1000))


def _retry_after(headers: httpx.Headers, limit: domain.RateLimit) -> float | None:
    value = headers.get("Retry-After")
    if value:
        try:
            return float(value)
        except ValueError:
            pass
    return limit.reset_seconds
