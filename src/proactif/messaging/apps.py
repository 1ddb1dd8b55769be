from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "proactif.messaging"
    label = "messaging"
    verbose_name = "Messages"

    def ready(self) -> None:
        """The templates' rendering limits come from the settings (PROACTIF_TEMPLATE_RENDER_MS, …_MAX_OUTPUT_KB)."""
        from django.conf import settings

        from proactif.messaging import _templating

        _templating.configure_limits(_templating.Limits(settings.TEMPLATE_RENDER_MS / 1000,
                                                        settings.TEMPLATE_MAX_OUTPUT_KB * 1024))
