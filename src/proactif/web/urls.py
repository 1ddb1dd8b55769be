from django.urls import path

from proactif.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics_view, name="metrics"),
    path("identite.css", views.identity_css, name="identity_css"),
    path("identite/logo", views.logo, name="logo"),
    path("favicon.svg", views.favicon, name="favicon"),
    path("favicon.ico", views.favicon),
]
