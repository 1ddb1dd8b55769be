"""A person's thresholds, changed by a prévention santé agent on a clinician's instruction: the programme they start
from, the bounds set apart, checked field by field (French messages, 400, nothing written); every change kept with
the instruction, shown on the person's page and written in the access log; the rules and the charts use the
effective thresholds, read once per batch of persons; the GDPR export and erasure cover them."""

from __future__ import annotations

import html
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from proactif.accounts import services as accounts
from proactif.accounts.domain import access_for, system_actor
from proactif.audit.models import AccessLog
from proactif.kernel import clock
from proactif.watch import _alerts as alerts
from proactif.watch import _desk as desk
from proactif.watch import _gdpr as gdpr
from proactif.watch import _thresholds as thresholds
from proactif.watch import rules
from proactif.watch.models import Alert, Device, PersonThresholds, ThresholdChange
from tests.watch.test_alerts import oximeter, spo2
from tests.watch.test_desk import resident

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 7, 14, 8, 0, tzinfo=UTC)
INSTRUCTION = {"clinicien": "Dr Claire Martin, pneumologue", "date_instruction": "2026-07-10",
               "motif": "BPCO stade 3 : SpO2 habituelle 90-92 %, alerte sous 88 seulement"}


@pytest.fixture
def fixed():
    moving = clock.FixedClock(T0)
    with clock.use(moving):
        yield moving


def form(**bounds: str) -> dict[str, str]:
    """The bounds form as the page fills it (the current, default values), with `bounds` changed."""
    data = {"action": "seuils", **INSTRUCTION}
    for vital in rules.VITALS:
        for bound in rules.BOUNDS:
            value = getattr(rules.DEFAULTS.of(vital), bound)
            data[thresholds.field_name(vital, bound)] = "" if value is None else f"{value:g}".replace(".", ",")
    data.update({k: v for k, v in bounds.items()})
    return data


def text(response) -> str:
    """The page's text as read: entities decoded, typographic apostrophes and spaces as typed."""
    page = html.unescape(response.content.decode())
    return page.replace("\u2019", "'").replace("\u00a0", " ").replace("\u202f", " ")


def agent(agents: dict, who: str = "sante") -> Client:
    client = Client()
    client.force_login(agents[who])
    return client


# --- the rules, pure -----------------------------------------------------------------------------------------
def test_bounds_are_checked_in_order_and_within_what_a_person_may_have() -> None:
    assert rules.check_bounds("spo2", rules.Bounds(88, 90, None, None)) == {}
    assert "ne peut dépasser" in rules.check_bounds("spo2", rules.Bounds(92, 90, None, None))["critical_low"]
    assert "hors des valeurs possibles" in rules.check_bounds("spo2", rules.Bounds(40, 90, None, None))[
        "critical_low"]
    errors = rules.check_bounds("heart_rate", rules.Bounds(40, 60, 60, 130))  # warning low = warning high
    assert "doit être au-dessus" in errors["warning_high"]
    assert "ne peut être sous" in rules.check_bounds("heart_rate", rules.Bounds(40, 50, 110, 100))["critical_high"]
    assert "au moins un seuil" in rules.check_bounds("spo2", rules.Bounds(None, None, None, None))["warning_low"]
    assert rules.parse_bound(" 37,5 ") == 37.5 and rules.parse_bound("") is None
    for bad in ("abc", "nan", "inf", "1e999"):
        with pytest.raises(ValueError):
            rules.parse_bound(bad)


