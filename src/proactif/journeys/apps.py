from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "proactif.journeys"
    label = "journeys"
    verbose_name = "Parcours"

    def ready(self) -> None:
        from proactif.audit import gdpr
        from proactif.journeys import signals
        from proactif.journeys.gdpr import PROVIDER

        signals.connect()
        gdpr.register(PROVIDER)
        from proactif.accounts.domain import Section
        from proactif.journeys import services
        from proactif.kernel import simulation
        from proactif.registry import services as registry

        simulation.register_report("journeys", services.simulation_report)
        registry.register_panel(Section.PARCOURS, "Parcours et messages", "journeys/_person_panel.html",
                                services.person_panel)
