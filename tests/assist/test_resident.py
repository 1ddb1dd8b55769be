"""The resident's page reached by a signed link (issue 20, part E): only the link's person's items (their passport
to renew, an alert at their address), each when the purpose's legal basis allows it, for 30 minutes at most in a
session whose cookie is never persistent; « Terminer »; forged and expired links; the access log."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client, RequestFactory

from proactif.accounts.domain import Access, system_actor
from proactif.alerts.models import Incident, IncidentMessage
from proactif.assist import _resident
from proactif.audit.models import AccessLog
from proactif.deadlines.models import Appointment
from proactif.kernel import capabilities, clock
from proactif.messaging import _links
from proactif.messaging._links import token_for
from proactif.messaging.models import Link
from proactif.registry import services as registry
from proactif.registry.domain import COMMUNICATION_PURPOSES
from proactif.registry.models import Document, Person
from tests.conftest import fr

pytestmark = pytest.mark.django_db
PAGE = "/site/pour-vous/"
TODAY = date(2026, 11, 28)  # fixed_clock's day


def resident(exclude_voie: int | None = None) -> Person:
    """An active adult living at an address, with no passport or identity card of their own to renew soon."""
    soon = Document.objects.filter(kind__in=("passeport", "cni"), expires_on__gte=TODAY - timedelta(days=400),
                                   expires_on__lte=TODAY + timedelta(days=200)).values("person_id")
    qs = Person.objects.filter(status="active", household__address__isnull=False,
                               date_naissance__lt=date(2000, 1, 1)).exclude(pk__in=soon)
    if exclude_voie is not None:
        qs = qs.exclude(household__address__voie_id=exclude_voie)
    person = qs.select_related("household__address").order_by("id").first()
    assert person is not None
    return person


def title(person: Person, kind: str, expires: date) -> Document:
    return Document.objects.create(person=person, kind=kind, numero=f"T{person.pk}", issued_on=expires.replace(
        year=expires.year - 10), expires_on=expires, status="valide", source="test", updated_at=clock.now())


def water_cut(voie_id: int, **more: object) -> Incident:
    now = clock.now()
    fields = {"status": "active", "area_label": "rue de la Fuite", **more}
    incident = Incident.objects.create(type_code="coupure_eau", title="Fuite", voie_ids=[voie_id],
                                       created_by="police@test", created_at=now, updated_at=now, **fields)
    IncidentMessage.objects.create(incident=incident, seq=1, kind="alerte", sent_by="police@test", sent_at=now,
                                   texts={"fr": "L'eau est coupée jusqu'à 18 h dans votre rue."})
    return incident


def opened(person: Person, client: Client | None = None, days: int = 14) -> Client:
    client = client or Client()
    link, _ = registry_link(person, days)
    response = client.get(f"/l/{token_for(link.pk)}")
    assert response.status_code == 302 and response["Location"] == PAGE
    assert_not_persistent(response)
    return client


def registry_link(person: Person, days: int) -> tuple[Link, str]:
    url = _resident.resident_link(person.pk, days=days)
    link = Link.objects.get(pk=_links.resolve(url.rsplit("/", 1)[1]).pk)
    return link, url


def assert_not_persistent(response: object) -> None:
    cookie = response.cookies["sessionid"]  # type: ignore[attr-defined]
    assert cookie["expires"] == "" and cookie["max-age"] == "", cookie.output()
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


@pytest.fixture
def pair(fixed_clock: clock.FixedClock) -> dict[str, object]:
    """Two residents in different streets: each a title to renew; a water cut in the first one's street."""
    first = resident()
    second = resident(exclude_voie=first.household.address.voie_id)
    passport = title(first, "passeport", date(2027, 2, 15))
    card = title(second, "cni", date(2027, 3, 3))
    return {"first": first, "second": second, "passport": passport, "card": card,
            "incident": water_cut(first.household.address.voie_id)}


