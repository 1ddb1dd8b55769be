"""Registry use cases — the only entry point for views, the API, the CLI, tasks and other capabilities.

Every read of a person's data goes through an `Access` (an actor and a purpose) and writes the
access log; sections the purpose does not open are neither read nor returned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet

from proactif.accounts.domain import Access, AccessDenied, Actor, Section, system_actor
from proactif.audit import services as audit
from proactif.kernel import capabilities, clock
from proactif.kernel.logging import get_logger
from proactif.kernel.text import count_fr
from proactif.registry import _bulk as bulk
from proactif.registry import _composition as composition
from proactif.registry import _figures as figures
from proactif.registry import _identity as identity
from proactif.registry import _places as places
from proactif.registry import _reach as reach
from proactif.registry import _reach_bulk as reach_bulk
from proactif.registry import _sandbox as sandbox
from proactif.registry import _search as search
from proactif.registry import _segments as segments
from proactif.registry import _vulnerable as vulnerable
from proactif.registry import domain
from proactif.registry._csvfiles import UNREADABLE as UNREADABLE  # re-exported: the readers of CSV files
from proactif.registry._csvfiles import CsvFormatError, open_csv
from proactif.registry._import_addresses import AddressImporter
from proactif.registry._import_documents import DocumentImporter
from proactif.registry._import_feeds import BenefitPaymentImporter, MonthlyResourceImporter
from proactif.registry._import_residents import ResidentImporter
from proactif.registry._importers import HeaderError, ImportReport, run_import
from proactif.registry.models import (
    Address,
    BenefitReceipt,
    ChannelPreference,
    Consent,
    ContactPoint,
    Document,
    Household,
    ImportRun,
    OptOut,
    Person,
    Quartier,
    Resource,
    Voie,
)

log = get_logger(__name__)

__all__ = [
    "AccessDenied",
    "CsvFormatError",
    "HeaderError",
    "ImportReport",
    "PersonFile",
    "dashboard_figures",
    "import_file",
    "may_contact",
    "person_file",
    "record_consent",
    "search_page",
    "search_persons",
]

# Reach, figures, bulk loading and identity resolution, re-exported as the registry's public surface.
Reachable = reach.Reachable
reachable = reach.reachable
contact_channels = reach.contact_channels  # messages addressed to a contact value: the oppositions on it
ReachProfile = reach_bulk.ReachProfile
ReachProfiles = reach_bulk.ReachProfiles
reach_profiles = reach_bulk.reach_profiles  # every resident's reach, in bulk (live counts)
reach_stamp = reach_bulk.reach_stamp
compute_figures = figures.compute_figures
refresh_figures = figures.refresh_figures
dashboard_figures = figures.dashboard_figures
BULK_COLUMNS = bulk.BULK_COLUMNS
bulk_table = bulk.bulk_table
bulk_load = bulk.bulk_load
bulk_deferred_indexes = bulk.bulk_deferred_indexes
bulk_finish = bulk.bulk_finish
delete_registry = bulk.delete_registry
suggest_duplicates = identity.suggest_duplicates
pending_suggestions = identity.pending_suggestions
get_suggestion = identity.get_suggestion
reject_suggestion = identity.reject_suggestion
merge_persons = identity.merge
unmerge = identity.unmerge
recent_merges = identity.merges
MergeError = identity.MergeError
MergeSuggestion = identity.MergeSuggestion
Merge = identity.Merge


# --- search ---------------------------------------------------------------------------------
def search_persons(access: Access, query: str, limit: int = 50) -> tuple[search.SearchQuery, list[Person]]:
    parsed, persons, _ = search_page(access, query, limit, 0)
    return parsed, persons


SEARCH_PAGES = 20  # at most 1,000 results by pages of 50: beyond, the agent narrows the search


def search_page(access: Access, query: str, limit: int = 50, offset: int = 0) -> (
        tuple[search.SearchQuery, list[Person], bool]):
    """A page of results, the persons shown logged (an agent paging on reads the next ones too)."""
    access.require(Section.IDENTITE)
    parsed, persons, more = search.search_page(query, limit, offset, sandbox=access.sandbox)
    if persons:
        audit.record(access.actor, "search", purpose=access.purpose, person_ids=[p.pk for p in persons],
                     sections=[Section.IDENTITE.value], detail={"kind": parsed.kind, "results": len(persons),
                                                                "from": offset + 1})
    return parsed, persons, more


# --- the person file ------------------------------------------------------------------------
@dataclass
class ConsentLine:
    purpose: str
    purpose_label: str
    channel: str
    decision: str
    recorded_at: Any
    source: str
    text_version: str


@dataclass
class PersonFile:
    person: Person
    purpose: str
    sections: frozenset[Section]
    age: int | None = None
    members: list[Person] = field(default_factory=list)
    contacts: list[ContactPoint] = field(default_factory=list)
    preferences: list[str] = field(default_factory=list)
    consents: list[ConsentLine] = field(default_factory=list)
    consent_history: list[Consent] = field(default_factory=list)
    opt_outs: list[OptOut] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    benefits: list[BenefitReceipt] = field(default_factory=list)
    lives_alone: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)
    panels: list[Panel] = field(default_factory=list)

    def shows(self, section: str) -> bool:
        return Section(section) in self.sections


@dataclass(frozen=True)
class Panel:
    """A part of the file another capability adds (journeys and messages, appointments): its template and data."""

    section: Section
    title: str
    template: str
    data: Any


def get_person(person_id: int, sandbox: bool = False) -> Person:
    qs = Person.objects.select_related("household__address__voie", "household__address__quartier", "merged_into")
    return (qs.filter(source__in=search.SANDBOX_SOURCES) if sandbox else qs).get(pk=person_id)


def person_file(access: Access, person_id: int) -> PersonFile:
    """A person's file, limited to the sections the access's purpose opens; logged section by section."""
    access.require(Section.IDENTITE)
    person = get_person(person_id, access.sandbox)
    sections = access.sections
    today = clock.today()
    f = PersonFile(person, access.purpose, sections,
                   age=domain.age_on(person.date_naissance, today) if person.date_naissance else None)
    household_members: list[Person] = []
    if person.household_id and (Section.FOYER in sections or Section.VULNERABILITE in sections):
        household_members = list(Person.objects.filter(household_id=person.household_id, status="active")
                                 .exclude(pk=person.pk).order_by("date_naissance"))
    if Section.FOYER in sections:
        f.members = household_members
    if Section.CONTACTS in sections:
        f.contacts = list(person.contacts.order_by("kind", "-created_at"))
    if Section.PREFERENCES in sections:
        f.preferences = list(person.channel_preferences.order_by("rank").values_list("channel", flat=True))
    if Section.CONSENTEMENTS in sections:
        history = list(person.consents.order_by("-recorded_at", "-id"))
        f.consent_history = history
        latest: dict[tuple[str, str], Consent] = {}
        for row in history:
            latest.setdefault((row.purpose, row.channel), row)
        f.consents = [ConsentLine(c.purpose, domain.COMMUNICATION_PURPOSES[c.purpose].label
                                  if c.purpose in domain.COMMUNICATION_PURPOSES else c.purpose,
                                  c.channel, c.decision, c.recorded_at, c.source, c.text_version)
                      for c in sorted(latest.values(), key=lambda c: (c.purpose, c.channel))]
        f.opt_outs = list(person.opt_outs.filter(revoked_at__isnull=True).order_by("-created_at"))
    if Section.DOCUMENTS in sections:
        f.documents = list(person.documents.order_by("-expires_on"))
    if Section.RESSOURCES in sections:
        f.resources = list(person.resources.order_by("kind"))
    if Section.PRESTATIONS in sections:
        f.benefits = list(BenefitReceipt.objects.filter(Q(person=person) | Q(famille_id=person.famille_id))
                          .filter(until__isnull=True).order_by("benefit")) if person.famille_id else \
            list(person.benefits.order_by("benefit"))
    if Section.VULNERABILITE in sections:
        f.lives_alone = person.household_id is not None and not household_members
    if Section.ACCES in sections:  # an agent sees their own service's consultations; the DPO sees all
        f.history = audit.person_history(person.pk, limit=30,
                                         service=None if access.purpose == "rgpd" else access.actor.service or "")
    # the parts other capabilities declare (journeys and messages, appointments), for the purposes opening them
    f.panels = [Panel(Section(p.section), p.title, p.template, p.build(person.pk)) for p in capabilities.panels()
                if Section(p.section) in sections]
    audit.record(access.actor, "view", purpose=access.purpose, person_ids=[person.pk],
                 sections=sorted(s.value for s in sections))
    return f


# --- changes --------------------------------------------------------------------------------
def record_consent(access: Access, person_id: int, *, purpose: str, channel: str, decision: str, source: str,
                   text_version: str, proof: dict[str, Any] | None = None) -> Consent:
    access.require(Section.CONSENTEMENTS)
    if purpose not in domain.COMMUNICATION_PURPOSES:
        raise domain.FieldError("purpose", f"finalité inconnue « {purpose} »")
    if channel != "*" and channel not in capabilities.channels():
        raise domain.FieldError("channel", f"canal inconnu « {channel} »")
    if decision not in ("granted", "denied", "revoked"):
        raise domain.FieldError("decision", "décision attendue : granted, denied ou revoked")
    spec = domain.COMMUNICATION_PURPOSES[purpose]
    if spec.rule == "declared" and decision == "granted":
        raise domain.FieldError("purpose", f"« {spec.label} » ne repose pas sur un consentement (base : "
                                           f"{spec.basis}) ; un refus reste possible")
    if not text_version.strip():
        raise domain.FieldError("text_version", "version du texte présenté obligatoire (preuve du consentement)")
    person = get_person(person_id, access.sandbox)
    consent = Consent.objects.create(person=person, purpose=purpose, channel=channel, decision=decision,
                                     source=source[:30], text_version=text_version[:30], recorded_at=clock.now(),
                                     recorded_by=access.actor.label, proof=proof or {})
    audit.record(access.actor, "change", purpose=access.purpose, person_ids=[person_id],
                 sections=[Section.CONSENTEMENTS.value], detail={"consent": consent.pk, "decision": decision})
    return consent


def add_opt_out(access: Access, person_id: int | None, *, purpose: str = "*", channel: str = "*", source: str,
                reason: str = "", contact_value: str = "") -> OptOut:
    if person_id is None and not contact_value:
        raise domain.FieldError("person", "une opposition vise une personne ou une coordonnée")
    if person_id is not None:
        get_person(person_id, access.sandbox)
    opt_out = OptOut.objects.create(person_id=person_id, contact_value=contact_value, purpose=purpose,
                                    channel=channel, source=source[:30], reason=reason[:300], created_at=clock.now())
    audit.record(access.actor, "change", purpose=access.purpose, person_ids=[person_id],
                 sections=[Section.CONSENTEMENTS.value], detail={"opt_out": opt_out.pk})
    return opt_out


def record_citizen_opt_out(contact_value: str, channel: str, source: str, purpose: str = "*") -> list[int]:
    """A citizen refused messages from a number or an address (an SMS "STOP"): the opposition holds for the
    value itself and for every person who has it. Returns those persons' ids."""
    from proactif.accounts.domain import system_actor

    now = clock.now()
    person_ids = list(ContactPoint.objects.filter(value=contact_value).values_list("person_id", flat=True).distinct())
    OptOut.objects.create(contact_value=contact_value, purpose=purpose, channel=channel, source=source,
                          reason="demande de l'usager", created_at=now)
    OptOut.objects.bulk_create(OptOut(person_id=pid, purpose=purpose, channel=channel, source=source,
                                      reason="demande de l'usager", created_at=now) for pid in person_ids)
    if person_ids:
        audit.record(system_actor(source), "change", purpose="demande_usager", person_ids=person_ids,
                     sections=[Section.CONSENTEMENTS.value], detail={"opt_out": channel, "source": source})
    return person_ids


