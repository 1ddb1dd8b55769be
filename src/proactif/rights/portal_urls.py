"""The citizen's page about their possible rights, reached through the signed link of the information."""

from django.urls import path

from proactif.rights import views

app_name = "droits-portail"
urlpatterns = [path("", views.portal, name="home")]
