"""A person's thresholds (issue 18): the programme they start from (`rules.PROGRAMMES`, the default one when no
clinician said otherwise) and the bounds a clinician set apart from it. A `prevention_sante` agent changes them on
the person's watch page, carrying out a clinician's instruction recorded with the change (the clinician's name, the
date of the instruction, the reason); every change is kept (`ThresholdChange`: who, when, before → after) and
written in the access log. The rules read the effective thresholds of a batch of persons in one query."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from django.db import transaction

from proactif.accounts.domain import Access, Section
from proactif.audit import services as audit
from proactif.kernel import clock
from proactif.kernel.logging import get_logger
from proactif.watch import domain, rules
from proactif.watch.models import PersonThresholds, ThresholdChange

log = get_logger(__name__)
CHUNK = 20_000  # persons per look-up
INSTRUCTION_MAX_AGE = timedelta(days=366)  # an older instruction is to be confirmed with the clinician first


class ThresholdError(ValueError):
    """The change is refused: `errors` says why, by form field (« __all__ »: the whole form); `status` 409 when the
    thresholds changed since the form was shown."""

    def __init__(self, errors: dict[str, str], status: int = 400):
        super().__init__("; ".join(errors.values()))
        self.errors = errors
        self.status = status


@dataclass(frozen=True)
class Instruction:
    clinician: str
    instructed_on: date
    reason: str


@dataclass(frozen=True)
class Current:
    """What a person's page shows: the programme, the effective thresholds, the bounds set apart from it."""

    programme: str
    thresholds: rules.Thresholds
    overrides: dict[str, dict[str, float | None]] = field(default_factory=dict)


def _effective(programme: str, overrides: dict[str, Any], person_id: int) -> rules.Thresholds:
    try:
        return rules.merge(rules.programme(programme), overrides or {})
    except (ValueError, TypeError):  # a programme since removed, a row edited by hand: the default, loudly
        log.error("person thresholds unreadable, default programme used", person_id=person_id)
        return rules.DEFAULTS


def effective(person_ids: list[int]) -> dict[int, rules.Thresholds]:
    """The thresholds of those persons who have their own (one query); the others follow the default programme."""
    ids = sorted(set(person_ids))
    out: dict[int, rules.Thresholds] = {}
    for start in range(0, len(ids), CHUNK):  # one query up to CHUNK persons (SQLite's limit on parameters)
        out.update({pid: _effective(programme, overrides, pid) for pid, programme, overrides in
                    PersonThresholds.objects.filter(person_id__any=ids[start:start + CHUNK]).values_list(
                        "person_id", "programme", "overrides")})
    return out


def version(person_id: int) -> int:
    """The last change of a person's thresholds (0: none), which a form carries to detect a change meanwhile."""
    return ThresholdChange.objects.filter(person_id=person_id).order_by("-id").values_list("id", flat=True).first() \
        or 0


def current(person_id: int) -> Current:
    row = PersonThresholds.objects.filter(person_id=person_id).first()
    if row is None:
        return Current(rules.DEFAULT_PROGRAMME, rules.programme(rules.DEFAULT_PROGRAMME))
    return Current(row.programme, _effective(row.programme, row.overrides, person_id), row.overrides or {})


def history(person_id: int, limit: int = 50) -> list[ThresholdChange]:
    return list(ThresholdChange.objects.filter(person_id=person_id)[:limit])


def parse_instruction(data: Any, today: date) -> tuple[Instruction | None, dict[str, str]]:
    """The clinician's instruction from a form (`clinicien`, `date_instruction`, `motif`): every field required."""
    errors: dict[str, str] = {}
    clinician = str(data.get("clinicien", "")).strip()
    reason = str(data.get("motif", "")).strip()
    raw = str(data.get("date_instruction", "")).strip()
    if not clinician:
        errors["clinicien"] = "indiquez le nom du clinicien qui a donné l'instruction"
    elif len(clinician) > 200:
        errors["clinicien"] = "le nom du clinicien ne peut dépasser 200 caractères"
    if not reason:
        errors["motif"] = "indiquez le motif de l'instruction (ce que le clinicien a constaté ou décidé)"
    elif len(reason) > 500:
        errors["motif"] = "le motif ne peut dépasser 500 caractères"
    instructed: date | None = None
    if not raw:
        errors["date_instruction"] = "indiquez la date de l'instruction"
    else:
        try:
            instructed = _date(raw)
        except ValueError:
            errors["date_instruction"] = "date illisible : saisissez-la au format JJ/MM/AAAA"
        else:
            if instructed > today:
                errors["date_instruction"] = "la date de l'instruction ne peut être dans le futur"
            elif instructed < today - INSTRUCTION_MAX_AGE:
                errors["date_instruction"] = ("instruction de plus d'un an : faites-la confirmer par le clinicien "
                                              "avant de changer les seuils")
    if errors or instructed is None:
        return None, errors
    return Instruction(clinician, instructed, reason), {}