def persons_with_contact(value: str) -> list[int]:
    return list(ContactPoint.objects.filter(value=value).values_list("person_id", flat=True).distinct())


def set_person_status(access: Access, person_id: int, status: str, on: date | None = None) -> None:
    access.require(Section.IDENTITE)
    if status not in ("active", "moved_out", "deceased"):
        raise domain.FieldError("status", "statut attendu : active, moved_out ou deceased")
    Person.objects.filter(pk=person_id).update(status=status, status_changed_on=on or clock.today(),
                                               updated_at=clock.now())
    audit.record(access.actor, "change", purpose=access.purpose, person_ids=[person_id],
                 sections=[Section.IDENTITE.value], detail={"status": status})


def may_contact(person_id: int, purpose: str, channel: str, contact_value: str = "") -> bool:
    """Consent and opposition check, made at send time by messaging."""
    events = [domain.ConsentEvent(p, c, d, at) for p, c, d, at in Consent.objects.filter(
        person_id=person_id, purpose=purpose).values_list("purpose", "channel", "decision", "recorded_at")]
    rules = [domain.OptOutRule(p, c) for p, c in OptOut.objects.filter(revoked_at__isnull=True).filter(
        Q(person_id=person_id) | (Q(contact_value=contact_value) if contact_value else Q(pk__in=[])))
        .values_list("purpose", "channel")]
    return domain.may_contact(purpose, channel, domain.current_decisions(events), rules)


