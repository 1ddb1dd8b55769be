"""A page kept for one purpose (`agent(*purposes, exclusive=True)`): it opens only to an agent acting for that
purpose — the one chosen for the session, else their default one — and answers anyone else of a service
exercising it with a 403 page offering to switch; its home block shows only while the agent acts for it, its
navigation entry always. The use case: a CCAS agent working under « action sociale » and the register of
vulnerable people, kept for « prévention santé »."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from proactif.accounts import services as accounts
from proactif.audit.models import AccessLog
from proactif.kernel import capabilities
from proactif.kernel.capabilities import acting_purpose, agent
from tests.conftest import fr
from tests.web import exclusive_urls

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.web.exclusive_urls")]


@pytest.fixture(autouse=True)
def declared(monkeypatch: pytest.MonkeyPatch) -> None:
    real = capabilities.declared
    monkeypatch.setattr(capabilities, "declared", lambda: (*real(), exclusive_urls.CAPABILITY))


CHOOSE = "/finalite/"  # accounts:choose_purpose


def test_the_switch_posts_to_the_purpose_chooser() -> None:
    assert reverse("accounts:choose_purpose") == CHOOSE


def logged_in(agents: dict, who: str) -> Client:
    client = Client()
    client.force_login(agents[who])
    return client


def test_acting_purpose_is_the_chosen_one_else_the_first_in_alphabetical_order() -> None:
    ccas = frozenset({"action_sociale", "prevention_sante"})
    assert acting_purpose(ccas) == "action_sociale"
    assert acting_purpose(ccas, "prevention_sante") == "prevention_sante"
    assert acting_purpose(ccas, "etat_civil") == "action_sociale"  # not one of theirs: their default
    assert acting_purpose(frozenset()) is None
    rule = agent("prevention_sante", exclusive=True)
    assert rule.allows("agent", ccas) and not rule.admits("agent", ccas)
    assert rule.admits("agent", ccas, "prevention_sante")
    assert not rule.admits("agent", frozenset({"etat_civil"}), "etat_civil")
    shared = agent("prevention_sante")  # not exclusive: working for it is enough, as before
    assert shared.admits("agent", ccas) and shared.admits("agent", ccas, "action_sociale")
    with pytest.raises(ValueError, match="exclusive"):
        agent(exclusive=True)


def test_a_ccas_agent_under_action_sociale_is_refused_with_a_way_to_switch(agents) -> None:
    client = logged_in(agents, "ccas")
    before = AccessLog.objects.count()
    response = client.get("/registre-test/")
    assert response.status_code == 403 and AccessLog.objects.count() == before
    html = response.content.decode()
    assert fr("Cette page ne s'ouvre qu'au titre de la finalité « Prévention santé et veille des personnes "
              "vulnérables ». Vous consultez actuellement au titre de « Accompagnement social et accès aux "
              "droits ».") in html
    [form] = re.findall(rf'<form method="post" action="{CHOOSE}">.*?</form>', html, re.S)
    assert 'name="purpose" value="prevention_sante"' in form and 'name="next" value="/registre-test/"' in form
    assert "csrfmiddlewaretoken" in form


def test_after_choosing_the_purpose_the_same_agent_gets_in(agents) -> None:
    client = logged_in(agents, "ccas")
    switched = client.post(CHOOSE, {"purpose": "prevention_sante", "next": "/registre-test/"})
    assert switched.status_code == 302 and switched["Location"] == "/registre-test/"
    response = client.get("/registre-test/")
    assert response.status_code == 200
    assert response.content.decode() == "registre consulté au titre de prevention_sante"
    client.post(CHOOSE, {"purpose": "action_sociale", "next": "/"})
    assert client.get("/registre-test/").status_code == 403


def test_an_agent_whose_service_has_only_that_purpose_gets_in_and_others_get_the_plain_refusal(agents) -> None:
    assert logged_in(agents, "sante").get("/registre-test/").status_code == 200
    refused = logged_in(agents, "etat_civil").get("/registre-test/")
    assert refused.status_code == 403  # no purpose of their service opens it: nothing to switch to
    assert fr("votre service ou votre rôle ne l'ouvre pas") in refused.content.decode()


def test_its_home_block_shows_only_while_acting_for_it_and_its_entry_always(agents) -> None:
    client = logged_in(agents, "ccas")
    html = client.get("/").content.decode()
    assert 'href="/registre-test/">Registre de test</a></h3>' not in html
    assert 'href="/registre-test/"' in html  # the navigation entry: the agent may switch
    client.post(CHOOSE, {"purpose": "prevention_sante", "next": "/"})
    html = client.get("/").content.decode()
    assert 'href="/registre-test/">Registre de test</a></h3>' in html
    assert accounts.SESSION_PURPOSE in client.session
