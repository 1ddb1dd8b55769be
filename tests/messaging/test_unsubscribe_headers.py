"""One-click unsubscribe (RFC 8058) and DKIM (RFC 6376): a newsletter's e-mail carries `List-Unsubscribe: <https…>`
and `List-Unsubscribe-Post: List-Unsubscribe=One-Click` whichever writer (`wire`, `build`) makes it, never a URL
that is not absolute https or that would break the header; with a key configured, the bytes that leave are
signed over From, To, Subject, Date, Message-ID and both unsubscribe headers, and the signature verifies against
the published key — with an independent verifier written from the RFC here, and with dkimpy when installed."""

from __future__ import annotations

import base64
import hashlib
import re
import socket
from email import message_from_bytes, policy

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from proactif.messaging._channels import dkim as dkim_module
from proactif.messaging._channels.base import Outgoing
from proactif.messaging._channels.email import SmtpClient
from proactif.messaging._sinks import smtp as smtp_sink

SENDER = "Ville de Belleroche <ne-pas-repondre@belleroche.example>"
URL = "https://belleroche.example/site/lettre/desinscription/4f2a9c?jeton=abc-123"
HEADERS = ("From", "To", "Subject", "Message-ID", "X-Proactif-Key", "Auto-Submitted", "List-Unsubscribe",
           "List-Unsubscribe-Post", "MIME-Version")


def letter(url: object = URL, recipient: str = "jeanne.martin@example.org", **meta: object) -> Outgoing:
    return Outgoing("lettre:12:abonne:7", "email", recipient, "La lettre de Belleroche — décembre",
                    "Bonjour,\n\nLes activités sportives des enfants reprennent.  \n\nÀ bientôt\n",
                    meta={"unsubscribe": url, **meta})