# --- documents ------------------------------------------------------------------------------
def refresh_document_statuses(today: date | None = None) -> dict[str, int]:
    """Valid documents past their expiry date become expired (run daily by the scheduler)."""
    today = today or clock.today()
    expired = Document.objects.filter(status="valide", expires_on__lt=today).update(status="expire",
                                                                                   updated_at=clock.now())
    return {"expired": expired}


def document_views(document_ids: list[int], with_renewal: bool = False) -> dict[int, dict[str, Any]]:
    """Documents as message templates show them (French labels and dates); with `with_renewal`, whether a
    newer document of the same kind replaced each one (`renouvele`), in the same query."""
    from django.db import connection

    from proactif.kernel import bulkload
    from proactif.kernel.text import date_fr

    if not document_ids:
        return {}
    today = clock.today()
    labels = dict(Document.KINDS)
    condition, params = bulkload.in_ids("d.id", document_ids)
    renewal = (", EXISTS (SELECT 1 FROM registry_document n WHERE n.person_id = d.person_id AND n.kind = d.kind "
               "AND n.issued_on > d.issued_on)" if with_renewal else ", NULL")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT d.id, d.person_id, d.kind, d.numero, d.issued_on, d.expires_on, d.status{renewal} "
                       f"FROM registry_document d WHERE {condition}", params)
        rows = cursor.fetchall()
    out = {}
    for pk, person_id, kind, numero, issued_on, expires_on, status, renewed in rows:
        issued_on, expires_on = _day(issued_on), _day(expires_on)
        months = None
        echeance = ""
        if expires_on:
            months = (expires_on.year - today.year) * 12 + expires_on.month - today.month
            echeance = f"{'a expiré' if expires_on < today else 'expire'} le {date_fr(expires_on)}"
        label = labels.get(kind, kind)
        out[pk] = {"id": pk, "person_id": person_id, "kind": kind, "type": label[0].lower() + label[1:],
                   "numero": numero, "expire_le": date_fr(expires_on) if expires_on else "", "echeance": echeance,
                   "delivre_le": date_fr(issued_on) if issued_on else "", "mois_restants": months,
                   "expires_on": expires_on.isoformat() if expires_on else None, "status": status,
                   **domain.agreement(kind)}
        if with_renewal:
            out[pk]["renouvele"] = bool(renewed)
    return out


