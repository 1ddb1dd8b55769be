"""E-mail over SMTP (any server; the built-in sink by default). One connection per thread, reused."""

from __future__ import annotations

import binascii
import hashlib
import html
import smtplib
import socket
import threading
import time
from email.header import Header
from email.message import EmailMessage
from email.utils import formataddr, formatdate, parseaddr
from functools import lru_cache

from proactif.messaging._channels.base import ChannelClient, Outgoing, PermanentError, TemporaryError


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
                 starttls: bool = False, is_sink: bool = False, timeout: float = 15.0):
        self.host, self.port, self.sender = host, port, sender
        self.user, self.password, self.starttls = user, password, starttls
        self.is_sink = is_sink
        self.timeout = timeout
        self._local = threading.local()

    def _connection(self) -> smtplib.SMTP:
        connection = getattr(self._local, "smtp", None)
        if connection is not None:
            if time.monotonic() - getattr(self._local, "used", 0.0) < 5:
                self._local.used = time.monotonic()
                return connection  # type: ignore[no-any-return]  # used a moment ago: no NOOP round trip
            try:
                if connection.noop()[0] == 250:
                    self._local.used = time.monotonic()
                    return connection  # type: ignore[no-any-return]
            except smtplib.SMTPException:
                pass
        connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if connection.sock is not None:  # commands are small writes: do not wait for the previous ACK (Nagle)
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._local.used = time.monotonic()
        if self.starttls:
            connection.starttls()
        if self.user:
            connection.login(self.user, self.password or "")
        self._local.smtp = connection
        return connection

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
        if message.meta.get("unsubscribe"):
            email["List-Unsubscribe"] = f"<{message.meta['unsubscribe']}>"
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
        if message.meta.get("unsubscribe"):
            lines.append(f"List-Unsubscribe: <{message.meta['unsubscribe']}>")
        boundary = "=_proactif_alternative"  # "=_" never occurs in quoted-printable text: one boundary for all
        lines += ["MIME-Version: 1.0", f'Content-Type: multipart/alternative; boundary="{boundary}"', "",
                  f"--{boundary}", 'Content-Type: text/plain; charset="utf-8"',
                  "Content-Transfer-Encoding: quoted-printable", "", quoted(message.body + "\n"),
                  f"--{boundary}", 'Content-Type: text/html; charset="utf-8"',
                  "Content-Transfer-Encoding: quoted-printable", "", quoted(SmtpClient.html_body(message.body) + "\n"),
                  f"--{boundary}--", ""]
        return message_id, "\r\n".join(lines).encode("ascii")

    def _send(self, message: Outgoing) -> str:
        wire = self.wire(message, self.sender)
        try:
            if wire is not None:
                refused = self._connection().sendmail(_envelope(self.sender), [message.recipient], wire[1])
                if refused:
                    raise PermanentError("adresse refusée")
                return wire[0]
            email = self.build(message, self.sender)
            refused = self._connection().send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentError(f"adresse refusée : {next(iter(exc.recipients.values()))}") from None
        except smtplib.SMTPResponseException as exc:
            self._local.smtp = None
            if 400 <= exc.smtp_code < 500:
                raise TemporaryError(f"SMTP {exc.smtp_code}") from None
            raise PermanentError(f"SMTP {exc.smtp_code}") from None
        except (smtplib.SMTPServerDisconnected, OSError):
            self._local.smtp = None
            raise
        if refused:
            raise PermanentError("adresse refusée")
        return str(email["Message-ID"])
