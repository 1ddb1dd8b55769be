"""Reading FHIR vital-sign observations sent by home devices (issue 18): one payload in — an `Observation` or a
`Bundle` of them, as bytes, text or a parsed dict — a list of `Reading` out, in canonical UCUM units. Pure: no
Django, no I/O; resources are validated with fhir.resources (pydantic models of the official structure).

FHIR version, the rule stated once (per resource; a Bundle's envelope follows the same rule):
1. an explicit `fhir_version` argument wins ("R4", "R4B", "4.0.1", "4.3.0" → R4; "R5", "5.0.0" → R5) — what an
   HTTP endpoint reads from `Content-Type: application/fhir+json; fhirVersion=4.0`;
2. else the resource's `meta.profile`: a canonical pinned to a version (`…/vitalsigns|4.0.1`, `|4.3.0`, `|5.0.0`)
   or a versioned path (`http://hl7.org/fhir/R4/…`, `/R4B/`, `/R5/`);
3. else R5 (fhir.resources' default package) and, if the resource is invalid there, R4 (`fhir.resources.R4B`,
   whose Observation is R4's). R4 observations usually validate as R5 too: they are then read the same way.
A resource invalid in its version — or in both when guessed — is refused with the validator's first error as one
French line naming the field path (« Observation.valueQuantity.value : nombre attendu »); a guessed version
reports R5's error.

Accepted: status final, amended or corrected (registered, preliminary, cancelled, entered-in-error and unknown
are skipped: `FhirSkipped`, a `FhirError` whose reason says why); category vital-signs of
http://terminology.hl7.org/CodeSystem/observation-category; LOINC 8867-4 heart rate, 9279-1 respiratory rate,
8310-5 body temperature, 2708-6 / 59408-5 SpO2, 85354-9 blood pressure panel (components 8480-6 systolic,
8462-4 diastolic: one reading each; a panel with neither value is refused). Time: effectiveDateTime,
effectiveInstant, effectivePeriod.start, else issued — always with a time zone (FHIR requires one with a time).

Units (valueQuantity.code when given, else .unit; a system other than UCUM is refused): "/min", "{beats}/min",
"{breaths}/min", "1/min" → /min; "Cel", "[degF]" → Cel; "%", or a fraction 0–1 in "1" or "{ratio}" → %;
"mm[Hg]", "kPa" → mm[Hg]. Converted values are rounded to 2 decimals. Any other unit is refused naming the field.

Device events — FHIR has no single standard for them, so the project defines one. An Observation (any category,
none needed) whose code has a coding in the system https://proactif.example/fhir/CodeSystem/veille:
    motion     a motion sensor saw movement (true) or reports a quiet interval (false)
    presence   a presence sensor: the person is in the room/home (true) or not (false)
    fall       a fall detector raised (true) or cleared (false) a fall
    ok-button  the « tout va bien » button was pressed (true)
with valueBoolean, or valueInteger 0 / positive (a count of detections: any positive count is 1). It gives
Reading(code="motion"|"presence"|"fall"|"ok_button", value=1.0 or 0.0, unit="1"), with the same time, device,
subject and status rules as vital signs. Example:
    {"resourceType": "Observation", "status": "final",
     "code": {"coding": [{"system": "https://proactif.example/fhir/CodeSystem/veille", "code": "fall"}]},
     "device": {"identifier": {"value": "CHUTE-0042"}}, "effectiveDateTime": "2026-07-14T03:12:00+02:00",
     "valueBoolean": true}

Two readers: `read` is strict — the first error refuses the whole payload; `read_bundle` keeps what is good and
returns the bad entries as a dead-letter list (`FhirError.entry` is the entry's index). Either refuses a payload
over 1 MB or a Bundle of more than 1000 entries outright.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import pydantic
from fhir.resources.bundle import Bundle as BundleR5
from fhir.resources.observation import Observation as ObservationR5
from fhir.resources.R4B.bundle import Bundle as BundleR4
from fhir.resources.R4B.observation import Observation as ObservationR4

Version = Literal["R4", "R5"]

MAX_BYTES = 1_000_000
MAX_ENTRIES = 1000
BUNDLE_TYPES = ("collection", "transaction", "batch")
ACCEPTED_STATUSES = ("final", "amended", "corrected")
SKIPPED_STATUSES = ("registered", "preliminary", "cancelled", "entered-in-error", "unknown")

CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
VEILLE = "https://proactif.example/fhir/CodeSystem/veille"

VITALS = {"8867-4": "heart_rate", "9279-1": "respiratory_rate", "8310-5": "temperature", "2708-6": "spo2",
          "59408-5": "spo2"}
BP_PANEL = "85354-9"
BP_COMPONENTS = {"8480-6": "systolic_bp", "8462-4": "diastolic_bp"}
EVENTS = {"motion": "motion", "presence": "presence", "fall": "fall", "ok-button": "ok_button"}

MMHG_PER_KPA = 7.50062
# Per reading code: the UCUM units accepted and how each becomes the canonical one (first of the tuple).
PER_MINUTE = ("/min", {"/min": 1.0, "{beats}/min": 1.0, "{breaths}/min": 1.0, "1/min": 1.0})
PRESSURE = ("mm[Hg]", {"mm[Hg]": 1.0, "kPa": MMHG_PER_KPA})
UNITS: dict[str, tuple[str, dict[str, float]]] = {
    "heart_rate": PER_MINUTE, "respiratory_rate": PER_MINUTE, "systolic_bp": PRESSURE, "diastolic_bp": PRESSURE,
    "temperature": ("Cel", {"Cel": 1.0}), "spo2": ("%", {"%": 1.0}),
}
FRACTION_UNITS = ("1", "{ratio}")


class FhirError(ValueError):
    """A payload or resource refused: the FHIR path of the field at fault, a one-line French reason and, for a
    Bundle entry, the entry's index."""

    def __init__(self, field: str, reason: str, entry: int | None = None):
        where = f"Bundle.entry[{entry}], {field}" if entry is not None else field
        super().__init__(f"{where} : {reason}")
        self.field = field
        self.reason = reason
        self.entry = entry

    def in_entry(self, entry: int) -> FhirError:
        return type(self)(self.field, self.reason, entry)