def _day(value: Any) -> date | None:
    """A date column as a raw query returns it (SQLite: text)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def issue_document(person_id: int, kind: str, issued_on: date, *, numero: str = "", source: str = "mairie",
                   replaces: int | None = None) -> Document:
    """A new title handed over to its holder; the one it replaces is cancelled."""
    person = Person.objects.get(pk=person_id)
    now = clock.now()
    expires = domain.default_expiry(kind, issued_on, person.date_naissance)
    with transaction.atomic():
        document = Document.objects.create(person=person, kind=kind, numero=numero, issued_on=issued_on,
                                           expires_on=expires, status="valide", source=source, updated_at=now)
        if replaces:
            Document.objects.filter(pk=replaces, person_id=person_id).update(status="annule", updated_at=now)
    return document


def set_document_status(document_id: int, status: str) -> None:
    if status not in domain.DOCUMENT_STATUSES:
        raise domain.FieldError("statut", f"statut inconnu « {status} »")
    Document.objects.filter(pk=document_id).update(status=status, updated_at=clock.now())


def person_facts(person_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Age, sex, language and status: what journey conditions may test (no names, no contacts)."""
    today = clock.today()
    return {pk: {"age": domain.age_on(born, today) if born else None, "sexe": sexe, "langue": langue,
                 "statut": status}
            for pk, born, sexe, langue, status in Person.objects.filter(pk__any=person_ids).values_list(
                "id", "date_naissance", "sexe", "langue", "status")}


