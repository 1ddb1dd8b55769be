import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from proactif.accounts import services as accounts
from proactif.accounts.domain import access_for
from proactif.audit.models import AccessLog
from proactif.kernel import capabilities
from proactif.registry import services
from proactif.registry.models import Address, ContactPoint, Person

pytestmark = pytest.mark.django_db


def access(agents: dict, who: str = "etat_civil", purpose: str | None = None):
    return access_for(accounts.actor_for_agent(agents[who]), purpose)


def test_search_by_name_nom_first_or_prenom_first(agents: dict) -> None:
    person = Person.objects.filter(status="active", nom_usage="").order_by("id")[10]
    for query in (f"{person.nom_naissance} {person.prenom}", f"{person.prenom} {person.nom_naissance}",
                  person.nom_naissance.lower()[:4]):
        parsed, found = services.search_persons(access(agents), query)
        assert parsed.kind == "name"
        assert person.pk in {p.pk for p in found}, query


def test_an_exact_surname_comes_first_and_every_result_is_reachable_by_pages(agents: dict) -> None:
    from django.db.models.functions import Length

    # a surname that also begins longer ones (« Martin » and « Martinez »): the exact ones come first
    short = (Person.objects.filter(status="active").annotate(n=Length("nom_cle")).filter(n__gte=4)
             .values_list("nom_cle", flat=True).order_by("nom_cle"))
    surname = next(n for n in short if Person.objects.filter(nom_cle__startswith=n).exclude(nom_cle=n).exists())
    _, found = services.search_persons(access(agents), surname.lower())
    exact = [p.nom_cle == surname or p.usage_cle == surname for p in found]
    assert exact[0] and exact == sorted(exact, reverse=True), surname  # all the exact ones, then the others
    # « ma » finds more than a page: the next pages are reachable, and each page is logged for what it shows
    _, first, more = services.search_page(access(agents), "ma", 50, 0)
    assert len(first) == 50 and more
    _, second, _ = services.search_page(access(agents), "ma", 50, 50)
    assert second and not {p.pk for p in first} & {p.pk for p in second}
    logged = list(AccessLog.objects.filter(action="search").order_by("-id")[:len(second)])
    assert {row.person_id for row in logged} == {p.pk for p in second}
    assert all(row.detail["from"] == 51 for row in logged)


def test_search_by_usage_name(agents: dict) -> None:
    person = Person.objects.exclude(nom_usage="").filter(status="active").first()
    _, found = services.search_persons(access(agents), f"{person.nom_usage} {person.prenom}")
    assert person.pk in {p.pk for p in found}


def test_search_by_phone_in_any_format(agents: dict) -> None:
    contact = ContactPoint.objects.filter(kind="phone", is_mobile=True, person__status="active").first()
    national = "0" + contact.value[3:]
    spaced = " ".join(national[i:i + 2] for i in range(0, 10, 2))
    parsed, found = services.search_persons(access(agents), spaced)
    assert parsed.kind == "phone" and contact.person_id in {p.pk for p in found}
    parsed, found = services.search_persons(access(agents), "06 00 00")
    assert parsed.kind == "phone" and found == [] and parsed.error


def test_search_by_email_prefix(agents: dict) -> None:
    contact = ContactPoint.objects.filter(kind="email", person__status="active").first()
    _, found = services.search_persons(access(agents), contact.value[: contact.value.index("@") + 1])
    assert contact.person_id in {p.pk for p in found}


def test_search_by_address(agents: dict) -> None:
    address = Address.objects.filter(households__members__status="active").distinct().first()
    query = f"{address.numero} {address.voie.nom}"
    parsed, found = services.search_persons(access(agents), query)
    assert parsed.kind == "address"
    residents = set(Person.objects.filter(household__address=address, status="active").values_list("pk", flat=True))
    assert residents and residents <= {p.pk for p in found}


def test_search_results_are_logged_per_person_shown(agents: dict) -> None:
    _, found = services.search_persons(access(agents), "mar")
    rows = AccessLog.objects.filter(action="search", actor_id=agents["etat_civil"].pk)
    assert found and set(rows.values_list("person_id", flat=True)) == {p.pk for p in found}


def test_search_uses_a_bounded_number_of_queries(agents: dict) -> None:
    with CaptureQueriesContext(connection) as queries:
        services.search_persons(access(agents), "ma")
    assert len(queries) <= 8  # two prefix scans per name order, no query per result (no N+1)


