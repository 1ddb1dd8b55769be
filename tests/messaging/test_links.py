"""Citizen links: signed, expiring, revocable, single-purpose; opening one is an engagement and an event."""

from __future__ import annotations

from datetime import timedelta

import pytest

from proactif.kernel import clock
from proactif.messaging import services
from proactif.messaging.models import Engagement, Link

pytestmark = pytest.mark.django_db


def test_a_link_opens_the_portal_once_counted_as_engagement(client, fixed_clock, heard) -> None:
    link, url = services.create_link("deadlines.booking", 42, instance_id=7)
    token = url.rsplit("/", 1)[1]
    response = client.get(f"/l/{token}")
    assert response.status_code == 302 and response["Location"] == "/demarches/titres/"
    assert client.get("/demarches/titres/").status_code == 200  # the session remembers the link
    client.get(f"/l/{token}")
    link.refresh_from_db()
    assert link.uses == 2 and link.first_used_at == clock.now()
    assert Engagement.objects.filter(person_id=42, kind="click").count() == 1  # the first opening only
    assert len([p for p in heard if p["event"] == "link_clicked" and p["person_id"] == 42]) == 1


def test_tampered_expired_and_revoked_links_are_refused_in_french(client, fixed_clock) -> None:
    link, url = services.create_link("deadlines.booking", 43, days=1)
    token = url.rsplit("/", 1)[1]
    tampered = client.get(f"/l/{token[:-2]}xx")
    assert tampered.status_code == 410 and "pas valide" in tampered.content.decode()
    fixed_clock.advance(timedelta(days=2))
    expired = client.get(f"/l/{token}")
    assert expired.status_code == 410 and "a expiré" in expired.content.decode()
    fixed_clock.advance(timedelta(days=-2))
    Link.objects.filter(pk=link.pk).update(revoked_at=clock.now())
    assert "désactivé" in client.get(f"/l/{token}").content.decode()


def test_the_portal_without_a_link_explains_how_to_get_one(client) -> None:
    response = client.get("/demarches/titres/")
    assert response.status_code == 403 and "lien" in response.content.decode()


def test_a_link_of_another_purpose_does_not_open_the_booking_portal(client, fixed_clock) -> None:
    _, url = services.create_link("autre.demarche", 44)
    response = client.get(f"/l/{url.rsplit('/', 1)[1]}")
    assert response.status_code == 410 and "ne mène plus" in response.content.decode()
