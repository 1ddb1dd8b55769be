from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "proactif.alerts"
    label = "alerts"
    verbose_name = "Alertes"

    def ready(self) -> None:
        from proactif.alerts import hooks

        hooks.connect()

    def install(self) -> None:
        from pathlib import Path

        from proactif.messaging import services as messaging

        messaging.load_templates(Path(__file__).parent / "messages.yaml")
