from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "proactif.accounts"
    label = "accounts"
    verbose_name = "Comptes et services"