# --- what the register of vulnerable people reads (watch logs each read with its purpose) -----------------
Resident = vulnerable.Resident


def residents(person_ids: list[int]) -> dict[int, Resident]:
    """Name, birth date, address, quartier, phones, household size and the disability recognitions known, for
    the register of vulnerable people (art. R121-3 and R121-4 CASF). Not logged here: the caller logs."""
    return vulnerable.residents(person_ids, clock.today())


def find_residents(identities: list[tuple[str | None, str, str, date | None]]) -> list[int | None]:
    """The active resident each (NIR, nom, prénoms, date de naissance) of a transmitted file names, or None (not
    found, or several): no guess. Not logged here: the importer logs what it did."""
    return vulnerable.find_residents(identities)


def register_audience() -> dict[str, list[int]]:
    """Who may be told the register exists: the active residents of 65 and over, and the adults the registry
    knows as disabled."""
    today = clock.today()
    return {"older": vulnerable.older_residents(65, today), "disabled": vulnerable.disabled_adults(today)}


def granted_purpose(purpose: str) -> dict[int, Any]:
    """Persons whose latest decision for a communication purpose on every channel is a grant, with its date."""
    latest: dict[int, tuple[Any, str]] = {}
    for person_id, decision, at in Consent.objects.filter(purpose=purpose, channel="*").order_by(
            "recorded_at", "id").values_list("person_id", "decision", "recorded_at"):
        latest[person_id] = (at, decision)
    return {pk: at for pk, (at, decision) in latest.items() if decision == "granted"}


def departements() -> list[str]:
    """The départements of the registry's addresses, most addresses first."""
    return vulnerable.departements()


def refused_purpose(person_ids: list[int], purpose: str) -> set[int]:
    """People who refused a communication purpose on every channel (opposition or withdrawn consent)."""
    from django.db import connection

    from proactif.kernel import bulkload

    if not person_ids:
        return set()
    condition, params = bulkload.in_ids("person_id", person_ids)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT person_id FROM registry_optout WHERE {condition} AND revoked_at IS NULL "
                       f"AND channel = '*' AND purpose IN ('*', %s)", [*params, purpose])
        refused = {row[0] for row in cursor.fetchall()}
        cursor.execute(f"SELECT person_id, decision, recorded_at FROM registry_consent WHERE {condition} "
                       f"AND purpose = %s AND channel = '*'", [*params, purpose])
        consents = cursor.fetchall()
    latest: dict[int, tuple[Any, str]] = {}
    for person_id, decision, at in consents:
        if person_id not in latest or str(at) >= str(latest[person_id][0]):
            latest[person_id] = (at, decision)
    refused.update(pk for pk, (_, decision) in latest.items() if decision in ("denied", "revoked"))
    return refused


def documents_expiring(kind: str, start: date, end: date) -> QuerySet[Document]:
    return Document.objects.filter(kind=kind, expires_on__gte=start, expires_on__lte=end,
                                   person__status="active")


# --- imports --------------------------------------------------------------------------------
IMPORTERS: dict[str, Callable[[], Any]] = {
    "residents": ResidentImporter, "addresses": AddressImporter, "documents": DocumentImporter,
    "resources": MonthlyResourceImporter, "benefits": BenefitPaymentImporter}


IMPORT_PURPOSE = "etat_civil"  # the registry of residents is kept by the état civil


def import_file(kind: str, path: str, *, actor: Actor | None = None, purpose: str = IMPORT_PURPOSE,
                on_progress: Callable[[int], None] | None = None, batch_size: int = 500) -> ImportReport:
    """Import a file; every person created or changed is written to the access log (action "import")."""
    if kind not in IMPORTERS:
        raise ValueError(f"type d'import inconnu « {kind} » ({', '.join(IMPORTERS)})")
    report = run_import(IMPORTERS[kind](), path, actor=actor or system_actor("import"), purpose=purpose,
                        on_progress=on_progress, batch_size=batch_size)
    from proactif.kernel import executor

    executor.enqueue("registry.refresh_figures")
    return report