def test_the_respiratory_programme_reads_spo2_on_the_news2_scale_2() -> None:
    respiratory = rules.programme("insuffisance_respiratoire")
    assert respiratory.spo2_scale == 2 and respiratory.spo2.level(89) == 0 and rules.DEFAULTS.spo2.level(89) == 2
    assert respiratory.spo2.level(86) == 1 and respiratory.spo2.level(83) == 2
    with pytest.raises(ValueError, match="programme inconnu"):
        rules.programme("nimporte")

    def news2_findings(evaluator: rules.Evaluator) -> list[rules.Finding]:
        out = []
        for i in range(4):  # a complete set, SpO2 at 89 %: 3 points on scale 1, none on scale 2
            out += evaluator.feed(rules.Reading("p", T0 + timedelta(minutes=15 * i), vitals={
                "heart_rate": 80, "respiratory_rate": 16, "temperature": 37.0, "spo2": 89, "systolic_bp": 130}))
        return [f for f in out if f.rule == "news2"]

    assert news2_findings(rules.Evaluator())  # scale 1: a red parameter
    assert not news2_findings(rules.Evaluator(per_person={"p": respiratory}))


# --- the agent's page ----------------------------------------------------------------------------------------
def test_an_agent_changes_a_persons_thresholds_with_the_clinicians_instruction(agents, fixed) -> None:
    person_id = resident(3)
    client = agent(agents)
    response = client.post(f"/veille/personnes/{person_id}/", form(spo2__critical_low="86", spo2__warning_low="88"))
    assert response.status_code == 302 and response["Location"].endswith("#seuils")
    own = PersonThresholds.objects.get(person_id=person_id)
    assert own.programme == "standard" and own.overrides == {"spo2": {"critical_low": 86.0, "warning_low": 88.0}}
    change = ThresholdChange.objects.get(person_id=person_id)
    assert (change.clinician, change.instructed_on, change.by) == (
        "Dr Claire Martin, pneumologue", date(2026, 7, 10), agents["sante"].email)
    assert change.before["spo2"]["warning_low"] == 94 and change.after["spo2"]["warning_low"] == 88
    logged = AccessLog.objects.get(person_id=person_id, action="change")
    assert (logged.section, logged.purpose, logged.detail["seuils"]) == ("veille", "prevention_sante", change.pk)
    page = text(client.get(f"/veille/personnes/{person_id}/"))
    assert "sur instruction de Dr Claire Martin, pneumologue (du 10/07/2026) : « BPCO stade 3" in page
    assert "SpO2 : seuil bas d'avertissement 94 → 88 %" in page and "propre à la personne" in page
    assert thresholds.effective([person_id])[person_id].spo2 == rules.Bounds(86, 88, None, None)


def test_a_change_is_refused_field_by_field_in_french_and_writes_nothing(agents, fixed) -> None:
    person_id = resident(4)
    client = agent(agents)
    url = f"/veille/personnes/{person_id}/"
    cases = [
        ({**form(spo2__warning_low="93"), "clinicien": " "}, "indiquez le nom du clinicien"),
        ({**form(spo2__warning_low="93"), "motif": ""}, "indiquez le motif"),
        ({**form(spo2__warning_low="93"), "date_instruction": ""}, "indiquez la date de l'instruction"),
        ({**form(spo2__warning_low="93"), "date_instruction": "31/02/2026"}, "date illisible"),
        ({**form(spo2__warning_low="93"), "date_instruction": "2026-07-15"}, "ne peut être dans le futur"),
        ({**form(spo2__warning_low="93"), "date_instruction": "2024-01-02"}, "instruction de plus d'un an"),
        (form(spo2__warning_low="quatre-vingt-dix"), "saisissez un nombre"),
        (form(spo2__warning_low="91", spo2__critical_low="93"), "ne peut dépasser le seuil bas"),
        (form(heart_rate__warning_high="300"), "hors des valeurs possibles (20 à 250 /min)"),
        (form(temperature__warning_high="35,2"), "doit être au-dessus du seuil bas"),
        (form(), "aucun seuil n'a changé"),
        ({**INSTRUCTION, "action": "programme", "programme": "magie"}, "programme inconnu"),
        ({**INSTRUCTION, "action": "effacer"}, "action inconnue"),
        ({}, "action inconnue"),
    ]
    for data, said in cases:
        response = client.post(url, data)
        assert response.status_code == 400, (data, response.status_code)
        assert said in text(response), said
    assert not PersonThresholds.objects.filter(person_id=person_id).exists()
    assert not ThresholdChange.objects.filter(person_id=person_id).exists()
    assert not AccessLog.objects.filter(person_id=person_id, action="change").exists()
    assert client.post("/veille/personnes/999999999/", form(spo2__warning_low="90")).status_code == 404


