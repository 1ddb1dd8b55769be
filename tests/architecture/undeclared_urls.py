"""A URL configuration with a route added beside the declarations: the route walk and the access middleware
must both catch it (tests/architecture/test_declarations.py)."""

from django.http import HttpResponse
from django.urls import path

from proactif.urls import urlpatterns as declared


def leak(request: object) -> HttpResponse:
    return HttpResponse("données personnelles")


urlpatterns = [*declared, path("fuite/", leak, name="fuite")]
