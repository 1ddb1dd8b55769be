"""The adapters' wire formats: the e-mail written directly says what the `email` package's message says; the
keep-alive HTTP client talks to a real server, survives a server that closes idle connections, and gives
up on a silent one within its timeout."""

from __future__ import annotations

import json
import threading
import time
from email import message_from_bytes
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from proactif.messaging._channels.base import Outgoing
from proactif.messaging._channels.email import SmtpClient
from proactif.messaging._channels.http import HttpClient

SENDER = "Mairie de Saint-Étienne-des-Prés <ne-pas-repondre@mairie.example.fr>"


def parsed(raw: bytes) -> Any:
    return message_from_bytes(raw, policy=default)


@pytest.mark.parametrize(("subject", "body"), [
    ("Réunion publique", "Bonjour Jeanne,\n\nRéunion jeudi à 18 h, salle des fêtes.\n\nLa mairie"),
    ("Pièces à apporter : cœur d’œuvre", "Une ligne\n.commençant par un point\n" + "très longue ligne " * 20),
    ("ASCII only", "plain\r\nwith CRLF\r\n\r\nand a paragraph"),
])
def test_the_direct_email_says_what_the_email_package_says(subject: str, body: str) -> None:
    message = Outgoing("j12:3:alerte", "email", "jeanne.martin@example.org", subject, body,
                       meta={"unsubscribe": "https://mairie.example.fr/preferences"})
    message_id, raw = SmtpClient.wire(message, SENDER)  # type: ignore[misc]
    assert all(len(line) <= 998 for line in raw.split(b"\r\n")) and b"\n" not in raw.replace(b"\r\n", b"")
    fast, reference = parsed(raw), parsed(bytes(SmtpClient.build(message, SENDER)))
    for name in ("From", "To", "Subject", "Message-ID", "X-Proactif-Key", "Auto-Submitted", "List-Unsubscribe"):
        assert str(fast[name]) == str(reference[name]), name
    assert fast["Message-ID"] == message_id
    for kind in ("plain", "html"):
        ours = fast.get_body(preferencelist=(kind,)).get_content()
        theirs = reference.get_body(preferencelist=(kind,)).get_content()
        assert ours.replace("\r\n", "\n") == theirs.replace("\r\n", "\n"), kind


def test_attachments_and_unusual_addresses_go_through_the_email_package() -> None:
    with_file = Outgoing("k", "email", "a@example.org", "Rendez-vous", "Texte",
                         meta={"attachments": [("rdv.ics", "BEGIN:VCALENDAR", "text/calendar")]})
    assert SmtpClient.wire(with_file, SENDER) is None
    assert SmtpClient.wire(Outgoing("k", "email", "andré@exemple.fr", "S", "T"), SENDER) is None
    assert SmtpClient.wire(Outgoing("k", "email", "a@example.org", "S\r\nBcc: x@y.z", "T"), SENDER) is None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    close_after: int = 0  # close the connection after this many requests (0: keep it)
    silent = False
    served = 0

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if Handler.silent:
            time.sleep(1.5)
        Handler.served += 1
        answer = json.dumps({"echo": json.loads(body), "key": self.headers.get("Idempotency-Key")}).encode()
        try:
            self.send_response(201)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
        except BrokenPipeError:  # the silent case: the client has given up
            return
        if Handler.close_after and Handler.served % Handler.close_after == 0:
            self.close_connection = True


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Handler.close_after, Handler.silent, Handler.served = 0, False, 0
    yield f"http://127.0.0.1:{httpd.server_address[1]}/sms"
    httpd.shutdown()


def test_the_http_client_keeps_its_connection_and_replaces_a_closed_one(server: str) -> None:
    client = HttpClient(timeout=5)
    for n in range(5):
        response = client.post(server, json.dumps({"n": n}).encode(), {"Idempotency-Key": f"k{n}"})
        assert response.status == 201 and json.loads(response.body) == {"echo": {"n": n}, "key": f"k{n}"}
    Handler.close_after = 2  # the server now closes every second connection after answering
    answers = [json.loads(client.post(server, b'{"m": 1}', {}).body)["echo"] for _ in range(6)]
    assert answers == [{"m": 1}] * 6
    client.close()