def test_only_an_agent_acting_for_prevention_sante_changes_thresholds(agents, fixed) -> None:
    person_id = resident(5)
    url = f"/veille/personnes/{person_id}/"
    assert agent(agents, "police").post(url, form(spo2__warning_low="90")).status_code == 403
    assert agent(agents, "ccas").post(url, form(spo2__warning_low="90")).status_code == 403  # action sociale
    anonymous = Client().post(url, form(spo2__warning_low="90"))
    assert anonymous.status_code == 302 and "/connexion/" in anonymous["Location"]
    with pytest.raises(thresholds.ThresholdError, match="prévention santé"):
        thresholds.change(access_for(accounts.actor_for_agent(agents["ccas"]), "action_sociale"), person_id,
                          "standard", None, thresholds.Instruction("Dr X", date(2026, 7, 1), "motif"))
    assert not ThresholdChange.objects.filter(person_id=person_id).exists()


def test_a_programme_replaces_the_persons_own_bounds(agents, fixed) -> None:
    person_id = resident(6)
    client = agent(agents)
    url = f"/veille/personnes/{person_id}/"
    assert client.post(url, form(heart_rate__warning_high="100")).status_code == 302
    response = client.post(url, {**INSTRUCTION, "action": "programme", "programme": "insuffisance_respiratoire"})
    assert response.status_code == 302
    own = PersonThresholds.objects.get(person_id=person_id)
    assert (own.programme, own.overrides) == ("insuffisance_respiratoire", {})
    effective = thresholds.effective([person_id])[person_id]
    assert effective.spo2_scale == 2 and effective.heart_rate == rules.DEFAULTS.heart_rate
    last = ThresholdChange.objects.filter(person_id=person_id).first()
    diffs = thresholds.differences(last)
    assert diffs[0].startswith("programme : Personne âgée") and "Insuffisance respiratoire" in diffs[0]
    assert "fréquence cardiaque : seuil haut d'avertissement 100 → 110 /min" in diffs
    assert ThresholdChange.objects.filter(person_id=person_id).count() == 2


# --- the rules and the charts read the effective thresholds --------------------------------------------------
def set_spo2(person_id: int, critical_low: float, warning_low: float) -> None:
    wanted = rules.merge(rules.DEFAULTS, {"spo2": {"critical_low": critical_low, "warning_low": warning_low}})
    thresholds.change(access_for(system_actor("test"), "prevention_sante"), person_id, "standard", wanted,
                      thresholds.Instruction("Dr Claire Martin", date(2026, 7, 10), "BPCO"))


def test_the_rules_use_the_persons_thresholds_read_once_per_batch(fixed) -> None:
    own, other = 7101, 7102
    set_spo2(own, 86, 88)
    serials = [oximeter(own), oximeter(other)]
    devices = dict(Device.objects.filter(serial__in=serials).values_list("serial", "id"))
    rows = [(devices[serial], person, "spo2", T0 + timedelta(minutes=5 * i), 90.0)
            for i in range(8) for serial, person in zip(serials, (own, other), strict=True)]
    with CaptureQueriesContext(connection) as queries:
        alerts.evaluate(rows)
    lookups = [q["sql"] for q in queries.captured_queries if "watch_personthresholds" in q["sql"]]
    assert len(lookups) == 1  # one query for the batch, not one per person or per reading
    assert not Alert.objects.filter(person_id=own).exists()  # 90 % is the clinician's normal for this person
    assert Alert.objects.get(person_id=other).severity == "critical"  # the default programme: critical below 92
    spo2(serials[0], [85] * 3, start=T0 + timedelta(hours=1))
    assert Alert.objects.get(person_id=own).severity == "critical"  # below the person's own critical bound
    with CaptureQueriesContext(connection) as queries:
        alerts.tick(T0 + timedelta(hours=3))
    assert len([q for q in queries.captured_queries if "watch_personthresholds" in q["sql"]]) == 1


