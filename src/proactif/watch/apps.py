from django.apps import AppConfig


class WatchConfig(AppConfig):
    name = "proactif.watch"
    label = "watch"
    verbose_name = "Veille des personnes vulnérables"
    default_auto_field = "django.db.models.BigAutoField"
