from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "proactif.accounts"
    label = "accounts"
    verbose_name = "Comptes et services"

    def install(self) -> None:
        from proactif.accounts import services

        services.ensure_default_services()