def both(message: Outgoing) -> tuple[bytes, bytes]:
    wire = SmtpClient.wire(message, SENDER)
    assert wire is not None
    return wire[1], SmtpClient.serialise(SmtpClient.build(message, SENDER))


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# --- RFC 8058 -----------------------------------------------------------------------------------------------------
def test_wire_and_build_carry_the_same_one_click_headers() -> None:
    wire, built = both(letter())
    fast, reference = message_from_bytes(wire, policy=policy.default), message_from_bytes(built, policy=policy.default)
    assert fast["List-Unsubscribe"] == f"<{URL}>"
    assert fast["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    for name in HEADERS:
        assert str(fast[name]) == str(reference[name]), name
        assert len(fast.get_all(name) or []) == len(reference.get_all(name) or []) == 1, name
    unsubscribe = (b"\r\nList-Unsubscribe: <" + URL.encode()
                   + b">\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
    assert unsubscribe in wire and unsubscribe in built  # byte for byte, one line each (no folding)


@pytest.mark.parametrize("url", [None, "", "http://belleroche.example/desinscription", "mailto:stop@belleroche.example",
                                 "/site/lettre/desinscription/4f2a9c", f"{URL}\r\nBcc: tout@le-monde.example",
                                 f"{URL}>, <https://ailleurs.example/", "https://belleroche.example/a b", 42,
                                 "https://belleroche.example/" + "x" * 1000])
def test_no_header_without_an_absolute_https_address_that_fits_in_it(url: object) -> None:
    for raw in both(letter(url)):
        assert b"List-Unsubscribe" not in raw
        assert b"Bcc" not in raw and b"ailleurs" not in raw


def test_the_headers_go_through_the_email_package_too_when_it_writes_the_message() -> None:
    """An attachment (or a non-ASCII address) sends the message through `build`: the headers are there."""
    message = letter(attachments=[("programme.txt", "Samedi : judo", "text/plain")])
    assert SmtpClient.wire(message, SENDER) is None
    client = SmtpClient("127.0.0.1", 9, SENDER, dkim=None)
    _, raw, international = client.signed(message)
    parsed = message_from_bytes(raw, policy=policy.default)
    assert (parsed["List-Unsubscribe"], parsed["List-Unsubscribe-Post"], international) == (
        f"<{URL}>", "List-Unsubscribe=One-Click", False)


# --- RFC 6376 -----------------------------------------------------------------------------------------------------
def verify(raw: bytes, public_record: str) -> dict[str, str]:
    """An independent reading of RFC 6376 §3.4 and §6.1: the tags of the first DKIM-Signature, checked (body hash,
    rsa-sha256 over the relaxed headers h= lists and the signature header with an empty b=); AssertionError
    otherwise."""
    head, _, body = raw.partition(b"\r\n\r\n")
    fields: list[list[bytes]] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            fields[-1][1] += b"\r\n" + line
        else:
            name, _, value = line.partition(b":")
            fields.append([name, value])

    def canon(name: bytes, value: bytes) -> bytes:
        value = re.sub(rb"[ \t]+", b" ", value.replace(b"\r\n", b"")).strip()
        return name.lower().strip() + b":" + value

    signature = next(v for n, v in fields if n.lower() == b"dkim-signature")
    tags = {k.strip(): v for k, _, v in (t.partition("=") for t in re.sub(r"\s+", "", signature.decode()).split(";"))
            if k.strip()}
    assert (tags["v"], tags["a"], tags["c"]) == ("1", "rsa-sha256", "relaxed/relaxed")
    lines = [re.sub(rb"[ \t]+", b" ", line).rstrip() for line in body.split(b"\r\n")]
    while lines and not lines[-1]:
        lines.pop()
    canonical_body = b"".join(line + b"\r\n" for line in lines)
    assert base64.b64encode(hashlib.sha256(canonical_body).digest()).decode() == tags["bh"], "body hash"
    data = b""
    remaining = [f for f in fields if f[0].lower() != b"dkim-signature"]
    for name in tags["h"].split(":"):
        found = [f for f in remaining if f[0].strip().lower() == name.encode()]
        if found:
            data += canon(*found[-1]) + b"\r\n"
            remaining.remove(found[-1])
    data += canon(b"DKIM-Signature", re.sub(rb"b=[^;]*$", b"b=", signature.rstrip()))
    public = serialization.load_der_public_key(base64.b64decode(public_record.split("p=", 1)[1]))
    public.verify(base64.b64decode(tags["b"]), data, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]
    return tags


def test_the_signature_covers_the_sender_the_subject_and_the_unsubscribe_headers(key: rsa.RSAPrivateKey) -> None:
    signer = dkim_module.Dkim("lettre2026", "belleroche.example", key)
    for raw in both(letter()):
        signed = signer.sign(raw, now=1_796_000_000)
        assert signed.startswith(b"DKIM-Signature: v=1;") and signed.endswith(raw)
        tags = verify(signed, signer.dns_record())
        assert tags["h"] == "from:to:subject:date:message-id:list-unsubscribe:list-unsubscribe-post"
        assert (tags["d"], tags["s"], tags["t"]) == ("belleroche.example", "lettre2026", "1796000000")
        assert all(len(line) <= 998 for line in signed.split(b"\r\n"))
        for before, after in ((b"desinscription/4f2a9c", b"desinscription/000000"), (b"Date: ", b"Date:   "),
                              (b"Les activit", b"Des activit")):
            tampered = signed.replace(before, after, 1)
            assert tampered != signed
            if before == b"Date: ":  # relaxed canonicalization: extra spaces are not a change
                verify(tampered, signer.dns_record())
                continue
            with pytest.raises(Exception):  # noqa: B017 (a body hash mismatch or an invalid signature)
                verify(tampered, signer.dns_record())


def test_dkimpy_verifies_it_against_the_published_record(key: rsa.RSAPrivateKey) -> None:
    dkim = pytest.importorskip("dkim")
    signer = dkim_module.Dkim("lettre2026", "belleroche.example", key)
    asked: list[bytes] = []

    def dns(name: bytes, timeout: int = 5) -> bytes:
        asked.append(name)
        return signer.dns_record().encode()

    for raw in both(letter()):
        assert dkim.verify(signer.sign(raw), dnsfunc=dns)
        assert not dkim.verify(signer.sign(raw).replace(b"4f2a9c", b"4f2a9d"), dnsfunc=dns)
    assert set(asked) == {b"lettre2026._domainkey.belleroche.example."}


def test_the_key_comes_from_the_environment_as_pem_or_as_a_file(key: rsa.RSAPrivateKey, settings, tmp_path) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    settings.DKIM_PRIVATE_KEY, settings.DKIM_SELECTOR, settings.DKIM_DOMAIN = pem, "lettre2026", "Belleroche.example"
    from_pem = SmtpClient("127.0.0.1", 9, SENDER).dkim
    assert from_pem is not None and from_pem.domain == "belleroche.example"
    (tmp_path / "dkim.pem").write_text(pem)
    settings.DKIM_PRIVATE_KEY = str(tmp_path / "dkim.pem")
    from_file = dkim_module.from_settings()
    assert from_file is not None and from_file.dns_record() == from_pem.dns_record()
    settings.DKIM_PRIVATE_KEY = None
    assert SmtpClient("127.0.0.1", 9, SENDER).dkim is None
    for value, selector, domain, error in (
            (str(tmp_path / "absente.pem"), "s", "belleroche.example", "ni une clé PEM ni un fichier"),
            ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "s", "belleroche.example", "illisible"),
            (pem, "", "belleroche.example", "PROACTIF_DKIM_SELECTOR"),
            (pem, "s", "pas un domaine", "PROACTIF_DKIM_DOMAIN")):
        with pytest.raises(dkim_module.DkimError, match=error):
            dkim_module.load(value, selector, domain)


def test_what_leaves_over_smtp_is_signed(key: rsa.RSAPrivateKey) -> None:
    """Through the real client and a real SMTP server, both writers: the bytes received verify."""
    received: list[bytes] = []
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = smtp_sink.SmtpSink(lambda recipients, raw: received.append(raw), "127.0.0.1", port)
    server.start()
    try:
        signer = dkim_module.Dkim("lettre2026", "belleroche.example", key)
        client = SmtpClient("127.0.0.1", port, SENDER, dkim=signer, is_sink=True)
        for message in (letter(), letter(attachments=[("programme.txt", "Samedi : judo", "text/plain")])):
            result = client.send(message)
            assert result.ok, result.error
        assert len(received) == 2
        for raw in received:
            tags = verify(raw, signer.dns_record())
            assert "list-unsubscribe-post" in tags["h"]
            assert message_from_bytes(raw, policy=policy.default)["List-Unsubscribe-Post"] == \
                "List-Unsubscribe=One-Click"
    finally:
        server.stop()
