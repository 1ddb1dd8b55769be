"""E-mail over SMTP (any server; the built-in sink by default). One connection per thread, reused.

SMTP has no idempotency key: a server that accepted a message delivers it again if it is sent again. So a
failure is sorted by when it happened: before the message's final dot left (no connection, a reply refusing
the sender, a recipient or the data) the server has nothing and a retry is safe; after it, while waiting for
the server's answer (a timeout, a reset), the outcome is unknown — the outbox retries that once, with the same
`Message-ID`, and counts it as a possible duplicate."""

from __future__ import annotations

import binascii
import contextlib
import hashlib
import html
import re
import smtplib
import socket
import threading
import time
from email import policy as email_policy
from email.header import Header
from email.message import EmailMessage
from email.utils import formataddr, formatdate, parseaddr
from functools import lru_cache
from typing import Any

from proactif.messaging._channels.base import ChannelClient, Outgoing, PermanentError, TemporaryError, UnknownOutcome
from proactif.messaging._channels.dkim import Dkim, from_settings

_SMTP = email_policy.SMTP.clone(refold_source="none")
_SMTPUTF8 = email_policy.SMTPUTF8.clone(refold_source="none")
ONE_CLICK = "List-Unsubscribe=One-Click"  # RFC 8058: the POST a mailbox provider makes to unsubscribe
_URL_CHARACTERS = re.compile(r"https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[!#-;=?-\[\]_a-z~]*)?")


def _unsubscribe_url(value: object) -> str | None:
    """The one-click unsubscribe address of a message (its context's `desinscription`), when it is an absolute
    https URL of printable ASCII without spaces, `<`, `>` or line breaks — nothing else reaches a header."""
    if isinstance(value, str) and _URL_CHARACTERS.fullmatch(value) and len(value) <= 900:
        return value
    return None


class _Smtp(smtplib.SMTP):
    """smtplib's client, knowing whether the message itself has left: `data()` sends it, final dot included,
    in one `send` of bytes (commands go as text)."""

    data_sent = False

    def send(self, s: bytes | str) -> None:
        super().send(s)
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.data_sent = True  # from here the server may accept the message whatever we hear back


@lru_cache(maxsize=1024)
def _header(value: str) -> str:
    """A header value, RFC 2047-encoded when it is not ASCII (a campaign's subjects repeat: cached)."""
    return value if value.isascii() else Header(value, "utf-8").encode(linesep="\r\n")


@lru_cache(maxsize=16)
def _from_header(sender: str) -> str:
    name, address = parseaddr(sender)
    return formataddr((name, address), charset="utf-8") if name else address


@lru_cache(maxsize=16)
def _envelope(sender: str) -> str:
    return parseaddr(sender)[1]


