from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "proactif.api"
    label = "api"
    verbose_name = "API"
