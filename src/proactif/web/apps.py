from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "proactif.web"
    label = "web"
    verbose_name = "Interface"

    def ready(self) -> None:
        from django.conf import settings

        from proactif.web import _plurals

        _plurals.install(settings.LANGUAGE_CODE)
