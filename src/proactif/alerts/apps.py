from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "proactif.alerts"
    label = "alerts"
    verbose_name = "Alertes"