def test_the_page_shows_the_links_person_their_passport_and_the_alert_in_their_street(pair) -> None:
    client = opened(pair["first"])
    response = client.get(PAGE)
    page = response.content.decode()
    assert response.status_code == 200, page[:2000]
    assert response["Cache-Control"] == "no-store"
    assert_not_persistent(response)  # set_expiry(0): the session cookie is sent again, still without an expiry
    assert fr(f"Bonjour {pair['first'].prenoms.split()[0]}, voici ce qui vous concerne") in page
    assert fr("Votre passeport expire le 15 février 2027") in page
    assert fr("Coupure d'eau : rue de la Fuite") in page and fr("L'eau est coupée jusqu'à 18 h dans votre rue.") in page
    assert fr("Votre carte nationale d'identité expire le 3 mars 2027") not in page  # the other person's
    assert f'value="titre-{pair["passport"].pk}"' in page and f'titre-{pair["card"].pk}' not in page
    assert fr("ouverte jusqu'à 11h30 (30 minutes au plus)") in page  # opened at 10:00 UTC, 11:00 in Paris

    other = opened(pair["second"]).get(PAGE).content.decode()
    assert fr("Votre carte nationale d'identité expire le 3 mars 2027") in other
    assert fr("Votre passeport expire le 15 février 2027") not in other
    assert fr("Coupure d'eau") not in other  # not their street


def test_an_id_in_the_address_or_a_form_never_changes_whose_data_is_shown(pair) -> None:
    client = opened(pair["first"])
    page = client.get(f"{PAGE}?person={pair['second'].pk}&person_id={pair['second'].pk}").content.decode()
    assert fr("Votre passeport expire le 15 février 2027") in page and "3 mars 2027" not in page
    refused = client.post("/site/pour-vous/demarche/", {"cle": f"titre-{pair['card'].pk}"})
    assert refused.status_code == 400
    assert fr("Cette démarche ne vous est plus proposée") in refused.content.decode()
    assert not Link.objects.filter(purpose="deadlines.booking", person_id=pair["second"].pk).exists()


def test_opening_another_persons_link_in_the_same_browser_shows_theirs_only(pair) -> None:
    client = opened(pair["first"])
    assert fr("Votre passeport expire le 15 février 2027") in client.get(PAGE).content.decode()
    page = opened(pair["second"], client).get(PAGE).content.decode()
    assert fr("Votre carte nationale d'identité expire le 3 mars 2027") in page
    assert "15 février 2027" not in page and fr("Coupure d'eau") not in page


def test_an_opposition_to_the_reminders_hides_the_passport_but_not_the_alert(pair) -> None:
    person = pair["first"]
    registry.add_opt_out(Access(system_actor("test"), "etat_civil"), person.pk, purpose="rappels_echeances",
                         source="test")
    page = opened(person).get(PAGE).content.decode()
    assert "15 février 2027" not in page and fr("Vos titres d'identité") not in page
    assert fr("Coupure d'eau : rue de la Fuite") in page
    assert not AccessLog.objects.filter(person_id=person.pk, actor_kind="habitant",
                                        purpose="rappels_echeances").exists()  # nothing read for that purpose
    # an opposition to SMS only is no opposition to the page
    registry.add_opt_out(Access(system_actor("test"), "securite_publique"), person.pk, purpose="alertes",
                         channel="sms", source="test")
    assert fr("Coupure d'eau : rue de la Fuite") in opened(person).get(PAGE).content.decode()
    registry.add_opt_out(Access(system_actor("test"), "securite_publique"), person.pk, purpose="alertes",
                         source="test")
    assert fr("Coupure d'eau") not in opened(person).get(PAGE).content.decode()


def test_only_active_real_incidents_covering_the_address_are_shown(pair) -> None:
    person = pair["first"]
    voie = person.household.address.voie_id
    water_cut(voie, exercise=True).messages.update(texts={"fr": "Exercice de coupure."})
    water_cut(voie, status="resolue").messages.update(texts={"fr": "Coupure terminée."})
    around = water_cut(pair["second"].household.address.voie_id)
    around.address_ids = [person.household.address_id]  # an address list reaching this one too
    around.save()
    around.messages.update(texts={"fr": "Votre adresse est dans la liste."})
    page = opened(person).get(PAGE).content.decode()
    assert "Exercice de coupure" not in page and "Coupure terminée" not in page
    assert fr("Votre adresse est dans la liste.") in page and page.count("fr-callout__title") == 3


def test_a_person_no_longer_active_is_shown_nothing(pair) -> None:
    client = opened(pair["first"])
    Person.objects.filter(pk=pair["first"].pk).update(status="moved_out")
    page = client.get(PAGE).content.decode()
    assert "15 février 2027" not in page and fr("Coupure d'eau") not in page
    assert fr("Nous n'avons rien à vous signaler pour le moment.") in page
    assert not AccessLog.objects.filter(person_id=pair["first"].pk, actor_kind="habitant").exists()


