from django.urls import path

from proactif.alerts import views

app_name = "alerts"
urlpatterns = [
    path("", views.home, name="home"),
    path("compter/", views.count, name="count"),
    path("rues/", views.streets, name="streets"),
    path("couches/<str:name>.json", views.layers, name="layer"),
    path("fond.pmtiles", views.basemap, name="basemap"),
    path("envoyer/", views.create, name="create"),
    path("<int:incident_id>/", views.incident, name="incident"),
    path("<int:incident_id>/cap/<int:seq>.xml", views.cap, name="cap"),
    path("flux.atom", views.atom, name="atom"),
]
