from django.apps import AppConfig


class DeadlinesConfig(AppConfig):
    name = "proactif.deadlines"
    label = "deadlines"
    verbose_name = "Échéances et titres"
