"""Segments: the rules agents write (checked in French), their matching (sensitive themes never inferred), the size
preview counted over live profiles only and hidden under 10, the four default segments, and the agents' pages."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from proactif.assist import _segment_rules as rules
from proactif.assist import _segments
from proactif.assist.models import Profile, ProfileEvent, Segment
from proactif.audit.models import AccessLog
from proactif.kernel import clock
from tests.conftest import fr
from tests.web.test_pages import logged_in

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
THEMES = {"famille-enfance", "seniors", "sante", "handicap", "logement", "emploi-entreprises"}
QUESTIONS = {"enfants_ages": ("0-3", "3-6", "6-11", "11-18"), "foyer": ("seul", "couple", "avec_enfants"),
             "nouvel_habitant": ("oui", "non")}


def facts(**kw: Any) -> rules.Facts:
    return rules.Facts(now=NOW, created_at=kw.pop("created_at", NOW - timedelta(days=400)), **kw)


# --- pure rules ----------------------------------------------------------------------------------------------
def test_an_inferred_interest_matches_from_its_minimum_and_a_choice_overrides_it() -> None:
    rule = [{"interet": "famille-enfance", "min": 1.0}]
    assert rules.matches(rule, facts(scores={"famille-enfance": 1.2}))
    assert not rules.matches(rule, facts(scores={"famille-enfance": 0.9}))
    assert rules.matches(rule, facts(chosen={"famille-enfance": True}))
    assert not rules.matches(rule, facts(scores={"famille-enfance": 50.0}, chosen={"famille-enfance": False}))


@pytest.mark.parametrize("theme", ["sante", "handicap"])
def test_a_sensitive_theme_reads_only_the_visitors_explicit_choice_never_inferred_interest(theme: str) -> None:
    rule = [{"interet": theme, "min": 0.0}]
    # even a huge inferred score (as if something had slipped into the stored interests) does not count
    assert not rules.matches(rule, facts(scores={theme: 999.0}))
    assert not rules.matches([{"ou": [{"interet": theme, "min": 0.0}]}], facts(scores={theme: 999.0}))
    assert rules.matches(rule, facts(chosen={theme: True}))
    assert not rules.matches([{"evenements": "page_vue", "theme": theme, "min": 1, "jours": 30}],
                             facts(events=[("page_vue", theme, NOW)] * 5))
    assert rules.prefilter(rule).chosen == (theme,) and rules.prefilter(rule).interest == ()
    assert rules.reads_sensitive([{"ou": [{"choisi": "seniors"}, {"interet": theme}]}]) == [theme]


def test_counting_visits_on_a_sensitive_theme_cannot_be_saved() -> None:
    with pytest.raises(rules.RuleError, match="condition 1 : le thème « sante » est sensible"):
        rules.check([{"evenements": "page_vue", "theme": "sante", "min": 2, "jours": 30}], THEMES, QUESTIONS)


def test_answers_events_and_age_of_the_profile() -> None:
    assert rules.matches([{"reponse": "enfants_ages", "parmi": ["0-3"]}],
                         facts(answers={"enfants_ages": {"value": ["6-11", "0-3"], "consent": "v", "at": "x"}}))
    assert not rules.matches([{"reponse": "enfants_ages", "parmi": ["0-3"]}],
                             facts(answers={"enfants_ages": {"value": ["6-11"]}}))
    assert not rules.matches([{"reponse": "foyer"}], facts())
    events = [("page_vue", "logement", NOW - timedelta(days=10)), ("page_vue", "logement", NOW - timedelta(days=70)),
              ("recherche", "logement", NOW - timedelta(days=1))]
    two_in_60 = [{"evenements": "page_vue", "theme": "logement", "min": 2, "jours": 60}]
    assert not rules.matches(two_in_60, facts(events=events))  # the second view is 70 days old
    assert rules.matches([{"evenements": "tous", "theme": "logement", "min": 2, "jours": 60}], facts(events=events))
    assert rules.matches([{"anciennete_max_jours": 90}], facts(created_at=NOW - timedelta(days=89)))
    assert not rules.matches([{"anciennete_max_jours": 90}], facts(created_at=NOW - timedelta(days=91)))


@pytest.mark.parametrize(("raw", "message"), [
    ([{"interet": "jardinage"}], "condition 1 : thème inconnu « jardinage »"),
    ([{"choisi": "seniors"}, {"interet": "seniors", "min": "beaucoup"}],
     "condition 2 : « min » doit être un nombre, pas « beaucoup »"),
    ([{"interet": "seniors", "min": -1}], "« min » doit être compris entre 0 et 1e+06"),
    ([{"evenements": "page_vue", "min": 2.5, "jours": 30}], "« min » doit être un nombre entier"),
    ([{"reponse": "age_du_capitaine"}], "condition 1 : question inconnue « age_du_capitaine »"),
    ([{"reponse": "enfants_ages", "parmi": ["0-2"]}], "réponse inconnue « 0-2 » pour « enfants_ages »"),
    ([{"ou": [{"choisi": "seniors"}, {"choisi": "x"}]}], "condition 1, condition 2 : thème inconnu « x »"),
    ([{"evenements": "achat"}], "type d'événement inconnu « achat »"),
    ([{"choisi": "seniors", "poids": 2}], "champ inconnu « poids »"),
    ([], "au moins une condition"),
    ({"choisi": "seniors"}, "au moins une condition"),
    ([{"anciennete_max_jours": float("nan")}], "compris entre 0 et 3650"),
])
def test_wrong_rules_are_refused_with_a_french_reason(raw: Any, message: str) -> None:
    with pytest.raises(rules.RuleError) as caught:
        rules.check(raw, THEMES, QUESTIONS)
    assert message in str(caught.value)


def test_good_rules_are_kept_with_their_numbers_as_numbers() -> None:
    assert rules.check([{"interet": "seniors", "min": "2,5"}, {"evenements": "clic", "min": "3", "jours": 7}],
                       THEMES, QUESTIONS) == [{"interet": "seniors", "min": 2.5},
                                              {"evenements": "clic", "min": 3, "jours": 7}]


# --- counting over the database ------------------------------------------------------------------------------
def profiles(n: int, **fields: Any) -> list[Profile]:
    now = clock.now()
    made = Profile.objects.bulk_create([Profile(key=secrets.token_hex(16), consent_id=secrets.token_hex(16),
                                                created_at=fields.pop("created_at", now), seen_at=now, **fields)
                                        for _ in range(n)])
    return made


@pytest.fixture
def fresh_cache() -> None:
    cache.clear()


@pytest.mark.django_db
def test_the_size_counts_live_profiles_only_and_hides_itself_under_ten(fresh_cache: None) -> None:
    Profile.objects.all().delete()
    now = clock.now().timestamp()
    rule = _segments.check([{"interet": "famille-enfance", "min": 1.0}])
    profiles(9, interests={"famille-enfance": [3.0, now]})
    assert _segments.preview(rule, fresh=True) == _segments.Preview(None, "moins de 10 profils")
    profiles(3, interests={"famille-enfance": [3.0, now]}, frozen=True)  # consent withdrawn: not counted
    alias_target = profiles(1)[0]
    profiles(2, interests={"famille-enfance": [3.0, now]}, merged_into=alias_target)  # aliases: not counted
    profiles(4, interests={"famille-enfance": [0.5, now]})  # below the minimum
    profiles(4, interests={"logement": [5.0, now]})
    assert _segments.preview(rule, fresh=True).size is None
    profiles(1, chosen={"famille-enfance": True})  # a choice counts as the interest
    preview = _segments.preview(rule, fresh=True)
    assert preview == _segments.Preview(10, "10 profils")
    old = clock.now().timestamp() - 120 * 86400  # four half-lives ago: 3.0 → 0.19
    profiles(5, interests={"famille-enfance": [3.0, old]})
    assert _segments.size(rule, fresh=True) == 10


@pytest.mark.django_db
def test_a_segment_on_health_counts_those_who_chose_it_never_what_their_reading_suggests(fresh_cache: None) -> None:
    Profile.objects.all().delete()
    now = clock.now().timestamp()
    readers = profiles(30, interests={"sante": [50.0, now]})  # as if inferred: must never count
    for profile in readers[:5]:
        ProfileEvent.objects.create(profile=profile, kind="page_vue", theme="sante", at=clock.now())
    profiles(12, chosen={"sante": True})
    profiles(4, chosen={"sante": False})
    assert _segments.size(_segments.check([{"interet": "sante", "min": 0.5}]), fresh=True) == 12
    with pytest.raises(rules.RuleError, match="sensible"):
        _segments.check([{"evenements": "tous", "theme": "sante", "min": 1, "jours": 30}])


@pytest.mark.django_db
def test_events_answers_and_recent_profiles_are_narrowed_in_sql_then_matched(fresh_cache: None) -> None:
    Profile.objects.all().delete()
    now = clock.now()
    movers = profiles(12)
    for profile in movers:
        ProfileEvent.objects.bulk_create([ProfileEvent(profile=profile, kind="page_vue", theme="logement",
                                                       at=now - timedelta(days=d)) for d in (1, 20)])
    late = profiles(3)
    for profile in late:  # one view only
        ProfileEvent.objects.create(profile=profile, kind="page_vue", theme="logement", at=now)
    rule = _segments.check([{"evenements": "page_vue", "theme": "logement", "min": 2, "jours": 60}])
    assert _segments.candidates(rule).count() == 12 and _segments.size(rule, fresh=True) == 12
    profiles(11, answers={"nouvel_habitant": {"value": "oui", "consent": "questions-2026-12", "at": "x"}},
             created_at=now - timedelta(days=800))
    profiles(2, answers={"nouvel_habitant": {"value": "non", "consent": "questions-2026-12", "at": "x"}})
    assert _segments.candidates(_segments.check([{"reponse": "nouvel_habitant"}])).count() == 13
    _segments.install_segments()
    newcomers = Segment.objects.get(slug="nouvel-habitant")
    # the 11 who said so, and the 12 recent profiles reading about housing (created now)
    assert _segments.size(newcomers.rules, fresh=True) == 23
    assert _segments.profile_matches(movers[0], newcomers)
    assert not _segments.profile_matches(late[0], newcomers)


@pytest.mark.django_db
def test_the_default_segments_install_once_and_keep_agents_changes() -> None:
    Segment.objects.all().delete()
    assert _segments.install_segments() == 4
    assert sorted(Segment.objects.values_list("name", flat=True)) == [
        "Entreprise", "Nouvel habitant", "Parent d'un jeune enfant", "Senior"]
    Segment.objects.filter(slug="senior").update(name="Aînés")
    assert _segments.install_segments() == 0
    assert Segment.objects.get(slug="senior").name == "Aînés"
    for segment in Segment.objects.all():  # each passes its own check
        assert _segments.check(segment.rules) == segment.rules


@pytest.mark.django_db
def test_a_small_segment_is_never_used_for_targeting(fresh_cache: None) -> None:
    Profile.objects.all().delete()
    _segments.install_segments()
    seniors = Segment.objects.get(slug="senior")
    few = profiles(9, chosen={"seniors": True})
    assert not _segments.profile_matches(few[0], seniors) and _segments.segments_of(few[0]) == []
    profiles(1, chosen={"seniors": True})
    cache.clear()
    assert _segments.profile_matches(few[0], seniors)
    assert [s.slug for s in _segments.segments_of(few[0])] == ["senior"]


# --- the agents' pages ---------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_editors_define_a_segment_see_its_size_and_errors_in_french(client: Client, agents: dict,
                                                                     fresh_cache: None) -> None:
    Profile.objects.all().delete()
    profiles(14, answers={"enfants_ages": {"value": ["0-3"], "consent": "questions-2026-12", "at": "x"}})
    editor = logged_in(client, "communication")
    assert editor.get("/redaction/segments/nouveau/").status_code == 200
    body = {"slug": "tout-petits", "name": "Parents de tout-petits", "description": "",
            "rules": json.dumps([{"reponse": "enfants_ages", "parmi": ["0-3"]}])}
    before = AccessLog.objects.filter(action="assist.segments.apercu").count()
    preview = editor.post("/redaction/segments/nouveau/", {**body, "action": "apercu"})
    assert preview.status_code == 200
    assert fr("Aperçu : 14 profils remplissent ces conditions") in preview.content.decode()
    assert AccessLog.objects.filter(action="assist.segments.apercu").count() == before + 1
    assert not Segment.objects.filter(slug="tout-petits").exists()  # a preview saves nothing
    wrong = editor.post("/redaction/segments/nouveau/", {**body, "rules": '[{"reponse": "age"}]',
                                                        "action": "enregistrer"})
    assert wrong.status_code == 400 and fr("Condition 1 : question inconnue « age »") in wrong.content.decode()
    bad_json = editor.post("/redaction/segments/nouveau/", {**body, "rules": "[{", "action": "enregistrer"})
    assert bad_json.status_code == 400 and "ne sont pas du JSON valide" in bad_json.content.decode()
    deep = editor.post("/redaction/segments/nouveau/", {**body, "rules": "[" * 5000 + "]" * 5000,
                                                       "action": "enregistrer"})
    assert deep.status_code == 400 and fr("Les règles sont trop imbriquées.") in deep.content.decode()
    long = editor.post("/redaction/segments/nouveau/", {**body, "rules": "x" * 20001, "action": "apercu"})
    assert long.status_code == 400 and "caractères au plus" in long.content.decode()
    bad_slug = editor.post("/redaction/segments/nouveau/", {**body, "slug": "Tout Petits", "action": "enregistrer"})
    assert bad_slug.status_code == 400 and "Identifiant attendu" in bad_slug.content.decode()
    saved = editor.post("/redaction/segments/nouveau/", {**body, "action": "enregistrer"})
    assert saved.status_code == 302
    assert Segment.objects.get(slug="tout-petits").rules == [{"reponse": "enfants_ages", "parmi": ["0-3"]}]
    listing = editor.get("/redaction/segments/").content.decode()
    assert "Parents de tout-petits" in listing and "14 profils" in listing
    small = editor.post("/redaction/segments/nouveau/", {**body, "slug": "x", "action": "apercu",
                                                        "rules": '[{"choisi": "handicap"}]'})
    shown = small.content.decode()
    assert "moins de 10 profils" in shown and "14" not in shown.split("Aperçu")[1][:80]


@pytest.mark.django_db
def test_the_segment_pages_are_for_the_communication_service_only(client: Client, agents: dict) -> None:
    assert logged_in(client, "etat_civil").get("/redaction/segments/").status_code == 403
    client.logout()
    assert client.get("/redaction/segments/").status_code in (302, 403)
