from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "proactif.journeys"
    label = "journeys"
    verbose_name = "Parcours"
