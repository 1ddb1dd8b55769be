from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "proactif.audit"
    label = "audit"
    verbose_name = "Journal des accès et RGPD"
