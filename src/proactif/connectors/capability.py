"""Connectors to other administrations' APIs (API Particulier, API Impôt Particulier): the call log and the
answers kept for the month they describe."""

from proactif.connectors import _gdpr as gdpr
from proactif.kernel.capabilities import Capability, PersonalData

CAPABILITY = Capability(
    name="connectors", label="Connecteurs",
    personal_data=PersonalData("connecteurs", models=("connectors.ConnectorCall", "connectors.CachedAnswer"),
                               export=gdpr.export, plan_erasure=gdpr.plan_erasure, erase=gdpr.erase,
                               purge=gdpr.purge, wipe=gdpr.wipe),
)