class SmtpClient(ChannelClient):
    channel = "email"
    name = "smtp"

    def __init__(self, host: str, port: int, sender: str, user: str | None = None, password: str | None = None,
                 starttls: bool = False, is_sink: bool = False, timeout: float = 15.0, dkim: Any = "settings"):
        """`dkim`: a `Dkim` signer, None (no signature), or "settings" (PROACTIF_DKIM_*, when configured)."""
        self.host, self.port, self.sender = host, port, sender
        self.dkim: Dkim | None = from_settings() if dkim == "settings" else dkim
        self.user, self.password, self.starttls = user, password, starttls
        self.is_sink = is_sink
        self.timeout = timeout
        self._local = threading.local()

    def _connection(self) -> tuple[_Smtp, bool]:
        """The thread's connection, and whether it was opened for this message."""
        connection = getattr(self._local, "smtp", None)
        if connection is not None:
            if time.monotonic() - getattr(self._local, "used", 0.0) < 5:
                self._local.used = time.monotonic()
                return connection, False  # used a moment ago: no NOOP round trip
            try:
                if connection.noop()[0] == 250:
                    self._local.used = time.monotonic()
                    return connection, False
            except (smtplib.SMTPException, OSError):
                pass
            self._forget()
        connection = _Smtp(self.host, self.port, timeout=self.timeout)
        if connection.sock is not None:  # commands are small writes: do not wait for the previous ACK (Nagle)
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._local.used = time.monotonic()
        if self.starttls:
            connection.starttls()
        if self.user:
            connection.login(self.user, self.password or "")
        self._local.smtp = connection
        return connection, True

    def _forget(self) -> None:
        connection, self._local.smtp = getattr(self._local, "smtp", None), None
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.close()

    @staticmethod
    def build(message: Outgoing, sender: str) -> EmailMessage:
        email = EmailMessage()
        email["From"] = sender
        email["To"] = message.recipient
        email["Subject"] = message.subject
        email["Date"] = formatdate(localtime=True)
        digest = hashlib.sha256(message.key.encode()).hexdigest()[:32]
        email["Message-ID"] = f"<{digest}@proactif>"
        email["X-Proactif-Key"] = message.key
        email["Auto-Submitted"] = "auto-generated"
        unsubscribe = _unsubscribe_url(message.meta.get("unsubscribe"))
        if unsubscribe:  # kept as written (`serialise` does not refold them): the same bytes as `wire`'s
            email.set_raw("List-Unsubscribe", f"<{unsubscribe}>")
            email.set_raw("List-Unsubscribe-Post", ONE_CLICK)
        email.set_content(message.body.replace("\r\n", "\n"))
        email.add_alternative(SmtpClient.html_body(message.body), subtype="html")
        for name, content, mime in message.meta.get("attachments", []):
            maintype, subtype = mime.split("/", 1)
            email.add_attachment(content.encode() if isinstance(content, str) else content, maintype=maintype,
                                 subtype=subtype, filename=name)
        return email

    @staticmethod
    def html_body(text: str) -> str:
        text = text.replace("\r\n", "\n")
        paragraphs = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in text.split("\n\n"))
        return (f"<!doctype html><html lang=\"fr\"><body style=\"font-family:Arial,sans-serif;font-size:16px;"
                f"line-height:1.5;color:#161616\">{paragraphs}</body></html>")

    @staticmethod
    def wire(message: Outgoing, sender: str) -> tuple[str, bytes] | None:
        """The message as sent (Message-ID, bytes) written directly: text and HTML alternatives in UTF-8,
        quoted-printable, headers encoded per RFC 2047 where needed — what `build` gives, for a fraction of
        the `email` package's work. None when it does not apply (attachments, a non-ASCII address): `build`."""
        if message.meta.get("attachments") or not message.recipient.isascii() or any(
                "\r" in value or "\n" in value for value in (message.recipient, message.subject, message.key)):
            return None
        digest = hashlib.sha256(message.key.encode()).hexdigest()[:32]
        message_id = f"<{digest}@proactif>"

        def quoted(text: str) -> str:
            return binascii.b2a_qp(text.replace("\r\n", "\n").replace("\n", "\r\n").encode(), istext=True).decode()

        lines = [f"From: {_from_header(sender)}", f"To: {message.recipient}", f"Subject: {_header(message.subject)}",
                 f"Date: {formatdate(localtime=True)}", f"Message-ID: {message_id}",
                 f"X-Proactif-Key: {_header(message.key)}", "Auto-Submitted: auto-generated"]
        unsubscribe = _unsubscribe_url(message.meta.get("unsubscribe"))
        if unsubscribe:
            lines += [f"List-Unsubscribe: <{unsubscribe}>", f"List-Unsubscribe-Post: {ONE_CLICK}"]
        boundary = "=_proactif_alternative"  # "=_" never occurs in quoted-printable text: one boundary for all
        lines += ["MIME-Version: 1.0", f'Content-Type: multipart/alternative; boundary="{boundary}"', "",
                  f"--{boundary}", 'Content-Type: text/plain; charset="utf-8"',
                  "Content-Transfer-Encoding: quoted-printable", "", quoted(message.body + "\n"),
                  f"--{boundary}", 'Content-Type: text/html; charset="utf-8"',
                  "Content-Transfer-Encoding: quoted-printable", "", quoted(SmtpClient.html_body(message.body) + "\n"),
                  f"--{boundary}--", ""]
        return message_id, "\r\n".join(lines).encode("ascii")

    @staticmethod
    def serialise(email: EmailMessage, international: bool = False) -> bytes:
        """`build`'s message as it leaves: CRLF, headers written by hand (the unsubscribe ones) kept on one line."""
        return email.as_bytes(policy=(_SMTPUTF8 if international else _SMTP))

    def signed(self, message: Outgoing) -> tuple[str, bytes, bool]:
        """(Message-ID, bytes as sent, whether they need SMTPUTF8): `wire`'s, or `build`'s serialised, signed
        with DKIM when a key is configured."""
        wire = self.wire(message, self.sender)
        if wire is not None:
            message_id, raw, international = wire[0], wire[1], False
        else:
            email = self.build(message, self.sender)
            international = not message.recipient.isascii()
            raw = self.serialise(email, international)
            message_id = str(email["Message-ID"])
        if self.dkim is not None:
            raw = self.dkim.sign(raw)
        return message_id, raw, international

    def _send(self, message: Outgoing) -> str:
        message_id, raw, international = self.signed(message)
        options = ["SMTPUTF8", "BODY=8BITMIME"] if international else []
        for attempt in (1, 2):
            try:
                connection, fresh = self._connection()
            except (smtplib.SMTPException, OSError) as exc:  # no connection, or refused before any message
                self._forget()
                raise ConnectionError(f"connexion SMTP impossible : {type(exc).__name__}: {exc}") from None
            connection.data_sent = False
            try:
                refused = connection.sendmail(_envelope(self.sender), [message.recipient], raw, options)
            except smtplib.SMTPRecipientsRefused as exc:
                raise PermanentError(f"adresse refusée : {next(iter(exc.recipients.values()))}") from None
            except smtplib.SMTPResponseException as exc:  # the server answered: it refused
                self._forget()
                if 400 <= exc.smtp_code < 500:
                    raise TemporaryError(f"SMTP {exc.smtp_code}") from None
                raise PermanentError(f"SMTP {exc.smtp_code}") from None
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                self._forget()
                if connection.data_sent:
                    raise UnknownOutcome(f"sans réponse après l'envoi : {type(exc).__name__}: {exc}") from None
                if not fresh and attempt == 1:
                    continue  # a kept connection the server had closed: the message had not left, again
                raise ConnectionError(f"SMTP interrompu avant l'envoi : {type(exc).__name__}: {exc}") from None
            if refused:
                raise PermanentError("adresse refusée")
            return message_id
        raise ConnectionError("SMTP interrompu avant l'envoi")  # pragma: no cover (the loop returns or raises)
