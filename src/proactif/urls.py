from django.urls import include, path

from proactif.api.urls import api
from proactif.messaging.views import open_link, push_key, push_subscribe, service_worker

urlpatterns = [
    path("", include("proactif.web.urls")),
    path("", include("proactif.accounts.urls")),
    path("habitants/", include("proactif.registry.urls")),
    path("dpo/", include("proactif.audit.urls")),
    path("parcours/", include("proactif.journeys.urls")),
    path("messages/", include("proactif.messaging.urls")),
    path("rendez-vous/", include("proactif.deadlines.urls")),
    path("droits/", include("proactif.rights.urls")),
    path("alertes/", include("proactif.alerts.urls")),
    path("l/<str:token>", open_link, name="citizen_link"),
    path("notifications/cle/", push_key, name="push_key"),
    path("notifications/abonnement/", push_subscribe, name="push_subscribe"),
    path("notifications/sw.js", service_worker, name="service_worker"),
    path("demarches/titres/", include("proactif.deadlines.portal_urls")),
    path("demarches/droits/", include("proactif.rights.portal_urls")),
    path("demarches/alerte/", include("proactif.alerts.portal_urls")),
    path("api/v1/", api.urls),
]
