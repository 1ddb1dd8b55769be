from django.apps import AppConfig


class AssistConfig(AppConfig):
    name = "proactif.assist"
    label = "assist"
    verbose_name = "Site public et assistance aux habitants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from proactif.assist import _cms, _signals  # noqa: F401  (_signals indexes pages as they are published)

        _cms.native_date_widgets()
