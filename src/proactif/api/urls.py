from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI

from proactif import __version__
from proactif.accounts.api_auth import AgentSessionAuth, ApiKeyAuth
from proactif.accounts.domain import AccessDenied
from proactif.alerts.api import router as alerts_router
from proactif.audit.api import router as audit_router
from proactif.journeys.api import router as journeys_router
from proactif.messaging.api import router as messaging_router
from proactif.registry.api import router as registry_router
from proactif.registry.domain import FieldError

api = NinjaAPI(
    title="Proactif API", version=__version__, urls_namespace="api-1.0.0",
    description="Registre des habitants, consentements, journal des accès, parcours, alertes. Toute lecture de "
                "données "
                "personnelles est journalisée avec la finalité invoquée (paramètre `purpose`).",
    auth=[ApiKeyAuth(), AgentSessionAuth()], docs_url="/docs",
)
api.add_router("/", registry_router)
api.add_router("/audit", audit_router)
api.add_router("/messaging", messaging_router)
api.add_router("/journeys", journeys_router)
api.add_router("/alerts", alerts_router)


@api.exception_handler(FieldError)
def field_error(request: HttpRequest, exc: FieldError) -> HttpResponse:
    return api.create_response(request, {"detail": [{"loc": ["body", exc.field], "msg": exc.reason}]}, status=400)


@api.exception_handler(AccessDenied)
def access_denied(request: HttpRequest, exc: AccessDenied) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=403)


@api.exception_handler(ObjectDoesNotExist)
def not_found(request: HttpRequest, exc: ObjectDoesNotExist) -> HttpResponse:
    return api.create_response(request, {"detail": "ressource introuvable"}, status=404)
