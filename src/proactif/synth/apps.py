from django.apps import AppConfig


class SynthConfig(AppConfig):
    name = "proactif.synth"
    label = "synth"
    verbose_name = "Commune synthétique"
