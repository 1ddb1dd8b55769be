from django.apps import AppConfig


class RightsConfig(AppConfig):
    name = "proactif.rights"
    label = "rights"
    verbose_name = "Accès aux droits"
