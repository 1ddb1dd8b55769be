from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "proactif.messaging"
    label = "messaging"
    verbose_name = "Messages"

    def ready(self) -> None:
        from proactif.audit import gdpr
        from proactif.messaging.gdpr import PROVIDER

        gdpr.register(PROVIDER)
        from proactif.kernel import simulation
        from proactif.messaging import services

        simulation.register_report("messages", services.simulation_report)

    def alongside(self, simulation: bool = False) -> bool:
        """The built-in sinks, when PROACTIF_SINKS is on. In a simulation receipts are applied after each step
        in the simulation's thread (one writer for SQLite); a port already taken (a demo server running) means
        its sinks receive the messages."""
        from django.conf import settings

        from proactif.kernel.logging import get_logger
        from proactif.messaging import providers, sinks

        if not settings.SINKS:
            return False
        try:
            running = sinks.start(settings.SINK_HTTP_PORT, settings.SINK_SMTP_PORT,
                                  receipts="manual" if simulation else "http")
        except OSError as exc:
            get_logger(__name__).warning("sinks not started: port in use", error=str(exc))
            return False
        providers.reset()
        if simulation:
            from proactif.kernel import simulation as simulations

            simulations.register_step_hook(running.pump)
        return True

    def stop_alongside(self) -> None:
        from proactif.messaging import sinks

        running = sinks.running()
        if running is not None:
            running.drain()
            sinks.stop()

    def install(self) -> None:
        from pathlib import Path

        from proactif.messaging import services

        services.load_templates(Path(__file__).parent / "messages.yaml")
