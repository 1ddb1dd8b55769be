from django.urls import path

from proactif.journeys import views

app_name = "journeys"
urlpatterns = [
    path("", views.journeys, name="list"),
    path("nouveau/", views.edit, name="new"),
    path("taches/", views.tasks, name="tasks"),
    path("suivi/<int:instance_id>/", views.instance, name="instance"),
    path("suivi/<int:instance_id>/intervention/", views.takeover, name="takeover"),
    path("<slug:key>/", views.journey, name="journey"),
    path("<slug:key>/modifier/", views.edit, name="edit"),
]
