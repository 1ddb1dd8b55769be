"""Reference data every installation needs (services, shipped templates and journeys, a counter), set up by
each capability's `AppConfig.install()` — idempotent, run after the migrations by every command."""

from __future__ import annotations


def install() -> list[str]:
    from django.apps import apps

    done = []
    for config in apps.get_app_configs():
        if config.name.startswith("proactif.") and hasattr(config, "install"):
            config.install()
            done.append(config.label)
    return done


def start_alongside(simulation: bool = False) -> list[str]:
    """Start what runs next to the server or a simulation in this process (the built-in sinks…): each
    capability's `AppConfig.alongside(simulation)`, when it has one."""
    from django.apps import apps

    started = []
    for config in apps.get_app_configs():
        if config.name.startswith("proactif.") and hasattr(config, "alongside") and config.alongside(simulation):
            started.append(config.label)
    return started


def stop_alongside() -> None:
    from django.apps import apps

    for config in apps.get_app_configs():
        if config.name.startswith("proactif.") and hasattr(config, "stop_alongside"):
            config.stop_alongside()
