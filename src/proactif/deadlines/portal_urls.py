"""The citizen portal, reached through a signed link (/l/<token>) and remembered in the browser session."""

from django.urls import path

from proactif.deadlines import views

app_name = "portal"
urlpatterns = [
    path("", views.portal, name="home"),
    path("annuler/", views.portal_cancel, name="cancel"),
    path("<int:appointment_id>.ics", views.portal_ics, name="ics"),
]
