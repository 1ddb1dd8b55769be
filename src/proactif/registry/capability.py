"""The registry: people, households, addresses, contacts, preferences, consents, documents; imports and the
resolution of duplicates."""

from proactif.accounts.domain import OPERATIONAL_PURPOSES, PURPOSES, REGISTRY_KEEPERS, Role, Section
from proactif.kernel.capabilities import (
    ApiRouter,
    Capability,
    Channel,
    Nav,
    Pages,
    PersonalData,
    Scope,
    agent,
    api,
    route,
)
from proactif.registry import _gdpr as gdpr
from proactif.registry import api as registry_api
from proactif.registry import views

RESIDENTS = agent(*OPERATIONAL_PURPOSES, personal=True)
# Registry writes (imports, merges): the services that keep the registry, as responsables, and the
# administrator (whose role brings the purpose "tenue du registre")
KEEPERS = agent(*REGISTRY_KEEPERS, roles=[Role.RESPONSABLE, Role.ADMIN], personal=True)

CAPABILITY = Capability(
    name="registry", label="Registre des habitants",
    personal_data=PersonalData.handled_by(
        "registre", ("registry.Person", "registry.Household", "registry.Famille", "registry.FoyerFiscal",
                     "registry.PersonAlias", "registry.ContactPoint", "registry.ChannelPreference", "registry.Consent",
                     "registry.OptOut", "registry.Document", "registry.Resource", "registry.BenefitReceipt",
                     "registry.MonthlyResource", "registry.BenefitPayment", "registry.Merge",
                     "registry.MergeSuggestion", "registry.ImportRejection"),
        gdpr, subjects=("registry.Person", "registry.Household"),
        fields=("registry.ImportRejection.reason",)),  # a rejected line's reason quotes the value
    pages=(Pages("habitants/", "registry", (
        route("", views.search, RESIDENTS, "search"),
        route("<int:person_id>/", views.person, RESIDENTS, "person"),
        route("<int:person_id>/consentement/", views.record_consent, RESIDENTS, "record_consent"),
        route("doublons/", views.duplicates, KEEPERS, "duplicates"),
        route("doublons/<int:suggestion_id>/", views.duplicate, KEEPERS, "duplicate"),
        route("fusions/<int:merge_id>/annuler/", views.unmerge, KEEPERS, "unmerge"),
        route("imports/", views.imports, KEEPERS, "imports"),
        route("imports/<int:run_id>/", views.import_run, KEEPERS, "import_run"),
        route("imports/exemple-<slug:kind>.csv", views.import_sample, KEEPERS, "import_sample"),
    )),),
    api=ApiRouter("/", registry_api.router, {
        registry_api.search: api("registry:read", personal=True),
        registry_api.person: api("registry:read", personal=True),
        registry_api.record_consent: api("registry:write"),
        registry_api.add_opt_out: api("registry:write"),
        registry_api.import_file: api("registry:write"),
    }),
    scopes=(
        Scope("registry:read", "Lire le registre (recherche, fiches)",
              frozenset(code for code, p in PURPOSES.items() if Section.IDENTITE in p.sections)),
        Scope("registry:write", "Écrire dans le registre (import, consentements, oppositions)",
              frozenset({"etat_civil", "action_sociale"})),
    ),
    nav=(Nav("Habitants", "registry:search", 10), Nav("Doublons", "registry:duplicates", 60),
         Nav("Imports", "registry:imports", 61)),
    channels=(Channel("phone", "appel téléphonique", sent=False),),
)