class FhirSkipped(FhirError):
    """A well-formed observation not to be used (preliminary, entered in error…): skipped, not malformed."""


@dataclass(frozen=True)
class Reading:
    code: str  # heart_rate, respiratory_rate, temperature, spo2, systolic_bp, diastolic_bp, or a device event
    value: float
    unit: str  # canonical: /min, Cel, %, mm[Hg]; "1" for device events
    at: datetime  # aware
    device: str | None
    subject: str | None
    source_id: str | None
    fhir_version: Version


def read(payload: bytes | str | dict[str, Any], fhir_version: str | None = None) -> list[Reading]:
    """Every reading of an Observation or a Bundle; the first bad entry refuses the whole payload."""
    readings, errors = read_bundle(payload, fhir_version)
    if errors:
        raise errors[0]
    return readings


def read_bundle(payload: bytes | str | dict[str, Any],
                fhir_version: str | None = None) -> tuple[list[Reading], list[FhirError]]:
    """The readings of the good entries and one error per bad or skipped entry (the dead-letter list). A payload
    that is not a resource at all, too big, or a Bundle whose envelope is wrong raises `FhirError`."""
    resource = _load(payload)
    version = _version_argument(fhir_version)
    kind = resource.get("resourceType")
    if kind == "Observation":
        try:
            return _observation(resource, version), []
        except FhirError as error:
            return [], [error]
    if kind != "Bundle":
        raise FhirError("resourceType", f"Observation ou Bundle attendu, reçu « {kind} »" if kind
                        else "champ obligatoire absent")
    entries = resource.get("entry") or []
    if not isinstance(entries, list):
        raise FhirError("Bundle.entry", "liste attendue")
    if len(entries) > MAX_ENTRIES:
        raise FhirError("Bundle.entry", f"{len(entries)} entrées, au plus {MAX_ENTRIES}")
    envelope = {**resource, "entry": [{k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict)
                                      else e for e in entries]}
    _validate(envelope, "Bundle", version or _profile_version(resource))
    if resource.get("type") not in BUNDLE_TYPES:
        raise FhirError("Bundle.type", f"« {resource.get('type')} » : collection, transaction ou batch attendu")
    readings: list[Reading] = []
    errors: list[FhirError] = []
    for index, entry in enumerate(entries):
        try:
            inner = entry.get("resource")
            if not isinstance(inner, dict):
                raise FhirError("resource", "ressource absente")
            if inner.get("resourceType") != "Observation":
                raise FhirError("resource.resourceType",
                                f"Observation attendu, reçu « {inner.get('resourceType')} »")
            readings.extend(_observation(inner, version))
        except FhirError as error:
            errors.append(error.in_entry(index))
    return readings, errors


