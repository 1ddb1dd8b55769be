from django.urls import path

from proactif.audit import views

app_name = "audit"
urlpatterns = [
    path("journal/", views.log, name="log"),
    path("journal.csv", views.log_csv, name="log_csv"),
    path("droits/", views.rights, name="rights"),
]