def test_after_thirty_minutes_the_page_refuses_and_asks_for_the_link_again(pair, fixed_clock) -> None:
    client = opened(pair["first"])
    assert client.get(PAGE).status_code == 200
    fixed_clock.advance(timedelta(minutes=29))
    assert client.get(PAGE).status_code == 200  # activity does not extend it…
    fixed_clock.advance(timedelta(minutes=2))  # …31 minutes after the opening
    expired = client.get(PAGE)
    assert expired.status_code == 403 and expired["Cache-Control"] == "no-store"
    assert fr("Pour protéger vos données, cette page ne reste ouverte que 30 minutes.") in expired.content.decode()
    assert "15 février" not in expired.content.decode()
    assert client.post("/site/pour-vous/demarche/", {"cle": f"titre-{pair['passport'].pk}"}).status_code == 403
    again = client.get(PAGE)  # the link left the session with it
    assert again.status_code == 403 and fr("Cette page s'ouvre avec votre lien personnel") in again.content.decode()
    request = RequestFactory().get(PAGE)
    request.session = client.session
    assert _resident.session_person(request) is None
    # opening the link again starts a new session of 30 minutes
    link = Link.objects.get(purpose=_resident.LINK_PURPOSE, person_id=pair["first"].pk)
    assert client.get(f"/l/{token_for(link.pk)}").status_code == 302
    assert client.get(PAGE).status_code == 200


def test_session_person_names_the_links_person_within_thirty_minutes(pair, fixed_clock) -> None:
    client = opened(pair["first"])
    client.get(PAGE)
    request = RequestFactory().get("/site/")
    request.session = client.session
    assert _resident.session_person(request) == pair["first"].pk
    fixed_clock.advance(timedelta(minutes=30))
    assert _resident.session_person(request) is None
    anonymous = RequestFactory().get("/site/")
    anonymous.session = Client().session
    assert _resident.session_person(anonymous) is None


def test_terminer_ends_the_session_at_once(pair) -> None:
    client = opened(pair["first"])
    client.get(PAGE)
    ended = client.post("/site/pour-vous/terminer/")
    assert ended.status_code == 200 and fr("Votre page personnelle est fermée") in ended.content.decode()
    assert _resident.SESSION_KEY not in client.session
    assert _resident.LINK_PURPOSE not in (client.session.get(_resident.LINKS_SESSION_KEY) or {})
    refused = client.get(PAGE)
    assert refused.status_code == 403 and "15 février" not in refused.content.decode()
    assert Client().post("/site/pour-vous/terminer/").status_code == 200  # harmless without a session


def test_the_button_opens_the_titres_portal_for_the_same_person_until_the_session_ends(pair, fixed_clock) -> None:
    client = opened(pair["first"])
    client.get(PAGE)
    fixed_clock.advance(timedelta(minutes=10))
    followed = client.post("/site/pour-vous/demarche/", {"cle": f"titre-{pair['passport'].pk}"})
    assert followed.status_code == 302 and followed["Location"] == "/demarches/titres/"
    link = Link.objects.get(purpose="deadlines.booking", person_id=pair["first"].pk)
    assert link.payload == {"subject_id": pair["passport"].pk} and link.uses == 1
    assert link.expires_at == clock.now() + timedelta(minutes=20)  # no longer than the resident's session
    portal = client.get("/demarches/titres/")
    assert portal.status_code == 200 and pair["first"].prenoms.split()[0] in portal.content.decode()
    client.post("/site/pour-vous/terminer/")
    assert client.get("/demarches/titres/").status_code == 403  # the link made from the page left with it


def test_an_appointment_already_booked_is_what_the_item_says(pair) -> None:
    from proactif.deadlines import services as deadlines

    counter = deadlines.ensure_default_counter()
    day = next(d for d, free in deadlines.available_days(counter, TODAY, days=30) if free)
    slot = next(s for s in deadlines.day_slots(counter, day) if s.free)
    deadlines.book(deadlines.BookingRequest(pair["first"].pk, counter.pk, slot.starts_at, "renouvellement",
                                            ("passeport",), ("AB12CD34EF",), pair["passport"].pk, None, "test"))
    assert Appointment.objects.filter(person_id=pair["first"].pk, status="booked").exists()
    page = opened(pair["first"]).get(PAGE).content.decode()
    assert fr("Vous avez rendez-vous le") in page and fr("Voir ou déplacer mon rendez-vous") in page


