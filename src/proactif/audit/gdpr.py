"""GDPR rights and retention, across capabilities.

Each capability that holds personal data registers a `PersonalDataProvider` (in its AppConfig.ready):
what it exports for art. 15, what it erases, anonymises or must retain for art. 17, and its
retention purge. This module runs them all, so a new capability joins the rights workflow by
registering, and the audit layer never imports the capabilities above it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from proactif.accounts.domain import Actor
from proactif.audit import services as audit
from proactif.kernel import clock
from proactif.kernel.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class ErasureItem:
    category: str
    action: str  # erase | anonymise | retain
    reason: str
    count: int = 1


@dataclass(frozen=True)
class PersonalDataProvider:
    name: str
    export: Callable[[int], dict[str, Any]]
    plan_erasure: Callable[[int], list[ErasureItem]]
    erase: Callable[[int], dict[str, int]]
    purge: Callable[[], dict[str, int]] = field(default=dict)
    # Delete every row about residents (the registry is being replaced: `proactif seed --reset`)
    wipe: Callable[[], int] = field(default=int)


_PROVIDERS: dict[str, PersonalDataProvider] = {}


def register(provider: PersonalDataProvider) -> None:
    _PROVIDERS[provider.name] = provider


def providers() -> list[PersonalDataProvider]:
    return list(_PROVIDERS.values())


def wipe_everyone() -> dict[str, int]:
    """Every capability forgets every resident, before the registry is emptied and refilled."""
    return {provider.name: provider.wipe() for provider in providers()}


def export_person(actor: Actor, person_id: int) -> dict[str, Any]:
    """Everything Proactif holds on a person (art. 15), including who accessed their file."""
    data: dict[str, Any] = {
        "personne_id": person_id,
        "genere_le": clock.now().isoformat(),
        "responsable_de_traitement": _controller(),
    }
    for provider in providers():
        data[provider.name] = provider.export(person_id)
    data["consultations"] = [
        {"date": row["at"].isoformat(), "acteur": row["actor_label"], "service": row["service"],
         "finalite": row["purpose"], "action": row["action"], "sections": row["sections"]}
        for row in audit.person_history(person_id, limit=10_000)
    ]
    audit.record(actor, "export", purpose="rgpd", person_ids=[person_id], detail={"right": "art15"})
    return data


def erasure_plan(person_id: int) -> list[ErasureItem]:
    return [item for provider in providers() for item in provider.plan_erasure(person_id)]


def erase_person(actor: Actor, person_id: int, reason: str) -> dict[str, Any]:
    """Apply the erasure plan in one transaction: all of it or nothing (art. 17)."""
    if not reason.strip():
        raise ValueError("indiquez le motif de la demande d'effacement")
    plan = erasure_plan(person_id)
    done: dict[str, Any] = {}
    with transaction.atomic():
        for provider in providers():
            done[provider.name] = provider.erase(person_id)
        audit.record(actor, "erase", purpose="rgpd", person_ids=[person_id],
                     detail={"right": "art17", "done": done})
    log.info("personal data erased", person_id=person_id, providers=list(done))
    return {"plan": [item.__dict__ for item in plan], "done": done}


def purge(audit_retention_days: int) -> dict[str, Any]:
    """Retention purge: every provider's, then the access log's own."""
    figures: dict[str, Any] = {}
    for provider in providers():
        figures[provider.name] = provider.purge()
    figures["audit"] = {"access_log_rows": audit.purge_older_than(audit_retention_days)}
    return figures


def _controller() -> str:
    from django.conf import settings

    return str(settings.COLLECTIVITE_NAME)
