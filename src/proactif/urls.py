from django.urls import include, path

from proactif.api.urls import api

urlpatterns = [
    path("", include("proactif.web.urls")),
    path("", include("proactif.accounts.urls")),
    path("habitants/", include("proactif.registry.urls")),
    path("dpo/", include("proactif.audit.urls")),
    path("api/v1/", api.urls),
]
