from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "proactif.messaging"
    label = "messaging"
    verbose_name = "Messages"
