"""A communication purpose whose legal basis a capability holds (rule "declared": `veille_sante`, whose basis is
the register of vulnerable people): a message of it may go only to the persons the declared basis holds
(`kernel.capabilities.ContactBasis`), never against an opposition or a refusal, and to nobody when no capability
declares the basis (fail closed). A consent recorded for it is no basis: none is offered to agents, while the
rows recorded before stay readable in the file."""

from __future__ import annotations

import pytest
from django.test import Client

from proactif.accounts import services as accounts
from proactif.accounts.domain import access_for
from proactif.kernel import capabilities
from proactif.kernel.capabilities import ContactBasis, DeclarationError
from proactif.registry import domain, services
from proactif.registry.forms import ConsentForm
from proactif.registry.models import Consent, Person
from tests.conftest import fr
from tests.messaging.declaring import declare

pytestmark = pytest.mark.django_db

PURPOSE = "veille_sante"
WANTED = ("sms", "email")


def two_residents_with_email() -> tuple[int, int]:
    ids = list(Person.objects.filter(status="active", contacts__kind="email", contacts__status="active").distinct()
               .order_by("id").values_list("id", flat=True)[:2])
    return ids[0], ids[1]


def register_of(*person_ids: int) -> ContactBasis:
    return ContactBasis(PURPOSE, "Registre des personnes vulnérables", lambda ids: set(person_ids) & set(ids))


# --- the rule, pure ---------------------------------------------------------------------------------------------
def test_the_register_purpose_is_declared_with_its_basis() -> None:
    spec = domain.COMMUNICATION_PURPOSES[PURPOSE]
    assert (spec.rule, spec.label) == ("declared", "Veille des personnes vulnérables (canicule, grand froid)")
    assert spec.basis == ("Inscription au registre des personnes vulnérables (art. L121-6-1 et R121-2 et suivants "
                          "CASF)")
    assert PURPOSE not in {p.code for p in domain.consent_purposes()}
    assert {p.code for p in domain.consent_purposes()} == set(domain.COMMUNICATION_PURPOSES) - {PURPOSE}


def test_held_opens_a_declared_purpose_and_nothing_else_does() -> None:
    granted = {(PURPOSE, "*"): "granted"}
    assert domain.may_contact(PURPOSE, "sms", {}, [], held=True)
    assert not domain.may_contact(PURPOSE, "sms", {}, [])  # not held: no basis
    assert not domain.may_contact(PURPOSE, "sms", granted, [])  # a consent is no basis
    assert not domain.may_contact(PURPOSE, "sms", {}, [domain.OptOutRule("*", "sms")], held=True)  # opposition
    assert not domain.may_contact(PURPOSE, "sms", {(PURPOSE, "sms"): "denied"}, [], held=True)  # refusal
    assert domain.may_contact(PURPOSE, "email", {(PURPOSE, "sms"): "denied"}, [], held=True)
    assert domain.may_contact("rappels_echeances", "sms", {}, [], held=False)  # other rules ignore it


# --- the declaration --------------------------------------------------------------------------------------------
def test_a_purpose_has_at_most_one_declared_basis(monkeypatch) -> None:
    declare(monkeypatch, withdrawn=[PURPOSE])
    assert capabilities.contact_basis(PURPOSE) is None
    basis = register_of()
    declare(monkeypatch, contact_bases=(basis,))
    assert capabilities.contact_basis(PURPOSE) is basis
    with pytest.raises(DeclarationError, match="contact basis of the purpose « veille_sante » declared twice"):
        declare(monkeypatch, contact_bases=(register_of(), register_of()))


def test_every_declared_basis_is_for_a_declared_purpose() -> None:
    for capability in capabilities.declared():
        for basis in capability.contact_bases:
            assert domain.COMMUNICATION_PURPOSES[basis.purpose].rule == "declared", (capability.name, basis.purpose)


# --- reach at send time -----------------------------------------------------------------------------------------
def test_without_a_declared_basis_nobody_is_reachable_for_it_not_even_with_a_consent(agents, monkeypatch) -> None:
    declare(monkeypatch, withdrawn=[PURPOSE])
    registered, _ = two_residents_with_email()
    Consent.objects.create(person_id=registered, purpose=PURPOSE, channel="*", decision="granted", source="import",
                           text_version="2024-06", recorded_at=Person.objects.get(pk=registered).updated_at)
    reach = services.reachable([registered], PURPOSE)[registered]
    assert reach.addresses.get("email") and reach.allowed == frozenset()


def test_the_persons_the_basis_holds_are_reachable_and_no_one_else(agents, monkeypatch) -> None:
    registered, other = two_residents_with_email()
    declare(monkeypatch, contact_bases=(register_of(registered),))
    reach = services.reachable([registered, other], PURPOSE)
    assert "email" in reach[registered].allowed and reach[other].allowed == frozenset()
    assert reach[registered].allowed == services.reachable([registered], "rappels_echeances")[registered].allowed
    services.add_opt_out(access_for(accounts.actor_for_agent(agents["ccas"])), registered, purpose=PURPOSE,
                         channel="email", source="guichet")
    assert "email" not in services.reachable([registered], PURPOSE)[registered].allowed  # never against it


def test_a_refusal_recorded_for_the_purpose_still_closes_it(agents, monkeypatch) -> None:
    registered, _ = two_residents_with_email()
    declare(monkeypatch, contact_bases=(register_of(registered),))
    Consent.objects.create(person_id=registered, purpose=PURPOSE, channel="*", decision="denied", source="guichet",
                           text_version="2024-06", recorded_at=Person.objects.get(pk=registered).updated_at)
    assert services.reachable([registered], PURPOSE)[registered].allowed == frozenset()


# --- what agents see --------------------------------------------------------------------------------------------
def test_no_consent_is_offered_for_it_and_the_rows_recorded_before_stay_readable(agents) -> None:
    assert not ConsentForm({"purpose": PURPOSE, "channel": "*", "decision": "granted", "text_version": "2024-06",
                            "support": "téléphone"}).is_valid()
    person = Person.objects.filter(status="active", consents__purpose=PURPOSE).first()
    assert person is not None, "the seeded commune grants veille_sante consents (synth)"
    client = Client()
    client.force_login(agents["ccas"])
    html = client.get(f"/habitants/{person.pk}/").content.decode()
    form = html.split(f'action="/habitants/{person.pk}/consentement/"')[1].split("</form>")[0]
    assert 'value="veille_sante"' not in form and 'value="information"' in form
    decisions = html.split(fr("Décisions en vigueur"))[1].split("</table>")[0]
    assert fr("Veille des personnes vulnérables (canicule, grand froid)") in decisions