def test_forged_expired_or_missing_links_get_a_french_refusal(pair, fixed_clock) -> None:
    client = Client()
    forged = client.get("/l/AbCdEf:1a2b3c:xyz")
    assert forged.status_code == 410 and fr("Ce lien n'est pas valide.") in forged.content.decode()
    link, _ = registry_link(pair["first"], days=1)
    fixed_clock.advance(timedelta(days=2))
    expired = client.get(f"/l/{token_for(link.pk)}")
    assert expired.status_code == 410 and fr("Ce lien a expiré.") in expired.content.decode()
    missing = client.get(PAGE)
    assert missing.status_code == 403 and fr("Cette page s'ouvre avec votre lien personnel") in \
        missing.content.decode()
    with pytest.raises(_resident.ResidentLinkError, match="aucune personne"):
        _resident.resident_link(10**12)
    gone = Person.objects.filter(status="active").order_by("-id").first()
    Person.objects.filter(pk=gone.pk).update(status="moved_out")
    with pytest.raises(_resident.ResidentLinkError, match="plus un habitant actif"):
        _resident.resident_link(gone.pk)


def test_each_reading_writes_the_access_log_naming_the_person(pair) -> None:
    person = pair["first"]
    client = opened(person)
    client.get(PAGE)
    rows = AccessLog.objects.filter(person_id=person.pk, actor_kind="habitant").order_by("purpose")
    assert [(r.purpose, r.section, r.action, r.actor_id, r.detail["elements"]) for r in rows] == [
        ("alertes", "adresses", "view", person.pk, 1), ("rappels_echeances", "documents", "view", person.pk, 1)]
    assert rows[0].actor_label == _resident.RESIDENT_LABEL and rows[0].detail["page"] == "site_habitant"
    client.get(PAGE)
    assert AccessLog.objects.filter(person_id=person.pk, actor_kind="habitant").count() == 4
    assert not AccessLog.objects.filter(person_id=pair["second"].pk, actor_kind="habitant").exists()


def test_the_declarations_rely_on_known_communication_purposes() -> None:
    declared = {(d.purpose, d.section) for d in capabilities.for_resident()}
    assert declared == {("rappels_echeances", "documents"), ("alertes", "adresses")}
    assert all(purpose in COMMUNICATION_PURPOSES for purpose, _ in declared)
    assert capabilities.link_target(_resident.LINK_PURPOSE) == "assist:resident"
    assert _resident.LINKS_SESSION_KEY == _links.SESSION_KEY


def test_the_demo_link_leads_to_a_resident_whose_passport_is_shown(fixed_clock) -> None:
    found = _resident.demo_link()
    assert found is not None
    person_id, url = found
    client = Client()
    assert client.get("/l/" + url.rsplit("/", 1)[1]).status_code == 302
    page = client.get(PAGE).content.decode()
    assert fr("Votre passeport expire le") in page
    assert AccessLog.objects.filter(person_id=person_id, actor_kind="habitant").count() == 2


def test_every_resident_page_passes_grammalecte(pair, fixed_clock, tmp_path) -> None:
    import shutil

    from tests.conftest import require
    from tests.messaging.test_grammar import excused, grammalecte
    from tests.web.test_citizen_french import visible_text

    require(shutil.which("grammalecte-cli") is not None, "grammalecte-cli is absent (scripts/setup.sh --browser)")
    client = opened(pair["first"])
    pages = [client.get(PAGE).content.decode(), Client().get(PAGE).content.decode()]
    client.post("/site/pour-vous/demarche/", {"cle": "inconnue"})
    pages.append(client.post("/site/pour-vous/demarche/", {"cle": "inconnue"}).content.decode())
    fixed_clock.advance(timedelta(minutes=31))
    pages.append(client.get(PAGE).content.decode())
    pages.append(opened(pair["second"]).post("/site/pour-vous/terminer/").content.decode())
    texts = [visible_text(page) for page in pages]
    assert all(len(t) > 200 for t in texts), [len(t) for t in texts]
    assert "15 février 2027" in texts[0] and "ne vous est plus proposée" in texts[2]
    reports = [r for r in grammalecte(texts, [], tmp_path) if not excused(r, "page")]
    assert reports == [], reports[:20]
