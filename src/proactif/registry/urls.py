from django.urls import path

from proactif.registry import views

app_name = "registry"
urlpatterns = [
    path("", views.search, name="search"),
    path("<int:person_id>/", views.person, name="person"),
    path("<int:person_id>/consentement/", views.record_consent, name="record_consent"),
    path("doublons/", views.duplicates, name="duplicates"),
    path("doublons/<int:suggestion_id>/", views.duplicate, name="duplicate"),
    path("fusions/<int:merge_id>/annuler/", views.unmerge, name="unmerge"),
    path("imports/", views.imports, name="imports"),
    path("imports/<int:run_id>/", views.import_run, name="import_run"),
]
