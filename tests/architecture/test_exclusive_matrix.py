"""The authorization matrix understands a page kept for a purpose (`agent(*purposes, exclusive=True)`): it
expects a 403 for an agent of a service exercising that purpose while they act for another one, and lets them
in once they act for it — the CCAS agent and the register of vulnerable people."""

from __future__ import annotations

import pytest
from django.test import Client

from proactif.accounts import services as accounts
from proactif.kernel.capabilities import agent
from tests.architecture.test_authorization_matrix import Actor, build_actors, build_samples, web_allows

pytestmark = pytest.mark.django_db

CCAS = frozenset({"action_sociale", "prevention_sante"})
REGISTER = agent("prevention_sante", exclusive=True)


def test_an_exclusive_page_is_expected_closed_to_another_purpose_and_open_to_its_own() -> None:
    by_default = Actor("ccas", Client(), role="agent", purposes=CCAS, kind="agent")
    switched = Actor("ccas", Client(), role="agent", purposes=CCAS, chosen="prevention_sante", kind="agent")
    sante = Actor("santé", Client(), role="agent", purposes=frozenset({"prevention_sante"}), kind="agent")
    assert web_allows(REGISTER, by_default) is False
    assert web_allows(REGISTER, switched) is True and web_allows(REGISTER, sante) is True
    assert web_allows(agent("prevention_sante"), by_default) is True  # not exclusive: as before
    assert web_allows(REGISTER, Actor("anonyme", Client())) == "login"


def test_the_matrix_asks_as_the_ccas_agent_acting_for_each_of_its_purposes(agents) -> None:
    actors = build_actors(agents, build_samples(agents))
    ccas = {a.chosen: a for a in actors if a.kind == "agent" and a.purposes == CCAS}
    assert set(ccas) == {None, "prevention_sante"}
    assert web_allows(REGISTER, ccas[None]) is False and web_allows(REGISTER, ccas["prevention_sante"]) is True
    assert ccas["prevention_sante"].client.session[accounts.SESSION_PURPOSE] == "prevention_sante"
