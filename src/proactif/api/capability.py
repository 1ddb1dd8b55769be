"""The HTTP API's root: it mounts the routers capabilities declare (see `proactif.api.urls`)."""

from proactif.kernel.capabilities import Capability, NoPersonalData

CAPABILITY = Capability(
    name="api", label="API",
    personal_data=NoPersonalData("la racine de l'API ne garde rien : chaque capacité déclare ses propres données"),
)
