"""E-mail over SMTP (any server; the built-in sink by default). One connection per thread, reused."""

from __future__ import annotations

import hashlib
import html
import smtplib
import socket
import threading
import time
from email.message import EmailMessage
from email.utils import formatdate

from proactif.messaging.channels.base import ChannelClient, Outgoing, PermanentError, TemporaryError


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
        email.set_content(message.body)
        paragraphs = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in message.body.split("\n\n"))
        email.add_alternative(f"<!doctype html><html lang=\"fr\"><body style=\"font-family:Arial,sans-serif;"
                              f"font-size:16px;line-height:1.5;color:#161616\">{paragraphs}</body></html>",
                              subtype="html")
        for name, content, mime in message.meta.get("attachments", []):
            maintype, subtype = mime.split("/", 1)
            email.add_attachment(content.encode() if isinstance(content, str) else content, maintype=maintype,
                                 subtype=subtype, filename=name)
        return email

    def _send(self, message: Outgoing) -> str:
        email = self.build(message, self.sender)
        try:
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