def queue_import(kind: str, filename: str, chunks: Any, *, access: Access) -> ImportRun:
    """Keep an uploaded file, check its header now (the agent sees a bad file at once), and import it in
    the background; the run's page follows its progress."""
    import hashlib
    import uuid

    from django.conf import settings

    from proactif.kernel import executor
    if kind not in IMPORTERS:
        raise ValueError(f"type d'import inconnu « {kind} » ({', '.join(IMPORTERS)})")
    folder = settings.HOME / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.csv"
    digest = hashlib.sha256()
    with path.open("wb") as handle:
        for chunk in chunks:
            digest.update(chunk)
            handle.write(chunk)
    try:
        csv_file = open_csv(path)
        IMPORTERS[kind]().check_header(csv_file.header)
    except (CsvFormatError, HeaderError):
        path.unlink(missing_ok=True)
        raise
    lines = sum(1 for _ in csv_file.rows())
    run = ImportRun.objects.filter(kind=kind, sha256=digest.hexdigest()).exclude(status="done").first()
    if run is None:
        run = ImportRun.objects.create(kind=kind, filename=filename[:500], sha256=digest.hexdigest(),
                                       started_at=clock.now(), started_by=access.actor.label[:254], status="queued",
                                       lines_total=lines)
    executor.enqueue("registry.import_uploaded_file", kind, str(path), access.actor.id, access.purpose)
    return run


def log_import_report_view(access: Access, run_id: int) -> None:
    audit.record(access.actor, "view_import_report", purpose=access.purpose, sections=[Section.IDENTITE.value],
                 detail={"run": run_id})


def log_list_view(access: Access, person_ids: list[int], what: str) -> None:
    """A list of residents an agent looked at (duplicates to review…): one logged read naming them."""
    ids = sorted({pk for pk in person_ids if pk is not None})
    if ids:
        audit.record(access.actor, "view", purpose=access.purpose, person_ids=ids,
                     sections=[Section.IDENTITE.value], detail={"list": what})


def import_runs(limit: int = 50) -> QuerySet[ImportRun]:
    return ImportRun.objects.all()[:limit]


def import_run(run_id: int) -> ImportRun:
    """A run; its rejected lines are read page by page by whoever shows them (a large file rejects thousands)."""
    return ImportRun.objects.get(pk=run_id)


# --- places: what geo-targeting reads --------------------------------------------------------
address_stamp = places.address_stamp
address_points = places.address_points
residents_at = places.residents_at
reachable_channels = places.reachable_channels
voie_names = places.voie_names
voies_matching = places.voies_matching
quartier_polygons = places.quartier_polygons
quartier_layer = places.quartier_layer


# --- reference data -------------------------------------------------------------------------
def quartiers() -> QuerySet[Quartier]:
    return Quartier.objects.all()


def load_quartiers(features: list[dict[str, Any]], code_insee: str = "") -> int:
    """Create or update quartiers from GeoJSON features with `code`/`nom` (or Paris' c_qu/l_qu) properties."""
    count = 0
    with transaction.atomic():
        for feature in features:
            props = feature.get("properties", {})
            code = str(props.get("code") or props.get("c_qu") or props.get("c_quinsee") or "").strip()
            nom = str(props.get("nom") or props.get("l_qu") or code).strip()
            if not code or not feature.get("geometry"):
                raise domain.FieldError("quartier", "chaque quartier a un code et une géométrie")
            Quartier.objects.update_or_create(code=code, defaults={
                "nom": nom, "geometry": feature["geometry"], "code_insee": str(props.get("code_insee", code_insee)),
                "code_postal": str(props.get("code_postal", ""))})
            count += 1
    return count