def _load(payload: bytes | str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(payload, dict):
        try:
            payload = json.dumps(payload)  # measured like the bytes a device would send
        except (TypeError, ValueError):
            raise FhirError("(contenu)", "objet non représentable en JSON") from None
    size = len(payload.encode()) if isinstance(payload, str) else len(payload)
    if size > MAX_BYTES:
        raise FhirError("(contenu)", f"{size} octets, au plus {MAX_BYTES}")
    try:
        loaded = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise FhirError("(contenu)", "JSON illisible") from None
    if not isinstance(loaded, dict):
        raise FhirError("(contenu)", "un objet JSON (une ressource FHIR) attendu")
    return loaded


def _version_argument(value: str | None) -> Version | None:
    if value is None:
        return None
    text = value.strip().upper().removeprefix("R")
    if text.startswith("4"):
        return "R4"
    if text.startswith("5"):
        return "R5"
    raise FhirError("fhir_version", f"« {value} » : R4 ou R5 attendu")


def _profile_version(resource: dict[str, Any]) -> Version | None:
    meta = resource.get("meta")
    profiles = meta.get("profile") if isinstance(meta, dict) else None
    for profile in profiles if isinstance(profiles, list) else []:
        if not isinstance(profile, str):
            continue
        pinned = profile.rpartition("|")[2] if "|" in profile else ""
        if pinned.startswith("4.") or "/fhir/R4/" in profile or "/fhir/R4B/" in profile:
            return "R4"
        if pinned.startswith("5.") or "/fhir/R5/" in profile:
            return "R5"
    return None


MODELS: dict[tuple[str, Version], Any] = {
    ("Observation", "R5"): ObservationR5, ("Observation", "R4"): ObservationR4,
    ("Bundle", "R5"): BundleR5, ("Bundle", "R4"): BundleR4,
}


def _validate(resource: dict[str, Any], kind: str, version: Version | None) -> tuple[Any, Version]:
    """The validated model and its version, by the rule of the module's docstring."""
    first: FhirError | None = None
    for candidate in (version,) if version else ("R5", "R4"):
        try:
            return MODELS[(kind, candidate)].model_validate(resource), candidate
        except pydantic.ValidationError as error:
            first = first or _translate(error, kind, candidate)
    assert first is not None
    raise first


def _translate(error: pydantic.ValidationError, kind: str, version: Version) -> FhirError:
    detail = error.errors()[0]
    path = kind + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in detail["loc"])
    kind_of, message = detail["type"], detail["msg"]
    if kind_of == "missing":
        reason = "champ obligatoire absent"
    elif kind_of == "extra_forbidden":
        reason = f"champ inconnu en FHIR {version}"
    elif "Decimal" in message or kind_of in ("float_type", "decimal_type"):
        reason = "nombre attendu"
    elif "DateTime" in message or "Instant" in message:
        reason = "date et heure avec fuseau attendues (2026-07-14T08:30:00+02:00)"
    elif "Integer" in message or kind_of.startswith("int"):
        reason = "entier attendu"
    elif "Boolean" in message or kind_of.startswith("bool"):
        reason = "booléen attendu"
    elif kind_of == "list_type":
        reason = "liste attendue"
    elif kind_of in ("string_type", "str_type") or "String" in message:
        reason = "texte attendu"
    elif kind_of in ("json_invalid", "dict_type", "model_type", "model_attributes_type"):
        reason = "objet attendu"
    elif kind_of == "fhir-validation-wrong-resource-type":
        path, reason = f"{kind}.resourceType", f"{kind} attendu"
    else:
        reason = "valeur refusée par le validateur FHIR"
    return FhirError(path, reason)


