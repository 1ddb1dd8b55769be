from datetime import timedelta

from django.apps import AppConfig


class KernelConfig(AppConfig):
    name = "proactif.kernel"
    label = "kernel"
    verbose_name = "Noyau"

    def ready(self) -> None:
        from django.conf import settings

        from proactif.kernel import clock, lookups  # noqa: F401 (registers `__any`)

        clock.configure_time_zone(settings.TIME_ZONE)
        if settings.SIMULATED_CLOCK:
            clock.install_offset_provider(_persisted_offset)
        from django.core import checks

        checks.register(_declarations_check, "proactif")


def _declarations_check(app_configs: object = None, **kwargs: object) -> list[object]:
    """`proactif check` (and Django's system checks): every route has an access rule, every table about people
    a GDPR handling, every declared table and field exists."""
    from django.core import checks

    from proactif.kernel import capabilities

    return [checks.Error(problem, id="proactif.E001") for problem in capabilities.check_declarations()]


_table_ready = False


def _persisted_offset() -> timedelta:
    """The offset `proactif simulate` left in the database (0 before the first migration)."""
    global _table_ready
    from django.db import connection

    from proactif.kernel.models import ClockState

    if not _table_ready:
        # Checked without raising, so that a missing table never aborts the caller's transaction.
        _table_ready = ClockState._meta.db_table in connection.introspection.table_names()
        if not _table_ready:
            return timedelta(0)
    row = ClockState.objects.filter(pk=1).values_list("offset_seconds", flat=True).first()
    return timedelta(seconds=row or 0)