def counts() -> dict[str, int]:
    """Row counts of the registry (cheap: used by `--json` outputs and tests)."""
    return {
        "persons": Person.objects.count(), "households": Household.objects.count(),
        "addresses": Address.objects.count(), "voies": Voie.objects.count(), "quartiers": Quartier.objects.count(),
        "contacts": ContactPoint.objects.count(), "preferences": ChannelPreference.objects.count(),
        "consents": Consent.objects.count(), "documents": Document.objects.count(),
        "resources": Resource.objects.count(), "benefits": BenefitReceipt.objects.count(),
    }


def identity_fingerprint() -> str:
    """Changes whenever a person or a contact point is added, changed or removed."""
    from django.db.models import Count, Max

    people = Person.objects.aggregate(n=Count("id"), at=Max("updated_at"), top=Max("id"))
    contacts = ContactPoint.objects.aggregate(n=Count("id"), top=Max("id"), at=Max("created_at"))
    return f"{people['n']}:{people['top']}:{people['at']}:{contacts['n']}:{contacts['top']}:{contacts['at']}"


def names_for(access: Access, person_ids: list[int], action: str = "view") -> dict[int, str]:
    """« Prénom NOM » of each person, for lists an agent works from (an agenda); a logged read (`action`: "view",
    or "export_list" when the list leaves as a file)."""
    access.require(Section.IDENTITE)
    ids = sorted({pk for pk in person_ids if pk is not None})
    if not ids:
        return {}
    names = {pk: domain.short_name(prenoms, usage, naissance) for pk, prenoms, usage, naissance in
             Person.objects.filter(pk__any=ids).values_list("id", "prenoms", "nom_usage", "nom_naissance")}
    audit.record(access.actor, action, purpose=access.purpose, person_ids=list(names),
                 sections=[Section.IDENTITE.value], detail={"list": True})
    return names


def household_names(access: Access, household_ids: list[int], action: str = "view") -> dict[int, str]:
    """« Claire MARTIN et 2 autres personnes » for each household of a list (its reference person, else its
    eldest active member, and how many live with them); a logged read naming every member shown."""
    access.require(Section.IDENTITE)
    ids = sorted({pk for pk in household_ids if pk is not None})
    if not ids:
        return {}
    members: dict[int, list[tuple[int, str, date | None, str]]] = {}
    for pk, household_id, role, born, prenoms, usage, naissance in Person.objects.filter(
            household_id__any=ids, status="active").values_list(
            "id", "household_id", "menage_role", "date_naissance", "prenoms", "nom_usage", "nom_naissance"):
        members.setdefault(household_id, []).append((pk, role, born, domain.short_name(prenoms, usage, naissance)))
    names = {}
    for household_id, people in members.items():
        people.sort(key=lambda m: _reference_first(m[1], m[2]))
        others = len(people) - 1
        names[household_id] = people[0][3] + (f" et {count_fr(others, 'autre personne|autres personnes')}"
                                               if others else "")
    audit.record(access.actor, action, purpose=access.purpose,
                 person_ids=[m[0] for people in members.values() for m in people],
                 sections=[Section.IDENTITE.value], detail={"list": True, "households": len(names)})
    return names


def first_name(person_id: int) -> str:
    """The greeting of a citizen on a page they reached by their own link (not an agent's read)."""
    prenoms = Person.objects.filter(pk=person_id).values_list("prenoms", flat=True).first()
    return (prenoms or "").split(" ")[0]


def has_synthetic_residents() -> bool:
    return Person.objects.filter(source="synth").exists()


def synthetic_person_ids(person_ids: list[int]) -> set[int]:
    return set(Person.objects.filter(pk__any=person_ids, source="synth").values_list("id", flat=True))


segment_names = segments.segment_names  # the segments a journey can enter by, with their labels
segment_members = segments.members  # (name, today) → person ids


def is_empty() -> bool:
    return not (Person.objects.exists() or Address.objects.exists() or Voie.objects.exists()
                or Quartier.objects.exists())


def active_ages(today: date) -> list[int]:
    return [domain.age_on(born, today) for born in Person.objects.filter(status="active")
            .exclude(date_naissance__isnull=True).values_list("date_naissance", flat=True).iterator(20_000)]


# --- what the connectors' sandbox serves (synthetic residents only) ------------------------------------
sandbox_find_by_identity = sandbox.find_by_identity
sandbox_record = sandbox.record
sandbox_tax_household = sandbox.tax_household
sandbox_france_travail = sandbox.france_travail


