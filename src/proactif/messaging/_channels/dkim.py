"""DKIM signatures (RFC 6376): rsa-sha256, relaxed/relaxed canonicalization, over the headers a mailbox provider
needs to trust a message and its one-click unsubscribe (RFC 8058 asks for List-Unsubscribe and
List-Unsubscribe-Post to be signed). Written with `cryptography` rather than a dependency: the algorithm is a page
of the RFC, and the signer works on the bytes as they leave, whichever of `wire` and `build` wrote them.

The key comes from the environment: PROACTIF_DKIM_PRIVATE_KEY (the PEM itself, or the path of a PEM file),
PROACTIF_DKIM_SELECTOR and PROACTIF_DKIM_DOMAIN; the public key is published in DNS at
`<selector>._domainkey.<domain>` as `v=DKIM1; k=rsa; p=<base64 of the DER public key>`."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from proactif.kernel import clock

# What the signature covers, in this order, when present (a header absent from the message is left out of h=)
SIGNED = ("From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post")
_WSP = re.compile(rb"[ \t]+")


class DkimError(ValueError):
    """The DKIM settings cannot sign (key unreadable, not RSA, selector or domain missing)."""


def relaxed_header(name: bytes, value: bytes) -> bytes:
    """RFC 6376 §3.4.2: name in lower case, value unfolded, runs of spaces and tabs made one space, none at either
    end; `name:value` and CRLF."""
    unfolded = value.replace(b"\r\n", b"").replace(b"\n", b"")
    return name.strip().lower() + b":" + _WSP.sub(b" ", unfolded).strip(b" \t") + b"\r\n"


def relaxed_body(body: bytes) -> bytes:
    """RFC 6376 §3.4.4: runs of spaces and tabs made one space, none at a line's end, no empty line at the end; a
    body that is not empty ends with one CRLF."""
    lines = [_WSP.sub(b" ", line).rstrip(b" \t") for line in body.replace(b"\r\n", b"\n").split(b"\n")]
    while lines and not lines[-1]:
        lines.pop()
    return b"".join(line + b"\r\n" for line in lines)


def split(raw: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The message's headers (name, value as written, folding kept) in order, and its body."""
    head, separator, body = raw.partition(b"\r\n\r\n")
    if not separator:
        head, _, body = raw.partition(b"\n\n")
    headers: list[tuple[bytes, bytes]] = []
    for line in re.split(rb"\r?\n", head):
        if line[:1] in (b" ", b"\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + b"\r\n" + line)
        elif b":" in line:
            name, _, value = line.partition(b":")
            headers.append((name, value))
    return headers, body


def selected(headers: list[tuple[bytes, bytes]], names: list[str]) -> list[tuple[bytes, bytes]]:
    """The header instances h= names, each taken from the bottom up (RFC 6376 §5.4.2)."""
    out = []
    used: dict[bytes, int] = {}
    for name in names:
        key = name.strip().lower().encode()
        found = [h for h in headers if h[0].strip().lower() == key]
        count = used.get(key, 0)
        if count < len(found):
            out.append(found[len(found) - 1 - count])
        used[key] = count + 1
    return out


@dataclass(frozen=True)
class Dkim:
    selector: str
    domain: str
    key: rsa.RSAPrivateKey

    def sign(self, raw: bytes, now: float | None = None) -> bytes:
        """The message with its DKIM-Signature header first."""
        headers, body = split(raw)
        present = {name.strip().lower() for name, _ in headers}
        names = [name for name in SIGNED if name.lower().encode() in present]
        body_hash = base64.b64encode(hashlib.sha256(relaxed_body(body)).digest()).decode()
        stamp = int(clock.real_now().timestamp() if now is None else now)  # the signature's real time (t=)
        tags = (f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={self.domain}; s={self.selector}; t={stamp}; "
                f"h={':'.join(name.lower() for name in names)}; bh={body_hash}; b=")
        data = b"".join(relaxed_header(name, value) for name, value in selected(headers, names))
        data += relaxed_header(b"DKIM-Signature", b" " + tags.encode())[:-2]  # without its CRLF (§3.7)
        signature = base64.b64encode(self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())).decode()
        # folded after each tag's semicolon: relaxed canonicalization reads a fold as the space it replaced
        value = (tags + signature).replace("; ", ";\r\n\t")
        return b"DKIM-Signature: " + value.encode() + b"\r\n" + raw

    def dns_record(self) -> str:
        """The TXT record to publish at `<selector>._domainkey.<domain>`."""
        public = self.key.public_key().public_bytes(serialization.Encoding.DER,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo)
        return f"v=DKIM1; k=rsa; p={base64.b64encode(public).decode()}"


def load(private_key: str, selector: str, domain: str) -> Dkim:
    """A signer from the PEM (or the path of a PEM file), the selector and the domain; DkimError says what is
    wrong."""
    text = private_key.strip()
    if "-----BEGIN" not in text:
        path = Path(text).expanduser()
        if not path.is_file():
            raise DkimError(f"PROACTIF_DKIM_PRIVATE_KEY : ni une clé PEM ni un fichier lisible ({path})")
        text = path.read_text(encoding="ascii", errors="replace")
    try:
        key: Any = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise DkimError(f"PROACTIF_DKIM_PRIVATE_KEY : clé illisible ({exc})") from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 1024:
        raise DkimError("PROACTIF_DKIM_PRIVATE_KEY : une clé RSA d'au moins 1024 bits est attendue (2048 conseillé)")
    if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?", selector or ""):
        raise DkimError("PROACTIF_DKIM_SELECTOR manquant ou invalide (lettres, chiffres, « . », « - », « _ »)")
    if not re.fullmatch(r"(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,63}", domain or ""):
        raise DkimError("PROACTIF_DKIM_DOMAIN manquant ou invalide (le domaine de l'adresse d'expédition)")
    return Dkim(selector, domain.lower(), key)


def from_settings() -> Dkim | None:
    """The signer PROACTIF_DKIM_* configure, or None when no key is set."""
    from django.conf import settings

    private_key = getattr(settings, "DKIM_PRIVATE_KEY", None)
    if not private_key:
        return None
    return load(private_key, getattr(settings, "DKIM_SELECTOR", None) or "",
                getattr(settings, "DKIM_DOMAIN", None) or "")
