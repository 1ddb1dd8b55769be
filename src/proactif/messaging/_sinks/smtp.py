"""The built-in SMTP sink: a small SMTP server (RFC 5321's core: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP,
VRFY, QUIT, with pipelining) on its own asyncio loop, and a light MIME reader that takes the subject, the
idempotency key and the text part of what it receives.

A sink must keep up with the platform's sending rate; a general-purpose SMTP framework and the `email`
package's parser cost milliseconds a message, this a small fraction of that.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import threading
from collections.abc import Callable
from email.header import decode_header, make_header

from proactif.kernel.logging import get_logger

log = get_logger(__name__)

MAX_SIZE = 10 * 2**20
Deliver = Callable[[list[str], bytes], None]  # recipients, message as received


# --- reading a message --------------------------------------------------------------------------
def _headers(block: bytes) -> dict[str, str]:
    """Header name (lower case) → value, continuation lines unfolded; the first occurrence wins."""
    out: dict[str, str] = {}
    name = ""
    for raw in block.decode("utf-8", "replace").split("\r\n" if b"\r\n" in block else "\n"):
        if raw[:1] in (" ", "\t"):
            if name:
                out[name] += " " + raw.strip()
        elif ":" in raw:
            key, value = raw.split(":", 1)
            name = key.strip().lower()
            if name in out:
                name = ""  # a repeated header: the first one stands, this one and its continuations are skipped
            else:
                out[name] = value.strip()
        else:
            name = ""
    return out


def _split(raw: bytes) -> tuple[dict[str, str], bytes]:
    for separator in (b"\r\n\r\n", b"\n\n"):
        if separator in raw:
            head, _, body = raw.partition(separator)
            return _headers(head), body
    return _headers(raw), b""


def _param(value: str, name: str) -> str:
    match = re.search(rf'{name}\s*=\s*(?:"([^"]*)"|([^;\s]+))', value, re.IGNORECASE)
    return (match.group(1) or match.group(2)) if match else ""


def _decode(headers: dict[str, str], body: bytes) -> str:
    encoding = headers.get("content-transfer-encoding", "7bit").lower()
    if encoding == "quoted-printable":
        body = binascii.a2b_qp(body)
    elif encoding == "base64":
        body = base64.b64decode(body)
    charset = _param(headers.get("content-type", ""), "charset") or "utf-8"
    try:
        return body.decode(charset, "replace")
    except LookupError:
        return body.decode("utf-8", "replace")


def plain_text(headers: dict[str, str], body: bytes) -> str:
    """The first text/plain part that is not an attached file (multipart walked to any depth)."""
    content_type = headers.get("content-type", "text/plain")
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind.startswith("multipart/"):
        boundary = _param(content_type, "boundary").encode()
        if not boundary:
            return ""
        for part in body.split(b"--" + boundary)[1:]:
            if part.startswith(b"--"):
                break
            part_headers, part_body = _split(part.lstrip(b"\r\n"))
            text = plain_text(part_headers, part_body.rstrip(b"\r\n"))
            if text:
                return text
        return ""
    if kind != "text/plain" or "attachment" in headers.get("content-disposition", "").lower():
        return ""
    return _decode(headers, body).replace("\r\n", "\n").strip()


def read(raw: bytes) -> tuple[str, str, str]:
    """(idempotency key, subject, text) of a received message."""
    headers, body = _split(raw)
    subject = headers.get("subject", "")
    if "=?" in subject:
        subject = str(make_header(decode_header(subject)))
    key = headers.get("x-proactif-key") or headers.get("message-id") or ""
    if "=?" in key:
        key = str(make_header(decode_header(key)))
    return key, subject, plain_text(headers, body)


# --- bounces and complaints the sink plays -------------------------------------------------------
# A recipient whose local part starts with one of these (on any domain) gets the message, then the sink returns
# the report a real mail server would: the demo's and the tests' way to see a bounce or a complaint end to end.
FEEDBACK_PREFIXES = (("rebond-dur", "hard"), ("rebond-temp", "soft"), ("plainte", "complaint"))


def feedback_kind(recipient: str) -> str | None:
    local = recipient.rsplit("@", 1)[0].lower()
    return next((kind for prefix, kind in FEEDBACK_PREFIXES if local.startswith(prefix)), None)


def report_for(recipient: str, key: str, subject: str, message_id: str = "") -> bytes | None:
    """The DSN (RFC 3464) or ARF report (RFC 5965) the sink returns for a message to `recipient`, or None."""
    kind = feedback_kind(recipient)
    fields = recipient + key + subject + message_id
    if kind is None or "\n" in fields or "\r" in fields:
        return None
    boundary = "=_proactif_report"
    returned = (f"Message-ID: {message_id}\r\n" if message_id else "") + (
        f"X-Proactif-Key: {key}\r\nTo: {recipient}\r\nSubject: {subject}\r\n")
    if kind == "complaint":
        head = ['Content-Type: multipart/report; report-type=feedback-report; boundary="' + boundary + '"',
                "Subject: FW: " + subject, "", f"--{boundary}", "Content-Type: text/plain; charset=utf-8", "",
                "Ceci est un signalement de courriel indésirable (format ARF).", "", f"--{boundary}",
                "Content-Type: message/feedback-report", "", "Feedback-Type: abuse", "User-Agent: proactif-sink/1",
                "Version: 1", f"Original-Rcpt-To: {recipient}", "", f"--{boundary}",
                "Content-Type: text/rfc822-headers", "", returned, f"--{boundary}--", ""]
    else:
        status, action, code = ("5.1.1", "failed", "550 5.1.1 user unknown") if kind == "hard" else (
            "4.2.2", "delayed", "452 4.2.2 mailbox full")
        head = ['Content-Type: multipart/report; report-type=delivery-status; boundary="' + boundary + '"',
                "Subject: Delivery Status Notification", "", f"--{boundary}", "Content-Type: text/plain; charset=utf-8",
                "", f"Le message pour {recipient} n'a pas été distribué.", "", f"--{boundary}",
                "Content-Type: message/delivery-status", "", "Reporting-MTA: dns; proactif-sink", "",
                f"Final-Recipient: rfc822; {recipient}", f"Action: {action}", f"Status: {status}",
                f"Diagnostic-Code: smtp; {code}", "", f"--{boundary}", "Content-Type: text/rfc822-headers", "",
                returned, f"--{boundary}--", ""]
    return ("From: MAILER-DAEMON@proactif-sink\r\nMIME-Version: 1.0\r\n" + "\r\n".join(head)).encode("utf-8")


# --- the server ---------------------------------------------------------------------------------
class _Session(asyncio.Protocol):
    def __init__(self, deliver: Deliver, delay: Callable[[], float] = lambda: 0.0):
        self.deliver = deliver
        self.delay = delay  # seconds to hold the answer to a message just kept (0: none)
        self.held: list[str] | None = None  # replies waiting for a held answer to go first
        self.buffer = b""
        self.in_data = False  # between DATA's 354 and the final "."
        self.too_large = False  # the message went past MAX_SIZE: read to its end, keep nothing, refuse it
        self.sender: str | None = None
        self.recipients: list[str] = []
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(b"220 proactif-sink ESMTP ready\r\n")  # type: ignore[attr-defined]

    def data_received(self, chunk: bytes) -> None:
        self.buffer += chunk
        replies: list[str] = []
        hold = 0.0
        while True:
            if self.in_data:
                if not self.too_large and self.buffer.startswith(b".\r\n"):  # an empty message
                    content, rest = b"", self.buffer[3:]
                else:
                    end = self.buffer.find(b"\r\n.\r\n")
                    if end < 0:
                        if len(self.buffer) > MAX_SIZE:
                            self.too_large, self.buffer = True, self.buffer[-4:]  # enough to see the end arrive
                        break
                    content, rest = self.buffer[:end + 2], self.buffer[end + 5:]
                    self.too_large = self.too_large or end > MAX_SIZE
                self.buffer, self.in_data = rest, False
                replies.append(self._message(content))
                if replies[-1].startswith("250"):
                    hold = max(hold, self.delay())
                continue
            line_end = self.buffer.find(b"\r\n")
            if line_end < 0:
                if len(self.buffer) > 4096:
                    replies.append("500 Line too long")
                    self.buffer = b""
                break
            line = self.buffer[:line_end].decode("utf-8", "replace")
            self.buffer = self.buffer[line_end + 2:]
            reply = self._command(line)
            replies.append(reply)
            if reply.startswith("221"):
                break
        if self.held is not None:  # an earlier answer is held: these follow it
            self.held += replies
        elif hold:  # the message is kept; its answer comes late (a client timing out does not know)
            self.held = replies
            asyncio.get_running_loop().call_later(hold, self._release)
        else:
            self._write(replies)

    def _release(self) -> None:
        replies, self.held = self.held or [], None
        self._write(replies)

    def _write(self, replies: list[str]) -> None:
        if replies and self.transport is not None and not self.transport.is_closing():
            self.transport.write(("\r\n".join(replies) + "\r\n").encode())
            if replies[-1].startswith("221"):
                self.transport.close()

    def _message(self, content: bytes) -> str:
        """The end of DATA: the message (dot-stuffing undone) handed over, and the reply."""
        recipients, too_large = self.recipients, self.too_large
        self.sender, self.recipients, self.too_large = None, [], False
        if too_large:
            return f"552 Message exceeds the maximum size ({MAX_SIZE} bytes)"
        message = b"\r\n".join(line[1:] if line.startswith(b".") else line for line in content.split(b"\r\n"))
        try:
            self.deliver(recipients, message)
        except Exception:
            log.exception("smtp sink could not keep a message")
            return "451 Requested action aborted: local error"
        return "250 Message accepted for delivery"

    def _command(self, line: str) -> str:
        verb, _, argument = line.partition(" ")
        verb = verb.upper()
        if verb == "EHLO":
            self.sender, self.recipients = None, []
            return f"250-proactif-sink\r\n250-SIZE {MAX_SIZE}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 PIPELINING"
        if verb == "HELO":
            self.sender, self.recipients = None, []
            return "250 proactif-sink"
        if verb == "MAIL":
            if not argument.upper().startswith("FROM:"):
                return "501 Syntax: MAIL FROM:<address>"
            self.sender, self.recipients = _address(argument[5:]), []
            return "250 OK"
        if verb == "RCPT":
            if self.sender is None:
                return "503 Error: need MAIL command"
            if not argument.upper().startswith("TO:") or not _address(argument[3:]):
                return "501 Syntax: RCPT TO:<address>"
            self.recipients.append(_address(argument[3:]))
            return "250 OK"
        if verb == "DATA":
            if not self.recipients:
                return "503 Error: need RCPT command"
            self.in_data = True
            return "354 End data with <CR><LF>.<CR><LF>"
        if verb == "RSET":
            self.sender, self.recipients = None, []
            return "250 OK"
        if verb == "NOOP":
            return "250 OK"
        if verb == "VRFY":
            return "252 Cannot VRFY user, but will accept message"
        if verb == "QUIT":
            return "221 Bye"
        return f"502 Command not implemented: {verb[:20]}"


def _address(argument: str) -> str:
    """The address of `<a@b> SIZE=…` (or a bare address)."""
    argument = argument.strip()
    if argument.startswith("<"):
        return argument[1:argument.find(">")] if ">" in argument else ""
    return argument.split(" ", 1)[0]


class SmtpSink:
    """The server on its own thread and event loop (`start`, `stop`)."""

    def __init__(self, deliver: Deliver, host: str, port: int):
        self.deliver, self.host, self.port = deliver, host, port
        self._delay = (0.0, 0)  # hold the answer `seconds` after each of the next `count` messages
        self._delay_lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="proactif-sink-smtp", daemon=True)

    def delay_answers(self, seconds: float, count: int = 1) -> None:
        """Keep each of the next `count` messages, then answer it `seconds` later (tests: a relay that accepted
        a message but whose answer comes too late, or never, for the client)."""
        with self._delay_lock:
            self._delay = (seconds, count)

    def _next_delay(self) -> float:
        with self._delay_lock:
            seconds, count = self._delay
            if count <= 0:
                return 0.0
            self._delay = (seconds, count - 1)
            return seconds

    def start(self) -> None:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            self._loop.create_server(lambda: _Session(self.deliver, self._next_delay), self.host, self.port,
                                     reuse_address=True),
            self._loop)
        self._server = future.result(10)

    def stop(self) -> None:
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
