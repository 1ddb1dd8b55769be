from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "proactif.connectors"
    label = "connectors"
    verbose_name = "Connecteurs"
