"""Progressive profiling: one question at a time for a visitor who accepted personalisation, the next useful one
(children's ages only after « avec enfants »), each answer kept with its consent version and time, interests as
explicit choices (the only way in for santé and handicap), « Passer » and « Supprimer mes réponses »."""

from __future__ import annotations

import pytest
from django.test import Client

from proactif.assist import _questions
from proactif.assist.models import Profile
from tests.conftest import fr

pytestmark = pytest.mark.django_db
PAGE = "/site/mieux-vous-connaitre/"


def answer(client: Client, key: str, *values: str) -> object:
    return client.post(PAGE, {"question": key, "reponse": list(values), "action": "repondre"})


def visitor_profile(client: Client) -> Profile:
    from proactif.assist import _profiles

    class Request:  # the visitor's cookies, as a request carries them
        COOKIES = client.cookies and {k: v.value for k, v in client.cookies.items()}

    key = _profiles._key_of(Request())  # type: ignore[arg-type]
    return Profile.objects.get(key=key)


def test_without_consent_nothing_is_asked_nor_kept(client: Client) -> None:
    page = client.get(PAGE)
    assert page.status_code == 200
    text = page.content.decode()
    assert fr("ne sont posées qu'aux visiteurs qui ont accepté la personnalisation") in text
    assert 'href="/site/cookies/?next=' in text and 'name="reponse"' not in text
    before = Profile.objects.count()
    assert answer(client, "foyer", "seul").status_code == 409
    client.post("/site/cookies/", {"tout": "refuser"})
    assert answer(client, "foyer", "seul").status_code == 409
    assert Profile.objects.count() == before


def test_one_question_at_a_time_each_answer_with_its_consent(client: Client) -> None:
    client.post("/site/cookies/", {"tout": "accepter"})
    first = client.get(PAGE).content.decode()
    # the question, and its purpose beside it
    assert fr("Votre foyer, c'est…") in first and fr("Pour mettre en avant les démarches") in first
    assert fr("Quel âge ont vos enfants ?") not in first
    assert answer(client, "foyer", "avec_enfants").status_code == 302
    profile = visitor_profile(client)
    kept = profile.answers["foyer"]
    assert kept["value"] == "avec_enfants" and kept["consent"] == _questions.VERSION and kept["at"]
    second = client.get(PAGE).content.decode()
    assert fr("Quel âge ont vos enfants ?") in second and 'type="checkbox"' in second
    assert answer(client, "enfants_ages", "0-3", "6-11").status_code == 302
    profile.refresh_from_db()
    assert profile.answers["enfants_ages"]["value"] == ["0-3", "6-11"]
    assert profile.answers["enfants_ages"]["consent"] == _questions.VERSION
    assert fr("Quels thèmes vous intéressent ?") in client.get(PAGE).content.decode()


def test_children_ages_are_asked_only_after_avec_enfants(client: Client) -> None:
    client.post("/site/cookies/", {"tout": "accepter"})
    answer(client, "foyer", "couple")
    assert fr("Quels thèmes vous intéressent ?") in client.get(PAGE).content.decode()
    refused = answer(client, "enfants_ages", "0-3")
    assert refused.status_code == 400 and fr("ne vous concerne pas") in refused.content.decode()
    assert "enfants_ages" not in visitor_profile(client).answers


def test_interests_chosen_here_are_explicit_choices_sensitive_ones_included(client: Client) -> None:
    client.post("/site/cookies/", {"tout": "accepter"})
    answer(client, "foyer", "seul")
    assert answer(client, "centres_interet", "sante", "sport").status_code == 302
    profile = visitor_profile(client)
    assert profile.chosen == {"sante": True, "sport": True}
    assert profile.answers["centres_interet"]["value"] == ["sante", "sport"]


@pytest.mark.parametrize(("key", "values", "message"), [
    ("foyer", [], "Choisissez une réponse, ou passez la question."),
    ("foyer", ["chateau"], "ne fait pas partie des choix proposés"),
    ("foyer", ["seul", "couple"], "Une seule réponse est possible."),
    ("age_du_capitaine", ["12"], "Cette question n'existe pas."),
    ("centres_interet", ["jardinage"], "ne fait pas partie des choix proposés"),
])
def test_a_wrong_answer_is_a_400_in_french_and_keeps_nothing(client: Client, key: str, values: list[str],
                                                             message: str) -> None:
    client.post("/site/cookies/", {"tout": "accepter"})
    response = answer(client, key, *values)
    assert response.status_code == 400 and fr(message) in response.content.decode()
    assert visitor_profile(client).answers == {}


def test_pass_moves_on_and_delete_removes_every_answer_and_the_choices_they_made(client: Client) -> None:
    client.post("/site/cookies/", {"tout": "accepter"})
    answer(client, "foyer", "seul")
    assert client.post(PAGE, {"question": "centres_interet", "action": "passer"}).status_code == 302
    assert fr("Êtes-vous arrivé dans la commune") in client.get(PAGE).content.decode()
    answer(client, "nouvel_habitant", "oui")
    client.post(PAGE, {"question": "entreprise", "action": "passer"})
    done = client.get(PAGE).content.decode()
    assert fr("nous n'avons pas d'autre question") in done and fr("Supprimer mes réponses") in done
    profile = visitor_profile(client)
    Profile.objects.filter(pk=profile.pk).update(chosen={"sport": True})  # a choice made elsewhere stays
    answer(client, "centres_interet", "handicap")  # answered after all
    assert client.post(PAGE + "supprimer/").status_code == 302
    profile.refresh_from_db()
    assert profile.answers == {} and profile.chosen == {"sport": True}
    assert fr("Vos réponses sont supprimées.") in client.get(PAGE + "?supprime=1").content.decode()
    assert fr("Votre foyer, c'est…") in client.get(PAGE).content.decode()  # the passed ones are asked again


def test_the_next_question_skips_what_is_answered_or_passed() -> None:
    assert _questions.next_question({}).key == "foyer"
    answered = {"foyer": {"value": "avec_enfants"}}
    assert _questions.next_question(answered).key == "enfants_ages"
    assert _questions.next_question(answered, {"enfants_ages"}).key == "centres_interet"
    assert _questions.next_question({"foyer": {"value": "seul"}}).key == "centres_interet"
    everything = {q.key: {"value": "x"} for q in _questions.QUESTIONS}
    assert _questions.next_question(everything) is None