def test_the_file_shows_only_the_sections_of_the_purpose_and_logs_them(agents: dict) -> None:
    person = Person.objects.filter(status="active", resources__isnull=False).first()
    file = services.person_file(access(agents, "etat_civil"), person.pk)
    assert file.shows("documents") and not file.shows("ressources")
    assert file.resources == [] and file.benefits == []
    rows = AccessLog.objects.filter(person_id=person.pk, action="view")
    assert set(rows.values_list("section", flat=True)) == {s.value for s in file.sections}
    assert set(rows.values_list("purpose", flat=True)) == {"etat_civil"}
    social = services.person_file(access(agents, "ccas", "action_sociale"), person.pk)
    assert social.resources and social.shows("vulnerabilite")


def test_who_viewed_the_file_is_part_of_the_file_for_the_service_and_the_dpo(agents: dict) -> None:
    """An agent sees their own service's consultations, not another's (a police agent must not learn that the
    CCAS consulted someone); the DPO sees every one."""
    person_id = Person.objects.filter(status="active").first().pk
    services.person_file(access(agents, "ccas", "action_sociale"), person_id)
    services.person_file(access(agents, "etat_civil"), person_id)
    own = services.person_file(access(agents, "etat_civil"), person_id).history
    assert own and all(h["service"] == "etat_civil" for h in own)
    assert not any(h["actor_label"] == "ccas@test.proactif.fr" for h in own)
    everyone = services.person_file(access(agents, "dpo", "rgpd"), person_id).history
    assert any(h["actor_label"] == "ccas@test.proactif.fr" and "ressources" in h["sections"] for h in everyone)


def test_the_person_file_query_count_does_not_grow_with_its_content(agents: dict, fixed_clock) -> None:
    # A file with little in it and the fullest file in the commune cost the same number of queries: a fixed
    # number for the registry's own sections plus a fixed number per panel other capabilities register.
    people = Person.objects.filter(status="active", household__isnull=False).annotate(n=Count("documents"))
    counts = []
    services.person_file(access(agents, "etat_civil"), people.first().pk)  # warms the agent's service cache
    for person in (people.order_by("n", "pk").first(), people.order_by("-n", "pk").first()):
        with CaptureQueriesContext(connection) as queries:
            services.person_file(access(agents, "etat_civil"), person.pk)
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert counts[1] <= 14 + 3 * len(capabilities.panels())


def test_consents_recorded_by_an_agent_are_checked_at_send_time(agents: dict) -> None:
    person_id = Person.objects.filter(status="active", consents__isnull=True).first().pk
    a = access(agents)
    assert not services.may_contact(person_id, "information", "email")
    services.record_consent(a, person_id, purpose="information", channel="*", decision="granted", source="guichet",
                            text_version="2024-06")
    assert services.may_contact(person_id, "information", "email")
    services.add_opt_out(a, person_id, channel="email", source="guichet")
    assert not services.may_contact(person_id, "information", "email")
    assert services.may_contact(person_id, "information", "sms")


def test_a_status_change_is_logged_as_a_change(agents: dict) -> None:
    person_id = Person.objects.filter(status="active").first().pk
    services.set_person_status(access(agents), person_id, "moved_out")
    assert Person.objects.get(pk=person_id).status == "moved_out"
    row = AccessLog.objects.get(person_id=person_id, action="change")
    assert (row.section, row.detail) == ("identite", {"status": "moved_out"})


def test_the_communication_service_does_not_see_identity_documents(agents: dict) -> None:
    person = Person.objects.filter(status="active", documents__isnull=False).first()
    file = services.person_file(access(agents, "communication"), person.pk)
    assert not file.shows("documents") and file.documents == []
    assert not AccessLog.objects.filter(person_id=person.pk, section="documents").exists()


def test_compound_names_are_found_in_every_order(agents: dict) -> None:
    from proactif.kernel.text import search_key
    from proactif.registry._search import by_name

    person = Person.objects.filter(status="active", nom_usage="").first()
    Person.objects.filter(pk=person.pk).update(nom_naissance="Le Gall-Bernard", nom_cle=search_key("Le Gall-Bernard"))
    for query in (f"{person.prenom} le gall bernard", f"le gall bernard {person.prenom}", "le gall-bernard"):
        assert person.pk in {p.pk for p in by_name(search_key(query), 50)}, query


def test_the_start_of_an_email_without_the_at_sign(agents: dict) -> None:
    contact = ContactPoint.objects.filter(kind="email", value__contains=".", person__status="active").first()
    local = contact.value.split("@")[0]
    parsed, found = services.search_persons(access(agents), local)
    assert parsed.kind == "email" and contact.person_id in {p.pk for p in found}
