"""Reading FHIR vital-sign observations (issue 18). The resources below are modelled on the official vital-signs
examples of FHIR R4 (4.0.1) and R5 (observation-example-heart-rate, -respiratory-rate, -body-temperature,
-f202-temperature, -satO2, -bloodpressure), with full date-times as a home device sends them. Pure: no database."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from proactif.watch.fhir import FhirError, FhirSkipped, Reading, read, read_bundle

VITAL = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs",
                      "display": "Vital Signs"}], "text": "Vital Signs"}]
UCUM = "http://unitsofmeasure.org"
PARIS = timezone(timedelta(hours=2))


def observation(loinc: str, quantity: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation", "id": f"obs-{loinc}",
        "meta": {"profile": ["http://hl7.org/fhir/StructureDefinition/vitalsigns"]},
        "status": "final", "category": copy.deepcopy(VITAL),
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "subject": {"reference": "Patient/example"},
        "device": {"reference": "Device/oxy-17"},
        "effectiveDateTime": "2026-07-14T08:30:00+02:00",
    }
    if quantity is not None:
        resource["valueQuantity"] = quantity
    return {**resource, **fields}


HEART_RATE = observation("8867-4", {"value": 44, "unit": "beats/minute", "system": UCUM, "code": "/min"},
                         id="heart-rate")
RESPIRATORY_RATE = observation("9279-1", {"value": 26, "unit": "breaths/minute", "system": UCUM,
                                          "code": "/min"}, id="respiratory-rate")
TEMPERATURE_C = observation("8310-5", {"value": 39.2, "unit": "C", "system": UCUM, "code": "Cel"})
TEMPERATURE_F = observation("8310-5", {"value": 99.5, "unit": "F", "system": UCUM, "code": "[degF]"},
                            id="body-temperature")
SPO2 = observation("2708-6", {"value": 95, "unit": "%", "system": UCUM, "code": "%"}, id="satO2")
SPO2_PULSE_OX = observation("59408-5", {"value": 0.93, "unit": "ratio", "system": UCUM, "code": "{ratio}"})
BLOOD_PRESSURE = {
    **observation("85354-9", id="blood-pressure",
                  identifier=[{"system": "urn:ietf:rfc:3986",
                               "value": "urn:uuid:187e0c12-8dd2-67e2-99b2-bf273c878281"}],
                  effectivePeriod={"start": "2026-07-14T07:55:00+02:00", "end": "2026-07-14T07:56:00+02:00"},
                  device={"identifier": {"system": "https://proactif.example/devices", "value": "TENS-0042"}}),
    "component": [
        {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6", "display": "Systolic blood pressure"}]},
         "valueQuantity": {"value": 107, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}},
        {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4", "display": "Diastolic blood pressure"}]},
         "valueQuantity": {"value": 60, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}},
    ],
}
del BLOOD_PRESSURE["effectiveDateTime"]


def only(payload: Any, **kwargs: Any) -> Reading:
    readings = read(payload, **kwargs)
    assert len(readings) == 1
    return readings[0]


def refused(payload: Any, **kwargs: Any) -> FhirError:
    with pytest.raises(FhirError) as caught:
        read(payload, **kwargs)
    return caught.value


def test_heart_rate_gives_every_field_of_the_reading() -> None:
    assert only(HEART_RATE) == Reading(code="heart_rate", value=44.0, unit="/min",
                                       at=datetime(2026, 7, 14, 6, 30, tzinfo=UTC), device="oxy-17",
                                       subject="example", source_id="heart-rate", fhir_version="R5")


def test_bytes_text_and_dict_are_read_alike() -> None:
    text = json.dumps(HEART_RATE)
    assert read(text) == read(text.encode()) == read(HEART_RATE)


@pytest.mark.parametrize(("resource", "code", "value", "unit"), [
    (RESPIRATORY_RATE, "respiratory_rate", 26.0, "/min"),
    (TEMPERATURE_C, "temperature", 39.2, "Cel"),
    (TEMPERATURE_F, "temperature", 37.5, "Cel"),  # (99.5 − 32) × 5/9
    (SPO2, "spo2", 95.0, "%"),
    (SPO2_PULSE_OX, "spo2", 93.0, "%"),  # 59408-5, a fraction in {ratio}
])
def test_each_vital_sign_in_its_canonical_unit(resource: dict[str, Any], code: str, value: float,
                                               unit: str) -> None:
    reading = only(resource)
    assert (reading.code, reading.value, reading.unit) == (code, value, unit)


@pytest.mark.parametrize(("loinc", "given", "expected"), [
    ("8867-4", {"value": 72, "code": "{beats}/min"}, 72.0),
    ("9279-1", {"value": 18, "code": "{breaths}/min"}, 18.0),
    ("9279-1", {"value": 18, "unit": "/min"}, 18.0),  # no code: the unit text is read as UCUM
    ("8310-5", {"value": 98.6, "code": "[degF]"}, 37.0),
    ("8310-5", {"value": 32, "code": "[degF]"}, 0.0),
    ("2708-6", {"value": 0.97, "code": "1"}, 97.0),
    ("2708-6", {"value": 1, "code": "{ratio}"}, 100.0),
])
def test_unit_conversions(loinc: str, given: dict[str, Any], expected: float) -> None:
    assert only(observation(loinc, given)).value == expected


def test_blood_pressure_panel_gives_one_reading_per_component() -> None:
    systolic, diastolic = read(BLOOD_PRESSURE)
    assert (systolic.code, systolic.value, systolic.unit) == ("systolic_bp", 107.0, "mm[Hg]")
    assert (diastolic.code, diastolic.value, diastolic.unit) == ("diastolic_bp", 60.0, "mm[Hg]")
    # effectivePeriod.start, the device's identifier before its reference, the Observation's id
    assert systolic.at == datetime(2026, 7, 14, 7, 55, tzinfo=PARIS)
    assert systolic.device == "TENS-0042"
    assert systolic.source_id == "blood-pressure"


def test_blood_pressure_in_kilopascals() -> None:
    panel = copy.deepcopy(BLOOD_PRESSURE)
    panel["component"][0]["valueQuantity"] = {"value": 16, "system": UCUM, "code": "kPa"}
    panel["component"][1]["valueQuantity"] = {"value": 10.5, "system": UCUM, "code": "kPa"}
    assert [r.value for r in read(panel)] == [120.01, 78.76]


def test_a_component_without_a_value_is_left_out_and_a_panel_without_any_refused() -> None:
    panel = copy.deepcopy(BLOOD_PRESSURE)
    del panel["component"][1]["valueQuantity"]
    panel["component"][1]["dataAbsentReason"] = {"text": "brassard retiré"}
    assert [r.code for r in read(panel)] == ["systolic_bp"]
    del panel["component"][0]["valueQuantity"]
    assert refused(panel).field == "Observation.component"


def test_time_falls_back_to_issued_and_source_to_identifier() -> None:
    resource = {k: v for k, v in HEART_RATE.items() if k not in ("effectiveDateTime", "id")}
    resource |= {"issued": "2026-07-14T06:31:00Z", "identifier": [{"value": "msg-981"}]}
    reading = only(resource)
    assert reading.at == datetime(2026, 7, 14, 6, 31, tzinfo=UTC)
    assert reading.source_id == "msg-981"


def test_a_bundle_mixing_vital_signs() -> None:
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": f"urn:uuid:0000000{i}-0000-4000-8000-000000000000", "resource": r}
        for i, r in enumerate([HEART_RATE, RESPIRATORY_RATE, TEMPERATURE_F, SPO2, BLOOD_PRESSURE])]}
    assert [r.code for r in read(bundle)] == ["heart_rate", "respiratory_rate", "temperature", "spo2",
                                              "systolic_bp", "diastolic_bp"]


def test_a_transaction_bundle_is_read() -> None:
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": HEART_RATE, "request": {"method": "POST", "url": "Observation"}}]}
    assert only(bundle).code == "heart_rate"


def test_one_bad_entry_goes_to_the_dead_letter_list_and_the_rest_is_kept() -> None:
    bad = observation("8867-4", {"value": "soixante", "code": "/min"})
    draft = {**SPO2, "status": "preliminary"}
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": HEART_RATE}, {"resource": bad}, {"resource": draft}, {"resource": TEMPERATURE_C}]}
    readings, errors = read_bundle(bundle)
    assert [r.code for r in readings] == ["heart_rate", "temperature"]
    assert [(e.entry, e.field) for e in errors] == [(1, "Observation.valueQuantity.value"),
                                                     (2, "Observation.status")]
    assert str(errors[0]) == "Bundle.entry[1], Observation.valueQuantity.value : nombre attendu"
    assert isinstance(errors[1], FhirSkipped) and not isinstance(errors[0], FhirSkipped)
    assert str(refused(bundle)) == str(errors[0])  # read() refuses the whole payload on the first


@pytest.mark.parametrize(("payload", "field", "message"), [
    (b"{not json", "(contenu)", "(contenu) : JSON illisible"),
    ("[1, 2]", "(contenu)", "(contenu) : un objet JSON (une ressource FHIR) attendu"),
    ({"resourceType": "Patient", "id": "example"}, "resourceType",
     "resourceType : Observation ou Bundle attendu, reçu « Patient »"),
    ({k: v for k, v in HEART_RATE.items() if k != "code"}, "Observation.code",
     "Observation.code : champ obligatoire absent"),
    (observation("29463-7", {"value": 70, "code": "kg"}), "Observation.code",
     "Observation.code : code LOINC 29463-7 non pris en charge"),
    (observation("8867-4", {"value": 72, "code": "/s"}), "Observation.valueQuantity.code",
     "Observation.valueQuantity.code : unité « /s » non reconnue (attendue : /min)"),
    (observation("8310-5", {"value": 310, "code": "K"}), "Observation.valueQuantity.code",
     "Observation.valueQuantity.code : unité « K » non reconnue (attendue : Cel)"),
    (observation("8867-4", {"value": "72 bpm", "code": "/min"}), "Observation.valueQuantity.value",
     "Observation.valueQuantity.value : nombre attendu"),
    (observation("8867-4", {"value": True, "code": "/min"}), "Observation.valueQuantity.value",
     "Observation.valueQuantity.value : nombre attendu"),
    (observation("8867-4", {"code": "/min"}), "Observation.valueQuantity",
     "Observation.valueQuantity : valeur absente"),
    (observation("8867-4", {"value": 72, "system": "http://snomed.info/sct", "code": "258983007"}),
     "Observation.valueQuantity.system", "Observation.valueQuantity.system : unités UCUM "
     "(http://unitsofmeasure.org) attendues"),
    (observation("2708-6", {"value": 93, "code": "1"}), "Observation.valueQuantity.value",
     "Observation.valueQuantity.value : 93.0 : fraction entre 0 et 1 attendue en « 1 »"),
    ({k: v for k, v in HEART_RATE.items() if k != "effectiveDateTime"}, "Observation.effective[x]",
     "Observation.effective[x] : aucune date (effectiveDateTime, effectivePeriod.start, issued)"),
    ({**HEART_RATE, "effectiveDateTime": "2026-07-14"}, "Observation.effectiveDateTime",
     "Observation.effectiveDateTime : « 2026-07-14 » : date et heure avec fuseau attendues"),
    ({**HEART_RATE, "effectiveDateTime": "2026-07-14T08:30:00"}, "Observation.effectiveDateTime",
     "Observation.effectiveDateTime : date et heure avec fuseau attendues (2026-07-14T08:30:00+02:00)"),
    ({**HEART_RATE, "category": [{"text": "Laboratory"}]}, "Observation.category",
     "Observation.category : catégorie vital-signs attendue"),
    ({**HEART_RATE, "status": "entered-in-error"}, "Observation.status",
     "Observation.status : « entered-in-error » : observation ignorée, non définitive"),
    ({**HEART_RATE, "status": "done"}, "Observation.status", "Observation.status : « done » : statut inconnu"),
    ({**HEART_RATE, "valeur": 72}, "Observation.valeur", "Observation.valeur : champ inconnu en FHIR R5"),
    ({"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": HEART_RATE}]}, "Bundle.type",
     "Bundle.type : « searchset » : collection, transaction ou batch attendu"),
    ({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Patient"}}]},
     "resource.resourceType", "Bundle.entry[0], resource.resourceType : Observation attendu, reçu « Patient »"),
])
def test_refusals_name_the_field_in_one_french_line(payload: Any, field: str, message: str) -> None:
    error = refused(payload)
    assert (error.field, str(error)) == (field, message)
    assert "\n" not in str(error)


def test_entered_in_error_is_skipped_not_malformed() -> None:
    assert isinstance(refused({**HEART_RATE, "status": "entered-in-error"}), FhirSkipped)


def test_too_big_payloads_are_refused_before_parsing() -> None:
    assert refused(b" " * 1_000_001).reason == "1000001 octets, au plus 1000000"
    padded = {**HEART_RATE, "note": [{"text": "x" * 1_000_000}]}
    assert refused(padded).field == "(contenu)"
    assert refused("é" * 600_000).reason == "1200000 octets, au plus 1000000"  # bytes, not characters


def test_a_dict_that_is_not_json_is_refused() -> None:
    assert str(refused({**HEART_RATE, "effectiveDateTime": datetime(2026, 7, 14, tzinfo=UTC)})) == (
        "(contenu) : objet non représentable en JSON")


def test_more_than_a_thousand_entries_are_refused() -> None:
    small = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": small}] * 1001}
    assert str(refused(bundle)) == "Bundle.entry : 1001 entrées, au plus 1000"


# R4 vs R5


def test_a_profile_pinned_to_4_0_1_is_validated_as_r4() -> None:
    r4 = {**HEART_RATE, "meta": {"profile": ["http://hl7.org/fhir/StructureDefinition/heartrate|4.0.1"]}}
    assert only(r4).fhir_version == "R4"
    r5 = {**HEART_RATE, "meta": {"profile": ["http://hl7.org/fhir/StructureDefinition/heartrate|5.0.0"]}}
    assert only(r5).fhir_version == "R5"


def test_the_explicit_version_wins_over_the_profile() -> None:
    pinned_r5 = {**HEART_RATE, "meta": {"profile": ["http://hl7.org/fhir/StructureDefinition/heartrate|5.0.0"]}}
    assert only(pinned_r5, fhir_version="4.0").fhir_version == "R4"
    assert str(refused(HEART_RATE, fhir_version="R6")) == "fhir_version : « R6 » : R4 ou R5 attendu"


def test_an_r5_only_element_is_refused_in_r4() -> None:
    triggered = {**HEART_RATE, "triggeredBy": [{"observation": {"reference": "Observation/spo2"},
                                                "type": "reflex"}]}
    assert only(triggered).fhir_version == "R5"  # guessed: R5 first
    error = refused(triggered, fhir_version="R4")
    assert str(error) == "Observation.triggeredBy : champ inconnu en FHIR R4"
    pinned = {**triggered, "meta": {"profile": ["http://hl7.org/fhir/R4/StructureDefinition/vitalsigns"]}}
    assert refused(pinned).field == "Observation.triggeredBy"


def test_an_r4_resource_invalid_in_r5_is_read_as_r4() -> None:
    # R4's Device.deviceName became Device.name in R5: the device described inline is valid only in R4
    r4 = {**SPO2, "contained": [{"resourceType": "Device", "id": "oxy",
                                 "deviceName": [{"name": "Oxymètre de pouls", "type": "user-friendly-name"}]}],
          "device": {"reference": "#oxy"}}
    reading = only(r4)
    assert (reading.fhir_version, reading.device, reading.value) == ("R4", "oxy", 95.0)
    # invalid in both: R5's error is the one reported
    both = {**r4, "valueQuantity": {"value": "n/a", "code": "%"}}
    assert str(refused(both)) == "Observation.contained[0].deviceName : champ inconnu en FHIR R5"


# The project's device events


def event(code: str, **value: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": f"evt-{code}", "status": "final",
            "code": {"coding": [{"system": "https://proactif.example/fhir/CodeSystem/veille", "code": code}]},
            "subject": {"identifier": {"value": "P-000123"}}, "device": {"identifier": {"value": "CHUTE-0042"}},
            "effectiveDateTime": "2026-07-14T03:12:00+02:00", **value}


@pytest.mark.parametrize(("code", "value", "expected"), [
    ("fall", {"valueBoolean": True}, ("fall", 1.0)),
    ("fall", {"valueBoolean": False}, ("fall", 0.0)),
    ("ok-button", {"valueBoolean": True}, ("ok_button", 1.0)),
    ("presence", {"valueBoolean": False}, ("presence", 0.0)),
    ("motion", {"valueInteger": 4}, ("motion", 1.0)),
    ("motion", {"valueInteger": 0}, ("motion", 0.0)),
])
def test_device_events(code: str, value: dict[str, Any], expected: tuple[str, float]) -> None:
    reading = only(event(code, **value))
    assert (reading.code, reading.value, reading.unit) == (*expected, "1")
    assert (reading.device, reading.subject) == ("CHUTE-0042", "P-000123")


@pytest.mark.parametrize(("resource", "message"), [
    (event("door", valueBoolean=True), "Observation.code : « door » : code de veille inconnu"),
    (event("fall"), "Observation.value[x] : valueBoolean ou valueInteger attendu"),
    (event("motion", valueInteger=-1), "Observation.valueInteger : -1 : entier positif ou nul attendu"),
    (event("fall", valueBoolean="oui"), "Observation.valueBoolean : booléen attendu"),
])
def test_device_event_refusals(resource: dict[str, Any], message: str) -> None:
    assert str(refused(resource)) == message