def test_the_page_charts_draw_the_persons_own_thresholds(agents) -> None:
    person_id = resident(7)
    set_spo2(person_id, 86, 88)
    spo2(oximeter(person_id), [91, 90, 92, 91], start=clock.now() - timedelta(hours=2))
    access = access_for(accounts.actor_for_agent(agents["sante"]), "prevention_sante")
    page = desk.person_page(access, person_id)
    chart = next(c for c in page["charts"] if c.id == "veille-spo2")
    lines = {s.label: set(s.data) for s in chart.series}
    assert lines["Seuil bas d'avertissement"] == {88} and lines["Seuil bas critique"] == {86}
    assert page["programme"] == "standard" and page["threshold_history"]


def test_the_thresholds_go_with_the_persons_gdpr_handling(fixed) -> None:
    person_id = 7303
    set_spo2(person_id, 86, 88)
    exported = gdpr.export(person_id)["telesurveillance"]["seuils"]
    assert exported["seuils_propres"] == {"spo2": {"critical_low": 86.0, "warning_low": 88.0}}
    assert exported["historique"][0]["clinicien"] == "Dr Claire Martin" and exported["historique"][0]["motif"]
    assert any(i.category.startswith("seuils propres") and i.count == 2 for i in gdpr.plan_erasure(person_id))
    assert gdpr.erase(person_id)["seuils"] == 2
    assert not PersonThresholds.objects.filter(person_id=person_id).exists()
    assert not ThresholdChange.objects.filter(person_id=person_id).exists()
    assert gdpr.export(person_id)["telesurveillance"]["seuils"] is None


def test_a_form_shown_before_another_agents_change_does_not_overwrite_it(agents, fixed) -> None:
    person_id = resident(8)
    client = agent(agents)
    url = f"/veille/personnes/{person_id}/"
    assert 'name="version" value="0"' in client.get(url).content.decode()
    assert client.post(url, {**form(heart_rate__warning_high="100"), "version": "0"}).status_code == 302
    stale = client.post(url, {**form(spo2__warning_low="93"), "version": "0"})  # shown before that change
    assert stale.status_code == 409 and "ont été changés depuis l'ouverture de la page" in text(stale)
    assert ThresholdChange.objects.filter(person_id=person_id).count() == 1
    current = str(thresholds.version(person_id))
    assert client.post(url, {**form(spo2__warning_low="93", heart_rate__warning_high="100"),
                             "version": current}).status_code == 302
    assert thresholds.effective([person_id])[person_id].heart_rate.warning_high == 100


def test_a_person_removed_from_the_register_is_no_longer_watched(fixed) -> None:
    from proactif.watch import _register as register
    from proactif.watch.models import DeviceLoan, Registration, RuleState

    person_id = resident(3)
    now = clock.now()
    registration = Registration.objects.create(person_id=person_id, qualite="age_65", requested_on=clock.today(),
                                               requested_by="personne", created_at=now, updated_at=now)
    set_spo2(person_id, 86, 88)
    serial = oximeter(person_id)
    spo2(serial, [97, 96])
    assert RuleState.objects.filter(person_id=person_id).exists()
    fixed.set(T0 + timedelta(days=2))
    register.remove(system_actor("test"), registration.pk, "demande")
    assert not PersonThresholds.objects.filter(person_id=person_id).exists()
    assert not ThresholdChange.objects.filter(person_id=person_id).exists()  # health data: gone with the entry
    assert not RuleState.objects.filter(person_id=person_id).exists()
    loan = DeviceLoan.objects.get(device__serial=serial)
    assert loan.end_on == (T0 + timedelta(days=1)).date()  # yesterday: today's readings are no one's
    spo2(serial, [80] * 8, start=T0 + timedelta(days=2, hours=1))
    assert not Alert.objects.filter(person_id=person_id).exists()  # no one watched, no one paged
