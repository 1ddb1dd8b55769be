"""The referent's signed link (issue 18): the escalation's message to a person's referent carries a link that does
one thing — acknowledge that alert, as that referent — and nothing else (no thresholds, no vitals, no other alert).

The token signs (alert id, contact id, a digest of the contact's address) with a timestamp under a salt of its own
(Django's signing, keyed by the secret key, the time read from `kernel.clock`), and is valid `VALIDITY` after the
message leaves: a link for alert A does not open alert B, a link sent to a referent since removed or whose number
changed opens nothing. Acknowledging by the link is the desk's acknowledgement — same alert row, same end of the
escalation — with the referent as the actor, in the alert and in the access log."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse

from proactif.accounts.domain import Actor, Role, Section
from proactif.audit import services as audit
from proactif.kernel import clock
from proactif.registry import services as registry
from proactif.watch import domain
from proactif.watch.models import Alert, Contact

SALT = "proactif.watch.referent-ack"
VALIDITY = timedelta(hours=24)
CONTEXT_KEY = "acquittement_referent"  # « <alert id>.<contact id> » in the referent's message context


class LinkRefused(Exception):
    """The link opens nothing: `status` (400 forged or damaged, 410 expired or no longer valid) and a French text."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class _Signer(signing.TimestampSigner):
    def timestamp(self) -> str:  # the platform's clock (simulations and tests move it), not the system's
        return signing.b62_encode(int(clock.now().timestamp()))


def _digest(address: str) -> str:
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()[:10]


def context_value(alert_id: int, contact_id: int) -> str:
    return f"{alert_id}.{contact_id}"


def token_for(alert_id: int, contact_id: int, address: str) -> str:
    value = f"{signing.b62_encode(alert_id)}.{signing.b62_encode(contact_id)}.{_digest(address)}"
    return _Signer(salt=SALT).sign(value)


def url_for(alert_id: int, contact_id: int, address: str) -> str:
    path = reverse("watch:referent_ack", kwargs={"token": token_for(alert_id, contact_id, address)})
    return f"{str(settings.PUBLIC_URL).rstrip('/')}{path}"


def _address(contact: Contact) -> str:
    channel = domain.contact_channel(contact.telephone, contact.email)
    return channel[1] if channel else ""


def message_views(keys: list[str]) -> dict[str, dict[str, Any]]:
    """Template data `acquittement_veille`: the referent's own link for the alert, signed when the message is
    rendered — that is when it leaves."""
    pairs = {}
    for key in keys:
        alert_id, _, contact_id = str(key).partition(".")
        if alert_id.isdigit() and contact_id.isdigit():
            pairs[key] = (int(alert_id), int(contact_id))
    contacts = {c.pk: c for c in Contact.objects.filter(pk__in=[c for _, c in pairs.values()], role="referent")}
    hours = int(VALIDITY.total_seconds() // 3600)
    return {key: {"lien": url_for(alert_id, contact_id, _address(contacts[contact_id])),
                  "validite": f"{hours} heures"}
            for key, (alert_id, contact_id) in pairs.items() if contact_id in contacts}


@dataclass(frozen=True)
class Grant:
    """What a valid link opens: one alert, for one referent."""

    alert: Alert
    contact: Contact

    @property
    def actor(self) -> Actor:
        return Actor(kind="referent", id=self.contact.pk, label=f"{self.contact.name} (référent, lien signé)"[:254],
                     service=None, role=Role.AGENT, purposes=frozenset({domain.PURPOSE}))


INVALID = "Ce lien n'est pas valide. Vérifiez qu'il a été copié en entier, ou appelez la mairie."
EXPIRED = ("Ce lien a expiré : il était valable 24 heures. Si la personne a besoin d'aide, appelez-la ou appelez la "
           "mairie ; en cas d'urgence vitale, appelez le 15.")
GONE = ("Ce lien n'est plus valable. Si la personne a besoin d'aide, appelez-la ou appelez la mairie ; en cas "
        "d'urgence vitale, appelez le 15.")


def check(token: str) -> Grant:
    """The alert and the referent a token was signed for, or LinkRefused."""
    signer = _Signer(salt=SALT)
    try:
        value, stamp = signing.Signer.unsign(signer, token[:300]).rsplit(signer.sep, 1)
        alert_part, contact_part, digest = value.split(".")
        alert_id, contact_id = signing.b62_decode(alert_part), signing.b62_decode(contact_part)
        signed_at = signing.b62_decode(stamp)
    except (signing.BadSignature, ValueError):
        raise LinkRefused(400, INVALID) from None
    if clock.now().timestamp() - signed_at > VALIDITY.total_seconds():
        raise LinkRefused(410, EXPIRED)
    alert = Alert.objects.filter(pk=alert_id).first() if 0 < alert_id < 2**63 else None
    contact = Contact.objects.filter(pk=contact_id, role="referent").select_related("registration").first() \
        if 0 < contact_id < 2**63 else None
    if alert is None or contact is None or contact.registration.person_id != alert.person_id \
            or contact.registration.status != "inscrite" or _digest(_address(contact)) != digest:
        raise LinkRefused(410, GONE)  # the alert erased, the referent removed or their number changed since
    return Grant(alert, contact)


def page(grant: Grant, log: bool = True) -> dict[str, Any]:
    """Only what the referent needs: the person's first name and initial, the finding, the alert's state; the read
    is written in the access log with the referent as the actor."""
    resident = registry.residents([grant.alert.person_id]).get(grant.alert.person_id)
    name = domain.first_name_initial(resident.prenoms, resident.nom) if resident else "la personne"
    if log:
        audit.record(grant.actor, "view", purpose=domain.PURPOSE, person_ids=[grant.alert.person_id],
                     sections=[Section.VEILLE.value], detail={"alerte": grant.alert.pk, "lien_referent": True})
    alert = grant.alert
    return {"name": name, "finding": alert.message, "status": alert.status, "found_at": alert.found_at,
            "acknowledged_at": alert.acknowledged_at, "by_me": alert.acknowledged_by == grant.actor.label,
            "collectivite_phone": settings.COLLECTIVITE_PHONE}
