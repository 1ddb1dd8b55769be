from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "proactif.messaging"
    label = "messaging"
    verbose_name = "Messages"

    def ready(self) -> None:
        from proactif.audit import gdpr
        from proactif.messaging.gdpr import PROVIDER

        gdpr.register(PROVIDER)