def household_composition(household_id: int, months: list[date]) -> dict[str, Any]:
    """A household as a benefits calculation needs it: its dwelling, its members with their roles in the
    famille (CAF) and the foyer fiscal, their resources for each of `months` (the monthly feeds where they
    exist, else the income streams running that month) and the benefits paid to them."""
    return composition.household_composition(household_id, months)


def household_compositions(household_ids: list[int], months: list[date]) -> dict[int, dict[str, Any]]:
    return composition.household_compositions(household_ids, months)


def households_with_residents() -> int:
    return int(Person.objects.filter(status="active").exclude(household_id=None).values("household_id")
               .distinct().count())


def household_ids_in_chunks(size: int) -> Any:
    """Every household with an active resident, by chunks of ids (a screening's units of work)."""
    ids = sorted(set(Person.objects.filter(status="active").exclude(household_id=None).values_list(
        "household_id", flat=True)))
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def identity_pivot(person_id: int) -> dict[str, Any]:
    """What API Particulier's identité pivot needs of a person (a connector call's input, never logged)."""
    person = Person.objects.get(pk=person_id)
    born_abroad = person.code_insee_naissance.startswith("99")
    return {"nom_naissance": person.nom_naissance, "nom_usage": person.nom_usage,
            "prenoms": tuple(person.prenoms.split()[:3]), "sexe": person.sexe, "date_naissance": person.date_naissance,
            "code_pays_naissance": person.code_insee_naissance if born_abroad else "99100",
            "code_commune_naissance": "" if born_abroad else person.code_insee_naissance}


def reference_person(household_id: int) -> int | None:
    """Whom a household is written to: its reference person, else its eldest active member."""
    members = list(Person.objects.filter(household_id=household_id, status="active").values_list(
        "id", "menage_role", "date_naissance"))
    ordered = sorted(members, key=lambda m: _reference_first(m[1], m[2]))
    return ordered[0][0] if ordered else None


def _reference_first(role: str, born: date | None) -> tuple[bool, bool, date]:
    """A household's members in the order they are written to: its reference person, then the eldest."""
    return role != "personne_de_reference", born is None, born or date.max


def household_id_of(person_id: int) -> int | None:
    return Person.objects.filter(pk=person_id).values_list("household_id", flat=True).first()


def household_member_ids(household_id: int) -> list[int]:
    return list(Person.objects.filter(household_id=household_id, status="active").order_by("id").values_list(
        "id", flat=True))


def members_of_households(household_ids: list[int]) -> list[int]:
    """The active members of many households at once (one query)."""
    if not household_ids:
        return []
    return list(Person.objects.filter(household_id__any=household_ids, status="active").order_by("id").values_list(
        "id", flat=True))


def benefits_of_household(household_id: int) -> dict[str, float]:
    """Benefits a household receives now (registry) or was last paid (monthly feed): benefit → €/month."""
    from proactif.registry.models import BenefitPayment, BenefitReceipt

    members = household_member_ids(household_id)
    familles = list(Person.objects.filter(pk__any=members).exclude(famille_id=None).values_list("famille_id",
                                                                                                flat=True))
    out: dict[str, float] = {}
    today = clock.today()
    for benefit, amount, until in BenefitReceipt.objects.filter(
            Q(person_id__any=members) | Q(famille_id__any=familles)).values_list("benefit", "monthly_amount", "until"):
        if until is None or until >= today:
            out[benefit] = out.get(benefit, 0.0) + float(amount)
    for benefit, amount in BenefitPayment.objects.filter(person_id__any=members).order_by(
            "month").values_list("benefit", "amount"):
        out[benefit] = float(amount)
    return out


def record_benefit_receipt(person_id: int, benefit: str, monthly_amount: float, since: date, source: str) -> None:
    """A benefit now paid (a decision of the paying body, as its feed reports it): to the person's famille, or
    to the person."""
    from proactif.registry.models import BenefitReceipt

    person = Person.objects.get(pk=person_id)
    BenefitReceipt.objects.create(famille_id=person.famille_id, person=None if person.famille_id else person,
                                  benefit=benefit[:30], monthly_amount=round(monthly_amount, 2), since=since,
                                  source=source[:30])
