"""Counters, slots and bookings: opening hours, holidays and closures, the last seat, cancel and rebook,
pré-demande numbers, the calendar file, the status file from the production centre."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from proactif.deadlines import domain, services
from proactif.deadlines.models import Appointment, Closure, TitleRequest
from proactif.kernel import clock
from tests.conftest import fr, some_person_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def tuesday():
    moving = clock.FixedClock(datetime(2026, 12, 1, 7, 0, tzinfo=UTC))
    with clock.use(moving):
        yield moving


def test_pre_demande_numbers_are_checked() -> None:
    assert domain.clean_pre_demandes("ab12cd34ef, 1234567890") == ["AB12CD34EF", "1234567890"]
    with pytest.raises(domain.InvalidPreDemande, match="10 caractères"):
        domain.clean_pre_demandes("AB12CD34E")
    with pytest.raises(domain.InvalidPreDemande, match="deux fois"):
        domain.clean_pre_demandes("AB12CD34EF AB12CD34EF")


def test_slots_follow_opening_hours_and_skip_holidays_and_closures(tuesday) -> None:
    counter = services.ensure_default_counter()
    slots = services.day_slots(counter, date(2026, 12, 1))
    assert slots[0].starts_at.hour == 8 and slots[0].starts_at.minute == 30 and slots[0].free == counter.seats
    assert len(slots) == 2 * (210 // counter.slot_minutes)  # 08:30–12:00 and 13:30–17:00
    assert services.day_slots(counter, date(2026, 12, 25)) == []  # Christmas
    assert services.day_slots(counter, date(2026, 12, 6)) == []  # Sunday
    services.add_closure(counter.pk, date(2026, 12, 2), "Formation")
    assert services.day_slots(counter, date(2026, 12, 2)) == []
    assert date(2026, 12, 2) not in [d for d, _ in services.available_days(counter)]


def test_the_last_seat_goes_to_one_person_only(tuesday) -> None:
    counter = services.ensure_default_counter()
    slot = services.day_slots(counter, date(2026, 12, 3))[0]
    from proactif.registry.models import Person

    people = list(Person.objects.filter(status="active").order_by("id").values_list("id", flat=True)
                  [:counter.seats + 1])
    *seated, extra = people
    for person_id in seated:
        services.book(services.BookingRequest(person_id, counter.pk, slot.starts_at))
    with pytest.raises(services.BookingError, match="vient d'être pris"):
        services.book(services.BookingRequest(extra, counter.pk, slot.starts_at))
    assert Appointment.objects.filter(starts_at=slot.starts_at, status="booked").count() == counter.seats


def test_cancel_and_rebook_free_the_seat_and_confirm_once(tuesday) -> None:
    counter = services.ensure_default_counter()
    person_id = some_person_id()
    first, later = services.day_slots(counter, date(2026, 12, 4))[:2]
    booked = services.book(services.BookingRequest(person_id, counter.pk, first.starts_at,
                                                   pre_demandes=("AB12CD34EF",)))
    moved = services.rebook(booked.pk, later.starts_at, "portail")
    assert Appointment.objects.get(pk=booked.pk).status == "cancelled" and moved.status == "booked"
    assert moved.pre_demandes == ["AB12CD34EF"]
    assert services.day_slots(counter, date(2026, 12, 4))[0].free == counter.seats
    services.cancel(moved.pk, "portail")
    with pytest.raises(services.BookingError, match="plus réservé"):
        services.cancel(moved.pk, "portail")
    ics = services.ics(moved)
    assert ics.startswith("BEGIN:VCALENDAR") and "DTSTART:20261204T" in ics and moved.uid in ics


def test_a_confirmation_still_queued_is_withdrawn_when_the_appointment_is_cancelled(tuesday) -> None:
    """Booked at night, cancelled before the morning: the citizen gets the cancellation, never « confirmé »."""
    from proactif.messaging.models import OutboxMessage

    counter = services.ensure_default_counter()
    slot = services.day_slots(counter, date(2026, 12, 4))[0]
    booked = services.book(services.BookingRequest(some_person_id(), counter.pk, slot.starts_at))
    confirmation = OutboxMessage.objects.get(idempotency_key=f"rdv:{booked.pk}:confirmation")
    assert confirmation.status == "created"  # not sent yet
    services.cancel(booked.pk, "portail")
    confirmation.refresh_from_db()
    assert confirmation.status == "cancelled" and confirmation.error == "rendez-vous annulé avant l'envoi"
    cancellation = OutboxMessage.objects.get(idempotency_key=f"rdv:{booked.pk}:annulation")
    assert cancellation.status == "created"


def test_the_status_file_marks_titles_ready_or_collected_and_reports_bad_lines(tuesday, tmp_path) -> None:
    counter = services.ensure_default_counter()
    person_id = some_person_id()
    slot = services.day_slots(counter, date(2026, 12, 3))[0]
    appointment = services.book(services.BookingRequest(person_id, counter.pk, slot.starts_at,
                                                        kinds=("cni", "passeport"),
                                                        pre_demandes=("AB12CD34EF", "ZZ98YY76XX")))
    tuesday.set(slot.starts_at + timedelta(minutes=30))
    requests = services.mark_done(appointment.pk, "agent")
    assert [r.kind for r in requests] == ["cni", "passeport"]
    path = tmp_path / "statuts.csv"
    path.write_text("pre_demande;statut\nAB12CD34EF;pret\nZZ98YY76XX;remis\nXX00000000;pret\nAB12CD34EF;perdu\n",
                    encoding="utf-8")
    report = services.import_status_file(str(path))
    assert (report.lines, report.ready, report.collected) == (4, 1, 1)
    assert [(line, column) for line, column, _ in report.errors] == [(4, "pre_demande"), (5, "statut")]
    ready = TitleRequest.objects.get(pre_demande="AB12CD34EF")
    assert ready.status == "prete" and ready.collect_by == date(2027, 3, 3)
    assert TitleRequest.objects.get(pre_demande="ZZ98YY76XX").status == "remise"


def test_documents_to_bring_depend_on_the_case() -> None:
    renewal = domain.documents_to_bring("renouvellement", ["passeport"])
    theft = domain.documents_to_bring("perte_vol", ["cni"])
    assert renewal != theft and any("déclaration" in p.lower() for p in theft)
    assert domain.documents_to_bring("mineur", ["cni"]) != renewal


def test_closures_apply_to_every_counter_when_general(tuesday) -> None:
    counter = services.ensure_default_counter()
    closure = services.add_closure(None, date(2026, 12, 24), "Fermeture exceptionnelle")
    assert services.day_slots(counter, date(2026, 12, 24)) == []
    services.remove_closure(closure.pk)
    assert not Closure.objects.filter(pk=closure.pk).exists()
    assert services.day_slots(counter, date(2026, 12, 24))


def test_the_agenda_of_a_day_exports_its_appointments_logged_as_an_export(tuesday, agents) -> None:
    from django.test import Client

    from proactif.audit.models import AccessLog
    from proactif.registry.models import Person

    counter = services.ensure_default_counter()
    slot = services.day_slots(counter, date(2026, 12, 3))[0]
    people = list(Person.objects.filter(status="active").order_by("id").values_list("id", flat=True)[:2])
    for person_id in people:
        services.book(services.BookingRequest(person_id, counter.pk, slot.starts_at, kinds=("cni",)))
    agent = Client()
    agent.force_login(agents["etat_civil"])
    page = agent.get("/rendez-vous/", {"jour": "2026-12-03", "guichet": counter.pk}).content.decode()
    assert "2 rendez-vous" in page and fr("carte nationale d&#x27;identité") in page and "Exporter les 2 lignes" in page
    response = agent.get("/rendez-vous/", {"jour": "2026-12-03", "guichet": counter.pk, "export": "csv"})
    assert response.status_code == 200 and "rendez-vous-2026-12-03" in response["Content-Disposition"]
    lines = response.content.decode().lstrip("\ufeff").splitlines()
    assert lines[0] == "Heure;Habitant;Demande;Pré-demande;État" and len(lines) == 3
    assert lines[1].startswith("08:30;")
    assert "Renouvellement — carte nationale d'identité" in lines[1] and lines[1].endswith(";Réservé")
    assert set(AccessLog.objects.filter(action="export_list").values_list("person_id", flat=True)) == set(people)
    police = Client()
    police.force_login(agents["police"])
    assert police.get("/rendez-vous/", {"export": "csv"}).status_code == 403
