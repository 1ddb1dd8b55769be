"""Connectors' part in GDPR rights: an answer kept in the cache knows whom it is about; the export lists the
person's calls (never an answer's content) and the answers kept about them; an erasure deletes those answers
and keeps the call log, which traces the exchanges between administrations; the purge deletes expired answers
and call-log rows past their retention."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from proactif.connectors import _gdpr as gdpr
from proactif.connectors import domain
from proactif.connectors import services as connectors
from proactif.connectors._sandbox import serve
from proactif.connectors.models import CachedAnswer, ConnectorCall
from proactif.kernel import clock
from tests.conftest import some_person_id
from tests.connectors.test_contract import benefit_holder, identity_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox(settings):
    server = serve(0, "sandbox", rate_limit=1000)
    settings.API_PARTICULIER_URL = f"http://127.0.0.1:{server.server_address[1]}"
    settings.API_PARTICULIER_TOKEN = "sandbox"
    connectors.reset()
    yield server
    connectors.reset()
    server.shutdown()
    server.server_close()


def call(person_id: int, at: datetime, operation: str = "prime_activite") -> ConnectorCall:
    return ConnectorCall.objects.create(at=at, api="api_particulier", operation=operation, mode="identite",
                                        person_id=person_id, recipient="21000000000019", purpose="rights.screening",
                                        legal_basis=domain.LEGAL_BASIS_PROACTIVE, actor="job:screening", status=200)


def kept(person_id: int | None, subject: str, fetched_at: datetime, data: dict | None = None) -> CachedAnswer:
    return CachedAnswer.objects.create(api="api_particulier", operation="quotient_familial", subject=subject,
                                       month=fetched_at.strftime("%Y-%m"), status=200 if data else 404,
                                       data=data or {}, fetched_at=fetched_at, person_id=person_id,
                                       expires_at=fetched_at + timedelta(days=31))


def two_residents() -> tuple[int, int]:
    first = some_person_id()
    return first, some_person_id(id__gt=first)


def test_a_kept_answer_carries_the_person_of_the_call(sandbox) -> None:
    person = benefit_holder("rsa")
    context = connectors.CallContext(purpose="rights.screening", actor="job:screening", person_id=person.pk)
    connectors.particulier_call("revenu_solidarite_active", context, identity=identity_of(person))
    assert list(CachedAnswer.objects.values_list("person_id", flat=True)) == [person.pk]

    # an answer kept by a call for nobody in particular is linked to the person a later call is made for
    nobody = domain.Identity("PERSONNE", ("INCONNUE",), "F", None)
    connectors.particulier_call("prime_activite", connectors.CallContext(purpose="test", actor="test"),
                                identity=nobody)
    assert CachedAnswer.objects.get(operation="prime_activite").person_id is None
    assert connectors.particulier_call("prime_activite", context, identity=nobody).from_cache
    assert CachedAnswer.objects.get(operation="prime_activite").person_id == person.pk
    # …and a later call for nobody in particular does not unlink it
    connectors.particulier_call("prime_activite", connectors.CallContext(purpose="test", actor="test"),
                                identity=nobody, refresh=True)
    assert CachedAnswer.objects.get(operation="prime_activite").person_id == person.pk


def test_the_export_lists_the_calls_without_content_and_the_answers_kept(fixed_clock) -> None:
    person, other = two_residents()
    now = clock.now()
    call(person, now - timedelta(days=40)), call(person, now - timedelta(days=2), "quotient_familial")
    call(other, now - timedelta(days=1))
    kept(person, "h" * 64, now - timedelta(days=2), {"quotient_familial": 612, "annee": 2026})
    kept(other, "o" * 64, now - timedelta(days=1), {"quotient_familial": 1450})

    data = gdpr.export(person)
    assert [c["operation"] for c in data["appels"]] == ["prime_activite", "quotient_familial"]
    first = data["appels"][0]
    assert first == {"date": (now - timedelta(days=40)).isoformat(), "api": "api_particulier",
                     "operation": "prime_activite", "finalite": "rights.screening",
                     "base_legale": domain.LEGAL_BASIS_PROACTIVE, "destinataire": "21000000000019",
                     "acteur": "job:screening", "statut": 200, "erreur": None, "depuis_le_cache": False}
    [answer] = data["reponses_conservees"]
    assert answer["donnees"] == {"quotient_familial": 612, "annee": 2026} and answer["trouvee"]
    assert answer["mois"] == now.strftime("%Y-%m") and answer["expire_le"] > answer["obtenue_le"]
    assert "1450" not in str(data)  # nothing about the other resident


def test_the_erasure_deletes_the_answers_kept_and_retains_the_call_log(fixed_clock, settings) -> None:
    settings.CONNECTOR_LOG_RETENTION_DAYS = 1095
    person, other = two_residents()
    now = clock.now()
    for days in (1, 2, 3):
        call(person, now - timedelta(days=days))
    call(other, now)
    kept(person, "a" * 64, now, {"est_beneficiaire": True}), kept(person, "b" * 64, now - timedelta(days=3))
    theirs = kept(other, "c" * 64, now, {"est_beneficiaire": False})

    plan = {item.category: item for item in gdpr.plan_erasure(person)}
    answers, log = plan["réponses des administrations"], plan["journal des appels aux administrations"]
    assert (answers.action, answers.count) == ("erase", 2) and (log.action, log.count) == ("retain", 3)
    assert "17-3-b" in log.reason and "R114-9-5" in log.reason and "1095 jours" in log.reason

    assert gdpr.erase(person) == {"cached_answers": 2}
    assert not CachedAnswer.objects.filter(person_id=person).exists()
    assert ConnectorCall.objects.filter(person_id=person).count() == 3
    assert CachedAnswer.objects.filter(pk=theirs.pk).exists() and ConnectorCall.objects.filter(person_id=other).count()


def test_the_purge_deletes_expired_answers_and_call_log_rows_past_their_retention(fixed_clock, settings) -> None:
    settings.CONNECTOR_LOG_RETENTION_DAYS = 1095
    person, _ = two_residents()
    now = clock.now()
    expired = [kept(person, "x" * 64, now - timedelta(days=40)), kept(None, "y" * 64, now - timedelta(days=32))]
    fresh = kept(person, "z" * 64, now - timedelta(days=30))
    old = [call(person, now - timedelta(days=1096)), call(None, now - timedelta(days=2000))]
    recent = call(person, now - timedelta(days=1094))

    assert gdpr.purge() == {"expired_answers": 2, "call_log_rows": 2}
    assert list(CachedAnswer.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert list(ConnectorCall.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not CachedAnswer.objects.filter(pk__in=[a.pk for a in expired]).exists()
    assert not ConnectorCall.objects.filter(pk__in=[c.pk for c in old]).exists()


def test_the_declaration_is_named_and_wipe_forgets_both_tables(fixed_clock) -> None:
    person, _ = two_residents()
    call(person, clock.now()), kept(person, "w" * 64, clock.now(), {"quotient_familial": 1})
    assert declared().name == "connecteurs" and declared().erase is gdpr.erase
    assert declared().wipe() == 2
    assert not CachedAnswer.objects.exists() and not ConnectorCall.objects.exists()


def declared():  # what the capability declares for the GDPR rights
    from proactif.connectors.capability import CAPABILITY

    return CAPABILITY.personal_data
