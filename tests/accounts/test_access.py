import pytest

from proactif.accounts import services as accounts
from proactif.accounts.domain import PURPOSES, AccessDenied, Section, access_for

pytestmark = pytest.mark.django_db


def test_each_agent_reaches_only_what_their_service_purposes_open(agents: dict) -> None:
    etat_civil = accounts.actor_for_agent(agents["etat_civil"])
    ccas = accounts.actor_for_agent(agents["ccas"])
    communication = accounts.actor_for_agent(agents["communication"])
    assert access_for(etat_civil).allows(Section.DOCUMENTS)
    assert not access_for(etat_civil).allows(Section.RESSOURCES)
    assert access_for(ccas, "action_sociale").allows(Section.PRESTATIONS)
    assert not access_for(communication).allows(Section.DOCUMENTS)
    with pytest.raises(AccessDenied):
        access_for(communication, "action_sociale")


def test_health_sections_open_only_to_health_purposes() -> None:
    for purpose in PURPOSES.values():
        if Section.VULNERABILITE in purpose.sections:
            assert purpose.health or purpose.code == "rgpd", purpose.code


def test_the_administrator_keeps_the_registry_but_reads_nothing_else(agents: dict) -> None:
    """The administrator's role brings one purpose, the upkeep of the registry (imports, duplicates): identity,
    household, address and contacts — never documents, resources, benefits or health."""
    actor = accounts.actor_for_agent(agents["admin"])
    assert actor.purposes == {"tenue_registre"}
    upkeep = access_for(actor)
    assert upkeep.allows(Section.IDENTITE) and not upkeep.allows(Section.DOCUMENTS)
    for section in (Section.RESSOURCES, Section.PRESTATIONS, Section.VULNERABILITE):
        with pytest.raises(AccessDenied):
            upkeep.require(section)
    with pytest.raises(AccessDenied):
        access_for(actor, "action_sociale")


def test_the_dpo_acts_for_the_gdpr_purpose(agents: dict) -> None:
    assert access_for(accounts.actor_for_agent(agents["dpo"])).purpose == "rgpd"
