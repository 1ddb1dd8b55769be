from django.urls import path

from proactif.rights import views

app_name = "rights"
urlpatterns = [
    path("", views.runs, name="runs"),
    path("criblages/<int:run_id>/", views.run, name="run"),
    path("criblages/<int:run_id>/informer/", views.inform, name="inform"),
    path("criblages/<int:run_id>/foyers/<int:household_id>/", views.household, name="household"),
    path("accompagnements/", views.outreaches, name="outreaches"),
    path("accompagnements/<int:outreach_id>/recapitulatif.pdf", views.claim_summary, name="claim_summary"),
]
