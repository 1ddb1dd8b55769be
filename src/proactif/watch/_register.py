"""The register's writes: a request checked against the rules (R121-3 to R121-6 CASF), the enrolment and its
acknowledgement, removal and objection, the yearly confirmation, the « besoins particuliers » with the person's
agreement, the daily reconciliation with the registry (moves, deaths), and the former « veille santé » consents
turned into enrolments (decision 0008). `services` is the public surface."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db import transaction

from proactif.accounts.domain import Actor, Section
from proactif.audit import services as audit
from proactif.kernel import clock
from proactif.messaging import services as messaging
from proactif.registry import services as registry
from proactif.watch import _campaign as campaign
from proactif.watch import domain
from proactif.watch.domain import COMMUNICATION, SERVICE
from proactif.watch.models import (
    Contact,
    DeviceLoan,
    Need,
    PersonThresholds,
    Registration,
    RegistrationEvent,
    RuleState,
    ThresholdChange,
)


class WatchError(ValueError):
    """A request the register refuses: the message says why (and cites the article when the law says so)."""


def _event(registration: Registration, kind: str, actor: Actor, **detail: Any) -> None:
    """The entry's history, and the access log's row naming the person (a change of their data, for the purpose
    the register serves)."""
    RegistrationEvent.objects.create(registration=registration, at=clock.now(), kind=kind, by=actor.label,
                                     detail=detail)
    audit.record(actor, "change", purpose=domain.PURPOSE, person_ids=[registration.person_id],
                 sections=[Section.VEILLE.value], detail={"registre": kind})


def phone(value: str) -> str:
    """A French phone number in E.164 ('' stays ''); WatchError for what is not one."""
    from proactif.registry import domain as registry_domain

    try:
        found = registry_domain.normalise_phone("telephone", value)
    except registry_domain.FieldError as exc:
        raise WatchError(exc.reason) from None
    return found.e164 if found else ""


@dataclass
class ContactInput:
    role: str  # referent | urgence
    name: str
    relation: str = ""
    telephone: str = ""
    email: str = ""
    nearby: bool = False


@dataclass
class Request:
    """A request to be registered (R121-6 CASF), as an agent enters it or an import reads it."""

    person_id: int
    qualite: str
    requested_by: str = "personne"
    requested_on: date | None = None
    living_at_home: bool = True
    unfit_for_work: bool = False
    handicap: list[str] = field(default_factory=list)
    third_party_name: str = ""
    third_party_quality: str = ""
    transmission: str = ""
    telephone: str = ""
    home_service: str = ""
    lives_alone: bool | None = None
    no_family_nearby: bool = False
    contacts: list[ContactInput] = field(default_factory=list)
    need: str = ""
    need_agreement: str = ""  # how the person agreed to the record of their needs (écrit, téléphone, guichet)


def applicant(person_id: int, request: Request | None = None) -> tuple[registry.Resident, domain.Applicant]:
    resident = registry.residents([person_id]).get(person_id)
    if resident is None:
        raise WatchError(f"personne {person_id} inconnue du registre des habitants")
    declared = tuple(request.handicap) if request else ()
    return resident, domain.Applicant(
        born=resident.born, living_at_home=request.living_at_home if request else True, active=resident.active,
        unfit_for_work=request.unfit_for_work if request else False,
        handicap=tuple(sorted(set(resident.handicap) | set(declared))))


def _check(request: Request) -> None:
    if request.requested_by not in domain.DEMANDEURS:
        raise WatchError(f"demandeur inconnu : {request.requested_by}")
    if request.requested_by == "tiers":
        if not request.third_party_name.strip():
            raise WatchError("une demande faite par un tiers indique son nom et sa qualité (art. R121-4 CASF)")
        if request.third_party_quality not in domain.TIERS_QUALITES:
            raise WatchError(f"qualité du tiers inconnue : « {request.third_party_quality} » "
                             f"({', '.join(domain.TIERS_QUALITES)})")
    if request.requested_by == "transmission" and request.transmission not in domain.TRANSMISSIONS:
        raise WatchError(f"transmission inconnue : « {request.transmission} » ({', '.join(domain.TRANSMISSIONS)})")
    unknown = [h for h in request.handicap if h not in domain.HANDICAP_TITRES]
    if unknown:
        raise WatchError(f"reconnaissance de handicap inconnue : {', '.join(unknown)}")
    if request.need.strip() and not request.need_agreement.strip():
        raise WatchError("les besoins particuliers ne s'enregistrent qu'avec l'accord de la personne : "
                         "indiquez comment elle l'a donné")
    for contact in request.contacts:
        if contact.role not in ("referent", "urgence") or not contact.name.strip():
            raise WatchError("un contact a un rôle (référent ou personne à prévenir) et un nom")
        if not contact.telephone.strip() and not contact.email.strip():
            raise WatchError(f"le contact « {contact.name} » n'a ni téléphone ni adresse électronique")


def objected(person_id: int) -> bool:
    """Whether the person objected to being registered (their objection holds against a later transmission or a
    third party's request, until they ask to be registered themselves)."""
    return RegistrationEvent.objects.filter(registration__person_id=person_id, kind="opposition").exists() and \
        not Registration.objects.filter(person_id=person_id, status="inscrite").exists()


def enrol(actor: Actor, request: Request) -> Registration:
    """Register a person (R121-2 to R121-6 CASF). A transmission or a third party's request of someone who objected
    is refused; the person's own request is always taken. The acknowledgement leaves at once (within 8 days)."""
    _check(request)
    resident, facts = applicant(request.person_id, request)
    today = clock.today()
    try:
        domain.check_eligible(facts, request.qualite, today)
    except domain.NotEligible as exc:
        raise WatchError(str(exc)) from None
    if request.requested_by in ("tiers", "transmission") and objected(request.person_id):
        raise WatchError("la personne s'est opposée à son inscription : seule sa propre demande peut l'inscrire")
    telephone = phone(request.telephone) or resident.mobile or resident.landline
    contacts = [(c, phone(c.telephone)) for c in request.contacts]
    now = clock.now()
    with transaction.atomic():
        existing = Registration.objects.select_for_update().filter(person_id=request.person_id).first()
        if existing is not None and existing.status == "inscrite":
            raise WatchError("la personne est déjà inscrite au registre")
        fields = dict(
            status="inscrite", qualite=request.qualite, handicap=sorted(set(request.handicap)),
            requested_on=request.requested_on or today, requested_by=request.requested_by,
            third_party_name=request.third_party_name.strip()[:200], third_party_quality=request.third_party_quality,
            transmission=request.transmission, telephone=telephone, home_service=request.home_service.strip()[:200],
            lives_alone=request.lives_alone,  # optional, with the person's agreement: never inferred
            no_family_nearby=request.no_family_nearby, quartier_id=resident.quartier_id, acknowledged_on=None,
            confirmed_on=today, removal_asked_on=None, removed_on=None, removal_reason="", updated_at=now)
        if existing is None:
            registration = Registration.objects.create(person_id=request.person_id, created_at=now, **fields)
        else:
            for name, value in fields.items():
                setattr(existing, name, value)
            existing.save()
            registration = existing
            registration.contacts.all().delete()
        Contact.objects.bulk_create([Contact(registration=registration, role=c.role, name=c.name.strip()[:200],
                                             relation=c.relation.strip()[:100], telephone=number,
                                             email=c.email.strip()[:254], nearby=c.nearby, rank=i + 1)
                                     for i, (c, number) in enumerate(contacts)])
        if request.need.strip():
            Need.objects.update_or_create(registration=registration, defaults={
                "text": request.need.strip()[:500], "agreed_on": today, "agreement_source": request.need_agreement[:30],
                "recorded_by": actor.label, "updated_at": now})
        _event(registration, "inscription", actor, demandeur=request.requested_by, qualite=request.qualite,
               transmission=request.transmission or None)
        acknowledge(registration, actor)
    registration.refresh_from_db()
    return registration


def acknowledge(registration: Registration, actor: Actor) -> None:
    """The acknowledgement of the request (8 days): a letter, or the person's preferred channel; it says how to
    object and how to be removed. Sent once per enrolment."""
    key = f"veille:ar:{registration.pk}:{registration.requested_on.isoformat()}"
    messaging.send([messaging.MessageSpec(
        key, registration.person_id, "veille.accuse_reception", COMMUNICATION, SERVICE,
        policy=["preferred", "letter"], context={"inscription_id": registration.pk}, trigger="watch:accuse")])
    Registration.objects.filter(pk=registration.pk).update(acknowledged_on=clock.today())
    _event(registration, "accuse_reception", actor)


def remove(actor: Actor, registration_id: int, reason: str, *, asked_on: date | None = None, note: str = "") -> (
        Registration):
    """Remove an entry (on request, objection, move-out, death…): the entry keeps only its dates and reason;
    contacts and needs are deleted at once, pending messages withdrawn, the live check-in path stopped, the home
    devices' loans ended and the person's thresholds forgotten."""
    if reason not in domain.REMOVAL_REASONS:
        raise WatchError(f"motif de radiation inconnu : {reason} ({', '.join(domain.REMOVAL_REASONS)})")
    today = clock.today()
    with transaction.atomic():
        registration = Registration.objects.select_for_update().filter(pk=registration_id).first()
        if registration is None:
            raise WatchError(f"inscription {registration_id} inconnue")
        if registration.status == "radiee":
            raise WatchError("cette inscription est déjà radiée")
        registration.contacts.all().delete()
        Need.objects.filter(registration=registration).delete()
        _stop_devices(registration.person_id, today)
        Registration.objects.filter(pk=registration.pk).update(
            status="radiee", removal_reason=reason, removal_asked_on=asked_on or today, removed_on=today,
            telephone="", home_service="", third_party_name="", lives_alone=None, no_family_nearby=False,
            updated_at=clock.now())
        _event(registration, "opposition" if reason == "opposition" else "radiation", actor, motif=reason,
               note=note[:200] if note else None)
        campaign.stop_person(registration.person_id, f"radiation : {domain.REMOVAL_REASONS[reason]}")
    registration.refresh_from_db()
    return registration


def _stop_devices(person_id: int, today: date) -> None:
    """A person no longer registered is no longer watched: their devices' loans end yesterday (a reading from
    today on belongs to no one, raises nothing, pages no one), and what only the watch needed goes — their
    thresholds and the clinicians' instructions (health data), the rules' memory. Readings and alerts already
    kept follow their retention (docs/privacy.md)."""
    DeviceLoan.objects.filter(person_id=person_id, start_on__gte=today).delete()
    DeviceLoan.objects.filter(person_id=person_id, start_on__lt=today).exclude(end_on__lt=today).update(
        end_on=today - timedelta(days=1))
    PersonThresholds.objects.filter(person_id=person_id).delete()
    ThresholdChange.objects.filter(person_id=person_id).delete()
    RuleState.objects.filter(person_id=person_id).delete()


def confirm(actor: Actor, registration_id: int) -> None:
    """The yearly confirmation (a product choice: the entry stays true before each summer)."""
    updated = Registration.objects.filter(pk=registration_id, status="inscrite").update(
        confirmed_on=clock.today(), updated_at=clock.now())
    if not updated:
        raise WatchError(f"inscription {registration_id} inconnue ou radiée")
    _event(Registration.objects.get(pk=registration_id), "confirmation", actor)


def set_need(actor: Actor, registration_id: int, text: str, agreement: str) -> None:
    """Record, change or (empty text) delete the « besoins particuliers », with the person's agreement."""
    registration = _live(registration_id)
    if not text.strip():
        Need.objects.filter(registration=registration).delete()
        _event(registration, "besoins_supprimes", actor)
        return
    if not agreement.strip():
        raise WatchError("les besoins particuliers ne s'enregistrent qu'avec l'accord de la personne")
    Need.objects.update_or_create(registration=registration, defaults={
        "text": text.strip()[:500], "agreed_on": clock.today(), "agreement_source": agreement.strip()[:30],
        "recorded_by": actor.label, "updated_at": clock.now()})
    _event(registration, "besoins", actor)


def _live(registration_id: int) -> Registration:
    registration = Registration.objects.filter(pk=registration_id, status="inscrite").first()
    if registration is None:
        raise WatchError(f"inscription {registration_id} inconnue ou radiée")
    return registration


def reconcile() -> dict[str, int]:
    """Daily: entries of persons who moved out or died are removed (R121-5, R121-11 CASF); quartiers follow moves
    within the commune."""
    from proactif.accounts.domain import system_actor

    actor = system_actor("watch.reconcile")
    live = dict(Registration.objects.filter(status="inscrite").values_list("person_id", "id"))
    removed = moved = 0
    for chunk_start in range(0, len(live), 5000):
        ids = list(live)[chunk_start:chunk_start + 5000]
        for person_id, resident in registry.residents(ids).items():
            if resident.status in ("moved_out", "deceased"):
                remove(actor, live[person_id], "demenagement" if resident.status == "moved_out" else "deces")
                removed += 1
            elif Registration.objects.filter(pk=live[person_id]).exclude(quartier_id=resident.quartier_id).update(
                    quartier_id=resident.quartier_id):
                moved += 1
    return {"removed": removed, "quartier_changes": moved}


def request_from_form(person_id: int, data: Any) -> Request:
    """A request as the enrolment form posts it."""
    def flag(name: str) -> bool:
        return data.get(name) in ("1", "on", "oui", "true")

    def tri(name: str) -> bool | None:
        value = data.get(name, "")
        return True if value == "oui" else False if value == "non" else None

    contacts = []
    for role in ("referent", "urgence"):
        name = data.get(f"{role}_nom", "").strip()
        if name or data.get(f"{role}_telephone", "").strip():
            contacts.append(ContactInput(role, name, data.get(f"{role}_lien", ""), data.get(f"{role}_telephone", ""),
                                         data.get(f"{role}_email", ""), flag(f"{role}_proche")))
    raw_day = data.get("date_demande", "")
    try:
        requested_on = date.fromisoformat(raw_day) if raw_day else None
    except ValueError:
        raise WatchError(f"date de la demande illisible : « {raw_day} » (AAAA-MM-JJ)") from None
    if requested_on and requested_on > clock.today():
        raise WatchError("la date de la demande ne peut pas être dans le futur")
    if requested_on and requested_on < domain.REGISTER_SINCE:
        raise WatchError("la date de la demande précède la création du registre (loi du 30 juin 2004)")
    return Request(person_id=person_id, qualite=data.get("qualite", ""), requested_by=data.get("demandeur", ""),
                   requested_on=requested_on, living_at_home=flag("domicile"), unfit_for_work=flag("inapte"),
                   handicap=list(data.getlist("handicap")) if hasattr(data, "getlist") else [],
                   third_party_name=data.get("tiers_nom", ""), third_party_quality=data.get("tiers_qualite", ""),
                   transmission=data.get("transmission", ""), telephone=data.get("telephone", ""),
                   home_service=data.get("service_domicile", ""), lives_alone=tri("vit_seul"),
                   no_family_nearby=flag("sans_proche"), contacts=contacts, need=data.get("besoins", ""),
                   need_agreement=data.get("accord_besoins", ""))


def acknowledgement_views(registration_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Template data `inscription` of the acknowledgement: the request's date, and who asked when it was not the
    person (a third party, a transmission)."""
    from proactif.kernel.text import date_fr

    out = {}
    for r in Registration.objects.filter(pk__any=registration_ids):
        third = ""
        if r.requested_by == "tiers" and r.third_party_name:
            quality = domain.TIERS_QUALITES.get(r.third_party_quality, "")
            third = f"{r.third_party_name} ({quality.lower()})" if quality else r.third_party_name
        out[r.pk] = {"date_demande": date_fr(r.requested_on), "tiers": third,
                     "consentement": r.requested_by == "consentement",
                     "transmission": domain.TRANSMISSIONS.get(r.transmission, "").lower() if r.transmission else ""}
    return out


def enrol_from_consents(actor: Actor, *, acknowledge_now: bool = True) -> dict[str, int]:
    """The « veille santé » consents recorded before the register was kept here become enrolments, dated from the
    consent, with their source (« consentement ») — the person asked to be contacted during heatwaves and cold
    waves, which is a request to be registered (art. R121-6 CASF: by any means); each gets the acknowledgement,
    which says how to object. A consent of someone the rules do not admit (under 65 without a recognised disability,
    moved out) is not turned into an enrolment and is counted (docs/decisions/0008-register-of-vulnerable-people.md)."""
    granted = registry.granted_purpose(COMMUNICATION)
    already = set(Registration.objects.filter(person_id__any=list(granted)).values_list("person_id", flat=True))
    residents = registry.residents([pk for pk in granted if pk not in already])
    today = clock.today()
    figures = {"consents": len(granted), "already_registered": len(already), "enrolled": 0, "not_eligible": 0,
               "objected": 0}
    for person_id, resident in sorted(residents.items()):
        facts = domain.Applicant(born=resident.born, living_at_home=True, active=resident.active,
                                 handicap=resident.handicap)
        qualites = domain.eligible_qualites(facts, today)
        if not qualites:
            figures["not_eligible"] += 1
            continue
        if objected(person_id):
            figures["objected"] += 1
            continue
        at = granted[person_id]
        request = Request(person_id=person_id, qualite=qualites[0], requested_by="consentement",
                          requested_on=at.astimezone(clock.local_tz()).date(),
                          handicap=list(resident.handicap))
        if acknowledge_now:
            enrol(actor, request)
        else:
            _enrol_quietly(actor, request)
        figures["enrolled"] += 1
    return figures


def _enrol_quietly(actor: Actor, request: Request) -> None:
    """An enrolment whose acknowledgement left long ago (the synthetic commune's history)."""
    resident = registry.residents([request.person_id])[request.person_id]
    now = clock.now()
    registration = Registration.objects.create(
        person_id=request.person_id, qualite=request.qualite, handicap=request.handicap,
        requested_on=request.requested_on, requested_by=request.requested_by,
        telephone=resident.mobile or resident.landline,
        quartier_id=resident.quartier_id, acknowledged_on=request.requested_on, confirmed_on=request.requested_on,
        created_at=now, updated_at=now)
    _event(registration, "inscription", actor, demandeur=request.requested_by)


# --- transmissions of the département and the CARSAT (art. L121-6-1 I al. 3, loi 2024-317) -----------------------
TRANSMISSION_COLUMNS = {
    "nom": "nom de naissance ou d'usage (obligatoire)", "prenoms": "prénoms (obligatoire)",
    "date_naissance": "JJ/MM/AAAA ou AAAA-MM-JJ (obligatoire)", "nir": "numéro de sécurité sociale (facultatif)",
    "telephone": "facultatif", "service_domicile": "service intervenant à domicile (facultatif)",
    "opposition": "« oui » si la personne s'est opposée auprès de l'organisme : la ligne est écartée (facultatif)",
}
MAX_TRANSMISSION_LINES = 50_000


def import_transmission(actor: Actor, source: str, path: str) -> dict[str, Any]:
    """A file of APA-at-home or PCH beneficiaries (the département) or of the CARSAT's autonomy beneficiaries: each
    line naming an active resident the rules admit is enrolled (demandeur « transmission »), unless the person
    objected — in the file, or to the register before. Every line not enrolled is reported with its number and why;
    the rest is enrolled (a bad line loses nothing else). Running the same file again enrols no one twice."""
    from proactif.registry import domain as registry_domain

    if source not in domain.TRANSMISSIONS:
        raise WatchError(f"organisme inconnu : « {source} » ({', '.join(domain.TRANSMISSIONS)})")
    try:
        csv_file = registry.open_csv(path)
    except registry.CsvFormatError as exc:
        raise WatchError(str(exc)) from None
    missing = [c for c in ("nom", "prenoms", "date_naissance") if c not in csv_file.header]
    if missing:
        raise WatchError(f"colonnes manquantes : {', '.join(missing)} (attendues : {', '.join(TRANSMISSION_COLUMNS)})")
    lines: list[tuple[int, dict[str, str], tuple[str | None, str, str, date | None]]] = []
    report: dict[str, Any] = {"source": source, "lines": 0, "enrolled": 0, "already_registered": 0, "objected": 0,
                              "not_found": 0, "not_eligible": 0, "rejected": []}

    def reject(line: int, kind: str, reason: str) -> None:
        if kind != "rejected":  # a line refused as it is (no count of its own) or set aside for a reason counted
            report[kind] += 1
        report["rejected"].append({"line": line, "reason": reason})

    for line, row in csv_file.rows():
        report["lines"] += 1
        if report["lines"] > MAX_TRANSMISSION_LINES:
            raise WatchError(f"plus de {MAX_TRANSMISSION_LINES} lignes : découpez le fichier")
        try:
            if registry.UNREADABLE in row:
                raise registry_domain.FieldError("ligne", row[registry.UNREADABLE])
            born = registry_domain.parse_date("date_naissance", row.get("date_naissance", ""), required=True)
            nir = registry_domain.normalise_nir("nir", row.get("nir", "")) if row.get("nir") else None
            if not row.get("nom") or not row.get("prenoms"):
                raise registry_domain.FieldError("nom", "nom et prénoms obligatoires")
        except registry_domain.FieldError as exc:
            reject(line, "rejected", f"{exc.field} : {exc.reason}")
            continue
        if row.get("opposition", "").strip().lower() in ("oui", "o", "1", "true", "x"):
            reject(line, "objected", "opposition enregistrée par l'organisme : ligne écartée")
            continue
        lines.append((line, row, (nir, row["nom"], row["prenoms"], born)))
    people = registry.find_residents([identity for *_, identity in lines])
    for (line, row, _), person_id in zip(lines, people, strict=True):
        if person_id is None:
            reject(line, "not_found", "aucun habitant actif ne correspond (ou plusieurs) : à vérifier par un agent")
            continue
        if Registration.objects.filter(person_id=person_id, status="inscrite").exists():
            report["already_registered"] += 1
            continue
        if objected(person_id):
            reject(line, "objected", "la personne s'est opposée à son inscription au registre")
            continue
        _, facts = applicant(person_id)
        handicap = ["pch"] if source == "pch" else []
        facts = domain.Applicant(facts.born, True, facts.active, False, tuple(sorted({*facts.handicap, *handicap})))
        qualites = domain.eligible_qualites(facts, clock.today())
        if not qualites:
            reject(line, "not_eligible", "hors des critères de l'art. R121-3 CASF (âge, handicap reconnu)")
            continue
        try:
            enrol(actor, Request(person_id, qualites[0], requested_by="transmission", transmission=source,
                                 handicap=handicap, telephone=row.get("telephone", ""),
                                 home_service=row.get("service_domicile", "")))
        except WatchError as exc:
            reject(line, "rejected", str(exc))
            continue
        report["enrolled"] += 1
    report["rejected"].sort(key=lambda r: r["line"])
    return report
