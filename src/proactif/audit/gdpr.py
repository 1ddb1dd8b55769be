"""GDPR rights and retention, across capabilities.

Each capability that holds personal data declares it (`PersonalData` in its `capability.py`): what it
exports for art. 15, what it erases, anonymises or must retain for art. 17, and its retention purge. This
module runs them all, so a new capability joins the rights workflow by declaring, and the audit layer never
imports the capabilities above it.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from proactif.accounts.domain import Actor
from proactif.audit import services as audit
from proactif.kernel import capabilities, clock
from proactif.kernel.capabilities import ErasureItem, PersonalData
from proactif.kernel.logging import get_logger

log = get_logger(__name__)


__all__ = ["ErasureItem", "PersonalData", "erase_person", "erasure_plan", "export_person", "providers", "purge"]


def providers() -> list[PersonalData]:
    return capabilities.personal_data()


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
    audit.record(actor, "export", purpose="rgpd", person_ids=[person_id], detail={"right": "art15"})
    return data


def erasure_plan(person_id: int, seen_by: Actor | None = None) -> list[ErasureItem]:
    """What an erasure would do, capability by capability (counts of a person's data: a logged read when an
    agent sees it)."""
    plan = [item for provider in providers() for item in provider.plan_erasure(person_id)]
    if seen_by is not None:
        audit.record(seen_by, "view", purpose="rgpd", person_ids=[person_id], detail={"right": "erasure_plan"})
    return plan


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


def purge() -> dict[str, Any]:
    """Retention purge: every capability's (the access log's own included)."""
    return {provider.name: provider.purge() for provider in providers()}


# --- the access log's own part: who consulted a person's data ----------------------------------------------
def export_consultations(person_id: int) -> dict[str, Any]:
    return {"consultations": [
        {"date": row["at"].isoformat(), "acteur": row["actor_label"], "service": row["service"],
         "finalite": row["purpose"], "action": row["action"], "sections": row["sections"]}
        for row in audit.person_history(person_id, limit=10_000)]}


def plan_consultations(person_id: int) -> list[ErasureItem]:
    from django.conf import settings

    return [ErasureItem("journal des consultations", "retain",
                        "la trace des accès au dossier est conservée pour contrôler qu'ils étaient légitimes "
                        f"(CNIL, délibération 2021-122), puis supprimée après {settings.AUDIT_RETENTION_DAYS} jours",
                        audit.rows_about(person_id))]


def purge_consultations() -> dict[str, Any]:
    from django.conf import settings

    return {"access_log_rows": audit.purge_older_than(settings.AUDIT_RETENTION_DAYS)}


def _controller() -> str:
    from django.conf import settings

    return str(settings.COLLECTIVITE_NAME)
