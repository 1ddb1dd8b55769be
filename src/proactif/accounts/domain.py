"""Purpose-bound access: services, purposes (finalités), roles and the sections of a person's file.

An agent reaches a person's data only through a purpose of their service; each purpose opens a set
of sections of the file. Health-related sections open only to health purposes (GDPR art. 9).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class Section(StrEnum):
    IDENTITE = "identite"
    FOYER = "foyer"
    ADRESSES = "adresses"
    CONTACTS = "contacts"
    PREFERENCES = "preferences"
    CONSENTEMENTS = "consentements"
    DOCUMENTS = "documents"
    RESSOURCES = "ressources"
    PRESTATIONS = "prestations"
    VULNERABILITE = "vulnerabilite"
    VEILLE = "veille"
    PARCOURS = "parcours"
    ACCES = "acces"


SECTION_LABELS: dict[Section, str] = {
    Section.IDENTITE: "Identité",
    Section.FOYER: "Foyer",
    Section.ADRESSES: "Adresse",
    Section.CONTACTS: "Coordonnées",
    Section.PREFERENCES: "Canaux préférés",
    Section.CONSENTEMENTS: "Consentements et oppositions",
    Section.DOCUMENTS: "Titres et documents",
    Section.RESSOURCES: "Ressources",
    Section.PRESTATIONS: "Prestations perçues",
    Section.VULNERABILITE: "Vulnérabilité et handicap",
    Section.VEILLE: "Registre des personnes vulnérables",
    Section.PARCOURS: "Parcours et messages",
    Section.ACCES: "Consultations du dossier",
}

# Sections that are health data in the sense of GDPR art. 9.
HEALTH_SECTIONS = frozenset({Section.VULNERABILITE, Section.VEILLE})

_CONTACT = frozenset({Section.IDENTITE, Section.ADRESSES, Section.CONTACTS, Section.PREFERENCES,
                      Section.CONSENTEMENTS, Section.PARCOURS, Section.ACCES})


@dataclass(frozen=True)
class Purpose:
    code: str
    label: str
    legal_basis: str
    sections: frozenset[Section]
    health: bool = False


PURPOSES: dict[str, Purpose] = {p.code: p for p in [
    Purpose("etat_civil", "Titres d'identité et état civil",
            "Mission d'intérêt public (RGPD art. 6-1-e), décret 55-1397 et décret 2005-1726",
            _CONTACT | {Section.FOYER, Section.DOCUMENTS}),
    Purpose("action_sociale", "Accompagnement social et accès aux droits",
            "Mission d'intérêt public (RGPD art. 6-1-e), art. L114-8 II CRPA, CASF",
            _CONTACT | {Section.FOYER, Section.DOCUMENTS, Section.RESSOURCES, Section.PRESTATIONS,
                        Section.VULNERABILITE}, health=True),
    Purpose("information", "Information des habitants",
            "Consentement (RGPD art. 6-1-a) ou mission d'intérêt public", _CONTACT),
    Purpose("securite_publique", "Alertes et sécurité publique",
            "Mission d'intérêt public (RGPD art. 6-1-e), code de la sécurité intérieure", _CONTACT | {Section.FOYER}),
    Purpose("prevention_sante", "Prévention santé et veille des personnes vulnérables",
            "Registre des personnes vulnérables (art. L121-6-1 CASF), consentement (RGPD art. 9-2-a)",
            _CONTACT | {Section.FOYER, Section.VULNERABILITE, Section.VEILLE}, health=True),
    Purpose("tenue_registre", "Tenue du registre des habitants : imports, doublons, fusions",
            "Mission d'intérêt public (RGPD art. 6-1-e) ; exactitude des données (RGPD art. 5-1-d)",
            frozenset({Section.IDENTITE, Section.FOYER, Section.ADRESSES, Section.CONTACTS})),
    Purpose("rgpd", "Exercice des droits RGPD (accès, effacement) par le DPO",
            "Obligation légale (RGPD art. 6-1-c, art. 15 à 17)", frozenset(Section)),
]}


class Role(StrEnum):
    AGENT = "agent"
    RESPONSABLE = "responsable"
    DPO = "dpo"
    ADMIN = "admin"


ROLE_LABELS = {Role.AGENT: "Agent", Role.RESPONSABLE: "Responsable de service",
               Role.DPO: "Délégué à la protection des données", Role.ADMIN: "Administrateur"}


@dataclass(frozen=True)
class ServiceSpec:
    code: str
    name: str
    purposes: tuple[str, ...]


DEFAULT_SERVICES = (
    ServiceSpec("etat_civil", "État civil et titres", ("etat_civil",)),
    ServiceSpec("ccas", "CCAS — action sociale", ("action_sociale", "prevention_sante")),
    ServiceSpec("communication", "Communication", ("information",)),
    ServiceSpec("police_municipale", "Police municipale", ("securite_publique",)),
    ServiceSpec("sante_prevention", "Santé et prévention", ("prevention_sante",)),
    ServiceSpec("dpo", "Délégation à la protection des données", ("rgpd",)),
    ServiceSpec("dsi", "Direction des systèmes d'information", ()),
)


class AccessDenied(Exception):
    """The actor's purposes do not open what was asked."""


