from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "proactif.web"
    label = "web"
    verbose_name = "Interface"
