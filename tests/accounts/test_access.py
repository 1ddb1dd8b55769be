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


def test_the_dsi_administrator_reads_no_resident_data(agents: dict) -> None:
    with pytest.raises(AccessDenied):
        access_for(accounts.actor_for_agent(agents["admin"]))


def test_the_dpo_acts_for_the_gdpr_purpose(agents: dict) -> None:
    assert access_for(accounts.actor_for_agent(agents["dpo"])).purpose == "rgpd"
