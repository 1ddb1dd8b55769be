from pathlib import Path

from django.apps import AppConfig


class DeadlinesConfig(AppConfig):
    name = "proactif.deadlines"
    label = "deadlines"
    verbose_name = "Échéances et titres"
    journeys_folder = Path(__file__).parent / "journeys"

    def ready(self) -> None:
        from proactif.audit import gdpr
        from proactif.deadlines import hooks
        from proactif.deadlines.gdpr import PROVIDER

        hooks.connect()
        gdpr.register(PROVIDER)

    def install(self) -> None:
        from proactif.deadlines import services
        from proactif.journeys import services as journeys
        from proactif.messaging import services as messaging

        messaging.load_templates(Path(__file__).parent / "messages.yaml")
        journeys.load_folder(self.journeys_folder)
        services.ensure_default_counter()
