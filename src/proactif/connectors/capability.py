"""Connectors to other administrations' APIs (API Particulier, API Impôt Particulier): the call log and the
answers kept for the month they describe."""

from proactif.connectors import _gdpr as gdpr
from proactif.kernel.capabilities import Capability, PersonalData

CAPABILITY = Capability(
    name="connectors", label="Connecteurs",
    personal_data=PersonalData.handled_by("connecteurs", ("connectors.ConnectorCall", "connectors.CachedAnswer"),
                                          gdpr),
)
