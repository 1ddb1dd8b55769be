"""The synthetic commune generator: it fills the registry's tables (marked `synth`) and keeps, per household,
what it decided each one could claim and claims (the ground truth detection is measured against)."""

from proactif.kernel.capabilities import Capability, PersonalData
from proactif.synth import _gdpr as gdpr

CAPABILITY = Capability(
    name="synth", label="Commune synthétique",
    personal_data=PersonalData.handled_by("commune synthétique", ("synth.Entitlement",), gdpr),
)
