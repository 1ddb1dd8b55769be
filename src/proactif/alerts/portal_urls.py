"""The resident's "are you safe?" page, reached through the signed link of an alert."""

from django.urls import path

from proactif.alerts import views

app_name = "alertes-portail"
urlpatterns = [path("", views.reponse, name="reponse")]
