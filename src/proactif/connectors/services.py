"""The connectors as the rest of the platform uses them: configured clients, a per-person, per-month cache
(an answer describes a month: asking again within it tells nothing new), and a log row for every call —
from the cache or not — with its legal basis, purpose, recipient and actor.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from proactif.connectors import _impot as impot
from proactif.connectors import _particulier as particulier
from proactif.connectors import _transport as transport
from proactif.connectors import domain
from proactif.connectors.models import CachedAnswer, ConnectorCall
from proactif.kernel import clock

Identity = domain.Identity
CallContext = domain.CallContext
ApiError = domain.ApiError
LEGAL_BASIS_PROACTIVE = domain.LEGAL_BASIS_PROACTIVE
OPERATIONS = tuple(sorted(particulier.OPERATIONS))

_lock = threading.Lock()
_clients: dict[str, Any] = {}


def _client(name: str, build: Callable[[], Any]) -> Any:
    with _lock:
        if name not in _clients:
            _clients[name] = build()
        return _clients[name]


def _transport(url: str, api: str) -> transport.Transport:
    return transport.Transport(url, api=api, timeout=settings.CONNECTOR_TIMEOUT_MS / 1000)


def particulier_client() -> particulier.ApiParticulier:
    return _client("particulier", lambda: particulier.ApiParticulier(  # type: ignore[no-any-return]
        _transport(settings.API_PARTICULIER_URL, "api_particulier"), settings.API_PARTICULIER_TOKEN,
        settings.RECIPIENT_SIRET))


def impot_client() -> impot.ApiImpotParticulier:
    return _client("impot", lambda: impot.ApiImpotParticulier(  # type: ignore[no-any-return]
        _transport(settings.API_IMPOT_URL, "api_impot_particulier"), settings.API_IMPOT_TOKEN,
        settings.API_IMPOT_TELESERVICE))


def reset() -> None:
    """Forget the configured clients (after a settings change)."""
    with _lock:
        _clients.clear()


@dataclass(frozen=True)
class Result:
    """An answer (`found` False: the API knows nobody by that identity or identifier)."""

    found: bool
    data: dict[str, Any]
    from_cache: bool


def _log(api: str, operation: str, mode: str, context: CallContext, status: int, *, error: str = "",
         from_cache: bool = False, attempts: int = 1) -> None:
    ConnectorCall.objects.create(at=clock.now(), api=api, operation=operation, mode=mode, person_id=context.person_id,
                                 recipient=settings.RECIPIENT_SIRET, purpose=context.purpose[:60],
                                 legal_basis=context.legal_basis[:200], actor=context.actor[:254], status=status,
                                 error_code=error[:20], from_cache=from_cache, attempts=attempts)


def _cached(api: str, operation: str, subject: str, month: str, context: CallContext) -> CachedAnswer | None:
    cached = CachedAnswer.objects.filter(api=api, operation=operation, subject=subject, month=month,
                                         expires_at__gt=clock.now()).first()
    if cached is not None and cached.person_id is None and context.person_id is not None:
        # kept by a call made for nobody in particular: now known to be about this person (GDPR rights)
        CachedAnswer.objects.filter(pk=cached.pk, person_id__isnull=True).update(person_id=context.person_id)
    return cached


def _keep(api: str, operation: str, subject: str, month: str, status: int, data: dict[str, Any],
          context: CallContext) -> None:
    now = clock.now()
    fields = {"status": status, "data": data, "fetched_at": now,
              "expires_at": now + timedelta(days=settings.CONNECTOR_CACHE_DAYS)}
    if context.person_id is not None:  # a call for nobody in particular leaves a known person in place
        fields["person_id"] = context.person_id
    try:
        with transaction.atomic():
            CachedAnswer.objects.update_or_create(api=api, operation=operation, subject=subject, month=month,
                                                  defaults=fields)
    except IntegrityError:  # another worker kept the same answer meanwhile
        pass


def particulier_call(operation: str, context: CallContext, *, identity: Identity | None = None,
                     identifier: str | None = None, month: str | None = None, refresh: bool = False) -> Result:
    """An API Particulier answer about a person for a month (this month by default), from the cache when it
    holds one; a 404 (nobody) is an answer too, kept as such."""
    month = month or clock.today().strftime("%Y-%m")
    subject = identity.key() if identity is not None else f"id:{identifier}"
    mode = "identite" if identity is not None else "identifiant"
    if not refresh:
        cached = _cached("api_particulier", operation, subject, month, context)
        if cached is not None:
            _log("api_particulier", operation, mode, context, cached.status, from_cache=True)
            return Result(cached.status == 200, dict(cached.data), True)
    try:
        answer = particulier_client().call(operation, context, identity=identity, identifier=identifier,
                                           no_cache=refresh)
    except ApiError as error:
        _log("api_particulier", operation, mode, context, error.status, error=error.code)
        if error.not_found:
            _keep("api_particulier", operation, subject, month, 404, {}, context)
            return Result(False, {}, False)
        raise
    _log("api_particulier", operation, answer.mode, context, 200, attempts=answer.attempts)
    _keep("api_particulier", operation, subject, month, 200, answer.data, context)
    return Result(True, answer.data, False)


def tax_situation(spi: str, annrev: int, context: CallContext) -> impot.TaxSituation | None:
    """The tax household's situation for a year of income (cached like the others; None: unknown)."""
    subject, month = f"spi:{spi}", f"{annrev}-00"
    cached = _cached("api_impot_particulier", "situation_ir", subject, month, context)
    if cached is not None:
        _log("api_impot_particulier", "situation_ir", "spi", context, cached.status, from_cache=True)
        return impot.situation(cached.data, annrev) if cached.status == 200 else None
    try:
        found = impot_client().situation_ir(annrev, context, spi=spi)
    except ApiError as error:
        _log("api_impot_particulier", "situation_ir", "spi", context, error.status, error=error.code)
        if error.not_found:
            _keep("api_impot_particulier", "situation_ir", subject, month, 404, {}, context)
            return None
        raise
    _log("api_impot_particulier", "situation_ir", "spi", context, 200)
    _keep("api_impot_particulier", "situation_ir", subject, month, 200, found.raw, context)
    return found


def serve_sandbox(port: int | None = None, rate_limit: int = 600) -> Any:
    from proactif.connectors import _sandbox as sandbox

    return sandbox.serve(settings.SANDBOX_PORT if port is None else port, settings.SANDBOX_TOKEN, rate_limit)
