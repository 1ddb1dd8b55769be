"""The /api/v1 root: every capability's router, mounted with the rule its declaration gives each operation.

An operation no declaration covers stops the start-up (ImproperlyConfigured): an API route is never open by
omission.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI

from proactif import __version__
from proactif.accounts.domain import AccessDenied
from proactif.api._auth import auth_for
from proactif.kernel import capabilities
from proactif.registry.domain import FieldError


def mount(api: NinjaAPI, routers: list[capabilities.ApiRouter]) -> NinjaAPI:
    """Add each router to `api`, each operation authenticated by its declared rule."""
    missing = capabilities.undeclared_operations((r.prefix, r.router, r.rules) for r in routers)
    if missing:
        raise ImproperlyConfigured("API operations without an access rule in their capability's declaration: "
                                   + ", ".join(missing))
    for declared in routers:
        for path_view in declared.router.path_operations.values():
            for operation in path_view.operations:
                callbacks = auth_for(declared.rules[operation.view_func])
                operation.auth_param = callbacks
                operation.auth_callbacks = callbacks or []
        api.add_router(declared.prefix, declared.router)
    return api


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
