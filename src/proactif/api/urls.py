"""The /api/v1 root: every capability's router, mounted with the rule its declaration gives each operation.

An operation no declaration covers stops the start-up (ImproperlyConfigured): an API route is never open by
omission.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.params.models import BodyModel

from proactif import __version__
from proactif.accounts.domain import AccessDenied
from proactif.api._auth import auth_for
from proactif.kernel import capabilities
from proactif.kernel.apischema import Input
from proactif.registry.domain import FieldError


class ErrorOut(Schema):
    """Every error answer: what went wrong, or for invalid input one entry per field (`loc`: where, `msg`: why)."""

    detail: str | list[dict[str, Any]]


def error_statuses(rule: capabilities.Rule) -> tuple[int, ...]:
    """The error statuses an operation may answer, from its rule: every operation refuses bad input (400, 422)
    and unknown ids (404); a scoped one a missing key (401) or scope (403); a webhook a bad signature (401)."""
    statuses = (400, 404, 422)
    if isinstance(rule, capabilities.ApiRule):
        statuses += (401, 403)
    elif isinstance(rule, capabilities.WebhookRule):
        statuses += (401,)
    return tuple(sorted(statuses))


def mount(api: NinjaAPI, routers: list[capabilities.ApiRouter]) -> NinjaAPI:
    """Add each router to `api`, each operation authenticated by its declared rule and documenting the error
    statuses that rule and the platform's handlers can answer (so the OpenAPI declares every status)."""
    missing = capabilities.undeclared_operations((r.prefix, r.router, r.rules) for r in routers)
    if missing:
        raise ImproperlyConfigured("API operations without an access rule in their capability's declaration: "
                                   + ", ".join(missing))
    loose = [f"{r.prefix}{path} ({body.__name__})" for r in routers for path, view in r.router.path_operations.items()
             for op in view.operations for body in _bodies(op) if not issubclass(body, Input)]
    if loose:
        raise ImproperlyConfigured("API bodies not built on kernel.apischema.Input (which refuses a body that is not "
                                   "a JSON object): " + ", ".join(loose))
    for declared in routers:
        for path_view in declared.router.path_operations.values():
            for operation in path_view.operations:
                rule = declared.rules[operation.view_func]
                callbacks = auth_for(rule)
                operation.auth_param = callbacks
                operation.auth_callbacks = callbacks or []
                for status in error_statuses(rule):
                    operation.response_models.setdefault(status, operation._create_response_model(ErrorOut))
                if isinstance(rule, capabilities.ApiRule):  # the scope a key needs, for clients and tools
                    operation.openapi_extra = {**(operation.openapi_extra or {}), "x-scope": rule.scope}
        api.add_router(declared.prefix, declared.router)
    return api


def _bodies(operation: Any) -> list[type]:
    """The schemas of an operation's JSON body parameters."""
    return [f.annotation for model in operation.models if issubclass(model, BodyModel)
            for f in model.model_fields.values() if isinstance(f.annotation, type) and issubclass(f.annotation, Schema)]


def build() -> NinjaAPI:
    api = NinjaAPI(
        title="Proactif API", version=__version__, urls_namespace="api-1.0.0", docs_url="/docs",
        description="Registre des habitants, consentements, journal des accès, parcours, alertes. Toute lecture de "
                    "données personnelles est journalisée avec la finalité invoquée (paramètre `purpose`). "
                    "Chaque opération indique la portée qu'elle demande ; une clé de test n'atteint que les "
                    "habitants synthétiques.")

    @api.exception_handler(FieldError)
    def field_error(request: HttpRequest, exc: FieldError) -> HttpResponse:
        return api.create_response(request, {"detail": [{"loc": ["body", exc.field], "msg": exc.reason}]},
                                   status=400)

    @api.exception_handler(AccessDenied)
    def access_denied(request: HttpRequest, exc: AccessDenied) -> HttpResponse:
        return api.create_response(request, {"detail": str(exc)}, status=403)

    @api.exception_handler(ObjectDoesNotExist)
    def not_found(request: HttpRequest, exc: ObjectDoesNotExist) -> HttpResponse:
        return api.create_response(request, {"detail": "ressource introuvable"}, status=404)

    return mount(api, capabilities.api_routers())


# The contract and its browsable documentation are for the agents and integrators of the collectivité, not the
# whole internet (they map every operation an attacker could try); partners get the OpenAPI file from them.
CONTRACT = capabilities.agent()
OPERATIONS = ("api", "chaque opération applique la règle que sa capacité déclare")


def urlpatterns() -> list[Any]:
    """The API's URL patterns, each tagged for the route walk and the access middleware."""
    from django.urls import include, path

    patterns, app_name, namespace = build().urls
    for pattern in patterns:
        rule = CONTRACT if pattern.name in ("openapi-json", "openapi-view") else OPERATIONS
        pattern.callback.access_rule = rule
    return [path("api/v1/", include((patterns, app_name), namespace=namespace))]
