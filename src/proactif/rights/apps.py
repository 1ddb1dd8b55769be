from django.apps import AppConfig


class RightsConfig(AppConfig):
    name = "proactif.rights"
    label = "rights"
    verbose_name = "Accès aux droits"

    def ready(self) -> None:
        from proactif.rights import hooks

        hooks.connect()

    def install(self) -> None:
        from pathlib import Path

        from proactif.journeys import services as journeys
        from proactif.messaging import services as messaging

        messaging.load_templates(Path(__file__).parent / "messages.yaml")
        journeys.load_folder(Path(__file__).parent / "journeys")