@dataclass(frozen=True)
class Actor:
    """Who acts: an agent, a machine client (API key) or the platform itself (a job)."""

    kind: str  # agent | api_key | system
    id: int | None
    label: str
    service: str | None
    role: Role
    purposes: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_dpo(self) -> bool:
        return self.role is Role.DPO

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def can_use(self, purpose: str) -> bool:
        return purpose in self.purposes

    def default_purpose(self) -> str | None:
        return sorted(self.purposes)[0] if self.purposes else None


SYSTEM = Actor(kind="system", id=None, label="système", service=None, role=Role.ADMIN,
               purposes=frozenset(PURPOSES))


def system_actor(job: str) -> Actor:
    return Actor(kind="system", id=None, label=f"tâche {job}", service=None, role=Role.ADMIN,
                 purposes=frozenset(PURPOSES))


@dataclass(frozen=True)
class Access:
    """An actor acting for one of their purposes: what they may read is the purpose's sections.

    A `sandbox` access (a test API key) reaches only synthetic residents, so a partner can integrate
    their software without ever touching real people's data.
    """

    actor: Actor
    purpose: str
    sandbox: bool = False

    def __post_init__(self) -> None:
        if self.purpose not in PURPOSES:
            raise AccessDenied(f"finalité inconnue : {self.purpose}")
        if not self.actor.can_use(self.purpose):
            raise AccessDenied(f"la finalité « {PURPOSES[self.purpose].label} » n'est pas ouverte à "
                               f"{self.actor.label}")

    @property
    def sections(self) -> frozenset[Section]:
        return PURPOSES[self.purpose].sections

    def allows(self, section: Section) -> bool:
        return section in self.sections

    def require(self, section: Section) -> None:
        if not self.allows(section):
            raise AccessDenied(f"la section « {SECTION_LABELS[section]} » n'est pas ouverte pour la "
                               f"finalité « {PURPOSES[self.purpose].label} »")


def access_for(actor: Actor, purpose: str | None = None, sandbox: bool = False) -> Access:
    chosen = purpose or actor.default_purpose()
    if chosen is None:
        raise AccessDenied(f"{actor.label} n'a aucune finalité d'accès aux données des habitants")
    return Access(actor, chosen, sandbox)


# Purposes of the services' daily work with residents (not the DPO's exercise of GDPR rights, nor the
# administrator's upkeep of the registry)
OPERATIONAL_PURPOSES = frozenset(code for code in PURPOSES if code not in ("rgpd", "tenue_registre"))
# Who writes in the registry (imports, merges): the services that keep it, and the administrator's upkeep
REGISTRY_KEEPERS = frozenset({"etat_civil", "action_sociale", "tenue_registre"})
# Purposes that come with a role rather than a service
ROLE_PURPOSES = {Role.DPO: "rgpd", Role.ADMIN: "tenue_registre"}


class ScopeRule(Protocol):
    """An API scope and the purposes it serves (declared by the capability that owns its routes)."""

    @property
    def code(self) -> str: ...
    @property
    def purposes(self) -> frozenset[str]: ...
    @property
    def roles(self) -> frozenset[str]: ...


def scope_refusal(scope: ScopeRule | None, code: str, service: str, service_purposes: Iterable[str]) -> str | None:
    """Why a key of `service` may not hold `code` (None: it may). A scope serves purposes: the service must work
    for one of them."""
    if scope is None:
        return f"portée inconnue : {code}"
    if not scope.purposes & frozenset(service_purposes):
        wanted = ", ".join(sorted(scope.purposes))
        return (f"portée {code} refusée au service {service} : elle sert la finalité {wanted}, "
                f"que ce service n'exerce pas") if len(scope.purposes) == 1 else (
            f"portée {code} refusée au service {service} : elle sert les finalités {wanted}, "
            f"qu'aucune mission de ce service ne couvre")
    return None


def session_scopes(actor: Actor, scopes: Iterable[ScopeRule]) -> frozenset[str]:
    """The scopes an agent's session holds on the API: those serving one of the agent's purposes."""
    return frozenset(s.code for s in scopes
                     if s.purposes & actor.purposes and (not s.roles or actor.role in s.roles))


@dataclass(frozen=True)
class Caller:
    """Who calls the API: a key (live or test) or an agent's session, with its scopes."""

    actor: Actor
    scopes: frozenset[str]
    kind: str  # live | test | session
    key_id: int | None = None

    @property
    def is_test(self) -> bool:
        return self.kind == "test"

    def access(self, purpose: str | None) -> Access:
        """Acting for `purpose` (or the caller's first): a test key only ever reaches synthetic residents."""
        return access_for(self.actor, purpose, sandbox=self.is_test)
