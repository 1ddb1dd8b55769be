"""The URL configuration: the pages each capability declares (each with its access rule), and the API."""

from proactif.api.urls import urlpatterns as api_urlpatterns
from proactif.kernel import capabilities

urlpatterns = [*capabilities.urlpatterns(), *api_urlpatterns()]