def _date(raw: str) -> date:
    """« 2026-07-10 » (a date field) or « 10/07/2026 » (typed where the browser has no date field)."""
    if "/" in raw:
        day, month, year = raw.split("/")
        return date(int(year), int(month), int(day))
    return date.fromisoformat(raw)


def field_name(vital: str, bound: str) -> str:
    return f"{vital}__{bound}"


def parse_bounds(data: Any) -> tuple[rules.Thresholds | None, dict[str, str]]:
    """The bounds of every vital from a form (fields `<vital>__<bound>`), checked: numbers, within the values a
    person may have, in order. Errors by field."""
    errors: dict[str, str] = {}
    wanted: dict[str, rules.Bounds] = {}
    for vital in rules.VITALS:
        values: dict[str, float | None] = {}
        for bound in rules.BOUNDS:
            name = field_name(vital, bound)
            try:
                values[bound] = rules.parse_bound(str(data.get(name, ""))[:20])
            except ValueError:
                errors[name] = "saisissez un nombre (par exemple 92 ou 37,5), ou laissez vide pour aucun seuil"
        if any(field_name(vital, b) in errors for b in rules.BOUNDS):
            continue
        bounds = rules.Bounds(**values)
        for bound, message in rules.check_bounds(vital, bounds).items():
            errors[field_name(vital, bound)] = message
        wanted[vital] = bounds
    if errors:
        return None, errors
    return rules.Thresholds(**wanted), {}


def change(access: Access, person_id: int, programme: str, wanted: rules.Thresholds | None,
           instruction: Instruction, seen: int | None = None) -> ThresholdChange:
    """Set a person's programme and bounds (`wanted` None: the programme's own) on a clinician's instruction.
    `seen`: the `version` the form was shown with — another agent's change since is not overwritten unseen."""
    if access.purpose != domain.PURPOSE:
        raise ThresholdError({"__all__": "les seuils se changent au titre de la prévention santé seulement"})
    if programme not in rules.PROGRAMMES:
        raise ThresholdError({"programme": f"programme inconnu : « {programme[:40]} »"})
    base = rules.programme(programme)
    wanted = wanted or base
    if wanted.spo2_scale != base.spo2_scale:
        wanted = replace(wanted, spo2_scale=base.spo2_scale)
    overrides = rules.overrides_of(base, wanted)
    now = clock.now()
    with transaction.atomic():
        row = PersonThresholds.objects.select_for_update().filter(person_id=person_id).first()
        if seen is not None and version(person_id) != seen:
            raise ThresholdError({"__all__": "les seuils ont été changés depuis l'ouverture de la page : relisez-les "
                                             "(historique ci-dessous) avant d'enregistrer les vôtres"}, status=409)
        before_programme = row.programme if row else rules.DEFAULT_PROGRAMME
        before = _effective(row.programme, row.overrides, person_id) if row else rules.DEFAULTS
        if before_programme == programme and rules.as_dict(before) == rules.as_dict(wanted):
            raise ThresholdError({"__all__": "aucun seuil n'a changé : rien n'est enregistré"})
        PersonThresholds.objects.update_or_create(person_id=person_id, defaults={
            "programme": programme, "overrides": overrides, "updated_at": now, "updated_by": access.actor.label})
        record = ThresholdChange.objects.create(
            person_id=person_id, at=now, by=access.actor.label, programme_before=before_programme,
            programme_after=programme, before=rules.as_dict(before), after=rules.as_dict(wanted),
            clinician=instruction.clinician[:200], instructed_on=instruction.instructed_on,
            reason=instruction.reason[:500])
        audit.record(access.actor, "change", purpose=domain.PURPOSE, person_ids=[person_id],
                     sections=[Section.VEILLE.value], detail={"seuils": record.pk, "programme": programme})
    return record


def differences(record: ThresholdChange) -> list[str]:
    """« SpO2 : seuil bas d'avertissement 94 → 90 », for each bound the change moved (and the programme)."""
    out = []
    if record.programme_before != record.programme_after:
        out.append(f"programme : {programme_label(record.programme_before)} → "
                   f"{programme_label(record.programme_after)}")
    for vital in rules.VITALS:
        old, new = (record.before or {}).get(vital, {}), (record.after or {}).get(vital, {})
        for bound in rules.BOUNDS:
            if old.get(bound) != new.get(bound):
                out.append(f"{rules.LABELS[vital]} : {rules.BOUND_LABELS[bound]} {shown(old.get(bound))} → "
                           f"{shown(new.get(bound))} {rules.UNITS[vital]}")
    return out


def programme_label(key: str) -> str:
    return rules.PROGRAMMES[key][0] if key in rules.PROGRAMMES else key


def shown(value: float | None) -> str:
    """A bound as the page writes it: « 35,5 », « 92 », « aucun »."""
    if value is None:
        return "aucun"
    return f"{value:.2f}".rstrip("0").rstrip(".").replace(".", ",")
