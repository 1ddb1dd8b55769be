from django.urls import include, path

from proactif.api.urls import api
from proactif.messaging.views import open_link

urlpatterns = [
    path("", include("proactif.web.urls")),
    path("", include("proactif.accounts.urls")),
    path("habitants/", include("proactif.registry.urls")),
    path("dpo/", include("proactif.audit.urls")),
    path("parcours/", include("proactif.journeys.urls")),
    path("messages/", include("proactif.messaging.urls")),
    path("rendez-vous/", include("proactif.deadlines.urls")),
    path("l/<str:token>", open_link, name="citizen_link"),
    path("demarches/titres/", include("proactif.deadlines.portal_urls")),
    path("api/v1/", api.urls),
]
