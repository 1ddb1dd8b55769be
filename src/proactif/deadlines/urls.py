from django.urls import path

from proactif.deadlines import views

app_name = "deadlines"
urlpatterns = [
    path("", views.agenda, name="agenda"),
    path("<int:appointment_id>/", views.appointment_action, name="appointment"),
    path("<int:appointment_id>.ics", views.agent_ics, name="agent_ics"),
    path("reserver/", views.agent_booking, name="agent_booking"),
    path("titres/", views.titles, name="titles"),
    path("guichets/", views.counters, name="counters"),
]
