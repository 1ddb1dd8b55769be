from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "proactif.registry"
    label = "registry"
    verbose_name = "Registre des habitants"

    def ready(self) -> None:
        from proactif.audit import gdpr
        from proactif.registry.gdpr import PROVIDER

        gdpr.register(PROVIDER)
