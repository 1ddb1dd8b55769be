from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "proactif.registry"
    label = "registry"
    verbose_name = "Registre des habitants"