def _observation(resource: dict[str, Any], forced: Version | None) -> list[Reading]:
    obs, version = _validate(resource, "Observation", forced or _profile_version(resource))
    if obs.status in SKIPPED_STATUSES:
        raise FhirSkipped("Observation.status", f"« {obs.status} » : observation ignorée, non définitive")
    if obs.status not in ACCEPTED_STATUSES:
        raise FhirError("Observation.status", f"« {obs.status} » : statut inconnu")
    at, device, subject, source_id = _when(obs), _reference_id(obs.device), _reference_id(obs.subject), _source_id(obs)

    def reading(code: str, value: float, unit: str) -> Reading:
        return Reading(code=code, value=value, unit=unit, at=at, device=device, subject=subject,
                       source_id=source_id, fhir_version=version)

    event = _coding(obs.code, VEILLE)
    if event is not None:
        if event not in EVENTS:
            raise FhirError("Observation.code", f"« {event} » : code de veille inconnu")
        return [reading(EVENTS[event], _event_value(obs), "1")]
    loinc = _coding(obs.code, LOINC)
    if loinc is None:
        raise FhirError("Observation.code", "aucun code LOINC ni code de veille")
    if not any(_coding(category, CATEGORY_SYSTEM) == "vital-signs" for category in obs.category or []):
        raise FhirError("Observation.category", "catégorie vital-signs attendue")
    if loinc in VITALS:
        code = VITALS[loinc]
        return [reading(code, _value(code, obs.valueQuantity, "Observation.valueQuantity"), UNITS[code][0])]
    if loinc != BP_PANEL:
        raise FhirError("Observation.code", f"code LOINC {loinc} non pris en charge")
    readings = []
    for index, component in enumerate(obs.component or []):
        part = BP_COMPONENTS.get(_coding(component.code, LOINC) or "")
        if part is None or component.valueQuantity is None:
            continue  # another component (mean pressure…) or a value absent with its reason
        field = f"Observation.component[{index}].valueQuantity"
        readings.append(reading(part, _value(part, component.valueQuantity, field), UNITS[part][0]))
    if not readings:
        raise FhirError("Observation.component", "ni systolique (8480-6) ni diastolique (8462-4) avec une valeur")
    return readings


def _coding(concept: Any, system: str) -> str | None:
    for coding in (concept.coding or []) if concept is not None else []:
        if coding.system == system and coding.code:
            return str(coding.code)
    return None


def _value(code: str, quantity: Any, field: str) -> float:
    if quantity is None or quantity.value is None:
        raise FhirError(field, "valeur absente")
    if quantity.system is not None and quantity.system != UCUM:
        raise FhirError(f"{field}.system", f"unités UCUM ({UCUM}) attendues")
    unit = quantity.code or quantity.unit
    value = float(quantity.value)
    canonical, factors = UNITS[code]
    if code == "temperature" and unit == "[degF]":
        return round((value - 32) * 5 / 9, 2)
    if code == "spo2" and unit in FRACTION_UNITS:
        if not 0 <= value <= 1:
            raise FhirError(f"{field}.value", f"{value} : fraction entre 0 et 1 attendue en « {unit} »")
        return round(value * 100, 2)
    if unit not in factors:
        raise FhirError(f"{field}.code", f"unité « {unit} » non reconnue (attendue : {canonical})")
    return value if factors[unit] == 1.0 else round(value * factors[unit], 2)


def _event_value(obs: Any) -> float:
    if obs.valueBoolean is not None:
        return 1.0 if obs.valueBoolean else 0.0
    if obs.valueInteger is not None:
        if obs.valueInteger < 0:
            raise FhirError("Observation.valueInteger", f"{obs.valueInteger} : entier positif ou nul attendu")
        return 1.0 if obs.valueInteger > 0 else 0.0
    raise FhirError("Observation.value[x]", "valueBoolean ou valueInteger attendu")


def _when(obs: Any) -> datetime:
    fields = (("effectiveDateTime", obs.effectiveDateTime), ("effectiveInstant", obs.effectiveInstant),
              ("effectivePeriod.start", obs.effectivePeriod.start if obs.effectivePeriod else None),
              ("issued", obs.issued))
    for name, value in fields:
        if value is None:
            continue
        if not isinstance(value, datetime) or value.tzinfo is None:
            shown = value.isoformat() if isinstance(value, date) else value
            raise FhirError(f"Observation.{name}", f"« {shown} » : date et heure avec fuseau attendues")
        return value
    raise FhirError("Observation.effective[x]", "aucune date (effectiveDateTime, effectivePeriod.start, issued)")


def _reference_id(reference: Any) -> str | None:
    """The identifier's value, else the id in a relative reference (Device/abc → abc, a contained #abc → abc)."""
    if reference is None:
        return None
    if reference.identifier is not None and reference.identifier.value:
        return str(reference.identifier.value)
    if reference.reference:
        return str(reference.reference).rstrip("/").rpartition("/")[2].removeprefix("#")
    return None


def _source_id(obs: Any) -> str | None:
    if obs.id:
        return str(obs.id)
    for identifier in obs.identifier or []:
        if identifier.value:
            return str(identifier.value)
    return None
