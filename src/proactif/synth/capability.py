"""The synthetic commune generator: it fills the registry's tables (marked `synth`), holding nothing itself."""

from proactif.kernel.capabilities import Capability, NoPersonalData

CAPABILITY = Capability(
    name="synth", label="Commune synthétique",
    personal_data=NoPersonalData("les habitants synthétiques sont dans les tables du registre ; le générateur ne "
                                 "garde rien"),
)