def test_a_silent_server_fails_the_call_within_the_timeout(server: str) -> None:
    from proactif.messaging._channels.base import UnknownOutcome

    client = HttpClient(timeout=0.3)
    Handler.silent = True
    started = time.monotonic()
    with pytest.raises(UnknownOutcome):  # the request left: the server may have it
        client.post(server, b"{}", {})
    assert time.monotonic() - started < 1.2
    Handler.silent = False
    assert client.post(server, b'{"again": true}', {}).status == 201  # a fresh connection after the failure


def test_the_smtp_sink_reads_what_smtplib_sends_both_ways() -> None:
    """The sink's server and reader against the real SMTP client: the directly written message, the `email`
    package's one with an attachment (multipart/mixed around the alternatives), dot-stuffing, pipelined
    sessions on one connection."""
    import smtplib
    import socket

    from proactif.messaging._sinks.smtp import SmtpSink, read

    received: list[tuple[list[str], tuple[str, str, str]]] = []
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = SmtpSink(lambda rcpt, raw: received.append((rcpt, read(raw))), "127.0.0.1", port)
    sink.start()
    try:
        body = "Bonjour,\n.une ligne qui commence par un point\n\nPièces : cœur d’œuvre — 18 h."
        plain = Outgoing("j1:2:pieces", "email", "jeanne@example.org", "Pièces à apporter", body)
        attached = Outgoing("j1:3:rdv", "email", "paul@example.org", "Rendez-vous confirmé", "Votre rendez-vous.",
                            meta={"attachments": [("rdv.ics", "BEGIN:VCALENDAR\r\nEND:VCALENDAR", "text/calendar")]})
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
            _, raw = SmtpClient.wire(plain, SENDER)  # type: ignore[misc]
            assert client.sendmail("ne-pas-repondre@mairie.example.fr", ["jeanne@example.org"], raw) == {}
            client.send_message(SmtpClient.build(attached, SENDER))
            assert client.noop()[0] == 250
        deadline = time.monotonic() + 5
        while len(received) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        sink.stop()
    assert received[0] == (["jeanne@example.org"], ("j1:2:pieces", "Pièces à apporter", body))
    assert received[1] == (["paul@example.org"], ("j1:3:rdv", "Rendez-vous confirmé", "Votre rendez-vous."))


def test_the_smtp_sink_refuses_an_oversized_message_after_reading_it_and_keeps_the_session(monkeypatch) -> None:
    import socket

    from proactif.messaging._sinks import smtp

    monkeypatch.setattr(smtp, "MAX_SIZE", 2000)
    received: list[bytes] = []
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = smtp.SmtpSink(lambda rcpt, raw: received.append(raw), "127.0.0.1", port)
    sink.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            reader = conn.makefile("rb")

            def reply() -> bytes:
                line = reader.readline()
                while line[3:4] == b"-":  # a multi-line reply
                    line = reader.readline()
                return line[:3]

            assert reply() == b"220"
            big = b"".join(b"ligne %04d de texte\r\n" % n for n in range(400))  # about 8 KB
            conn.sendall(b"EHLO test\r\nMAIL FROM:<a@b.fr>\r\nRCPT TO:<c@d.fr>\r\nDATA\r\n")
            assert [reply() for _ in range(4)] == [b"250", b"250", b"250", b"354"]
            for start in range(0, len(big), 1000):  # in pieces, as a network delivers it
                conn.sendall(big[start:start + 1000])
            conn.sendall(b".\r\nMAIL FROM:<a@b.fr>\r\nRCPT TO:<c@d.fr>\r\nDATA\r\n")
            assert [reply() for _ in range(4)] == [b"552", b"250", b"250", b"354"]
            conn.sendall(b".\r\nNOOP\r\nQUIT\r\n")  # an empty message, then the session goes on
            assert [reply() for _ in range(3)] == [b"250", b"250", b"221"]
    finally:
        sink.stop()
    assert received == [b""]
