"""Identity resolution: duplicate suggestions for agents, explicit merges that can be undone."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from proactif.accounts.domain import Access
from proactif.audit import services as audit
from proactif.kernel import clock
from proactif.kernel.logging import get_logger
from proactif.registry import _linkage as linkage
from proactif.registry.models import (
    BenefitReceipt,
    ChannelPreference,
    Consent,
    ContactPoint,
    Document,
    Merge,
    MergeSuggestion,
    OptOut,
    Person,
    PersonAlias,
    Resource,
)

log = get_logger(__name__)

# Identity fields a merge may fill on the survivor when the survivor lacks them.
FILLABLE = ("nom_usage", "usage_cle", "code_insee_naissance", "lieu_naissance", "nir", "household_id",
            "menage_role", "famille_id", "famille_role", "foyer_fiscal_id", "foyer_role", "external_id")
# Rows that follow a person through a merge (model, label).
MOVABLE: tuple[tuple[Any, str], ...] = (
    (Document, "documents"), (Consent, "consents"), (OptOut, "opt_outs"), (Resource, "resources"),
    (BenefitReceipt, "benefits"), (PersonAlias, "aliases"))


class MergeError(ValueError):
    pass


def identity_records() -> list[linkage.IdentityRecord]:
    emails: dict[int, set[str]] = {}
    phones: dict[int, set[str]] = {}
    for person_id, kind, value in ContactPoint.objects.filter(kind__in=("email", "phone")).values_list(
            "person_id", "kind", "value").iterator(20_000):
        (emails if kind == "email" else phones).setdefault(person_id, set()).add(value)
    rows = Person.objects.filter(status__in=("active", "moved_out")).values_list(
        "id", "nom_cle", "usage_cle", "prenoms_cle", "sexe", "date_naissance", "code_insee_naissance", "nir",
        "household__address_id")
    return [linkage.IdentityRecord(pid, nom, usage, prenoms, sexe, born, lieu, nir,
                                   frozenset(emails.get(pid, ())), frozenset(phones.get(pid, ())), address)
            for pid, nom, usage, prenoms, sexe, born, lieu, nir, address in rows.iterator(20_000)]


def suggest_duplicates(threshold: float = 0.5) -> dict[str, int]:
    """Run record linkage and store new suggestions (pairs already decided are not proposed again)."""
    known = set(MergeSuggestion.objects.values_list("person_a_id", "person_b_id"))
    matches, figures = linkage.find_matches(identity_records(), threshold, exclude=known)
    now = clock.now()
    MergeSuggestion.objects.bulk_create(
        [MergeSuggestion(person_a_id=m.a, person_b_id=m.b, score=round(m.probability, 4),
                         reasons=list(m.reasons), created_at=now) for m in matches],
        ignore_conflicts=True)
    figures["suggestions_created"] = len(matches)
    log.info("duplicate suggestions computed", **figures)
    return figures


def pending_suggestions() -> QuerySet[MergeSuggestion]:
    return MergeSuggestion.objects.filter(status="pending").select_related(
        "person_a__household__address__voie", "person_b__household__address__voie").order_by("-score", "id")


def get_suggestion(suggestion_id: int) -> MergeSuggestion:
    return MergeSuggestion.objects.select_related("person_a", "person_b").get(pk=suggestion_id)


def reject_suggestion(access: Access, suggestion_id: int) -> None:
    suggestion = get_suggestion(suggestion_id)
    MergeSuggestion.objects.filter(pk=suggestion_id).update(status="rejected", decided_at=clock.now(),
                                                            decided_by=access.actor.label)
    audit.record(access.actor, "reject_duplicate", purpose=access.purpose,
                 person_ids=[suggestion.person_a_id, suggestion.person_b_id], detail={"suggestion": suggestion_id})


def merge(access: Access, survivor_id: int, duplicate_id: int, reason: str,
          suggestion_id: int | None = None) -> Merge:
    if survivor_id == duplicate_id:
        raise MergeError("une fiche ne peut pas être fusionnée avec elle-même")
    if not reason.strip():
        raise MergeError("indiquez le motif de la fusion")
    now = clock.now()
    with transaction.atomic():
        people = {p.pk: p for p in Person.objects.select_for_update().filter(pk__in=[survivor_id, duplicate_id])}
        if len(people) != 2:
            raise MergeError("fiche introuvable")
        survivor, duplicate = people[survivor_id], people[duplicate_id]
        for person in (survivor, duplicate):
            if person.status in ("merged", "anonymised"):
                raise MergeError(f"la fiche {person.pk} est déjà fusionnée ou anonymisée")
        moved: dict[str, list[int]] = {}
        for model, label in MOVABLE:
            ids = list(model.objects.filter(person_id=duplicate_id).values_list("id", flat=True))
            model.objects.filter(id__in=ids).update(person_id=survivor_id)
            moved[label] = ids
        have = set(ContactPoint.objects.filter(person_id=survivor_id).values_list("kind", "value"))
        contact_ids = [cid for cid, kind, value in ContactPoint.objects.filter(person_id=duplicate_id)
                       .values_list("id", "kind", "value") if (kind, value) not in have]
        ContactPoint.objects.filter(id__in=contact_ids).update(person_id=survivor_id)
        moved["contacts"] = contact_ids
        channels = set(ChannelPreference.objects.filter(person_id=survivor_id).values_list("channel", flat=True))
        rank = len(channels)
        pref_ids = []
        for pref in ChannelPreference.objects.filter(person_id=duplicate_id).order_by("rank"):
            if pref.channel not in channels:
                rank += 1
                pref_ids.append([pref.pk, pref.rank])
                ChannelPreference.objects.filter(pk=pref.pk).update(person_id=survivor_id, rank=rank)
        moved["preferences"] = pref_ids  # [id, rank on the duplicate]
        before = {}
        for name in FILLABLE:
            if not getattr(survivor, name) and getattr(duplicate, name):
                before[name] = getattr(survivor, name)
                value = getattr(duplicate, name)
                if name in ("nir", "external_id"):
                    setattr(duplicate, name, None)  # unique columns move rather than copy
                setattr(survivor, name, value)
        duplicate_status = duplicate.status
        duplicate.status, duplicate.merged_into_id, duplicate.updated_at = "merged", survivor_id, now
        duplicate.save()
        survivor.updated_at = now
        survivor.save()
        record = Merge.objects.create(survivor_id=survivor_id, duplicate_id=duplicate_id, moved=moved,
                                      survivor_before=before, duplicate_status_before=duplicate_status,
                                      reason=reason.strip()[:500], merged_by=access.actor.label, merged_at=now)
        suggestions = MergeSuggestion.objects.filter(pk=suggestion_id) if suggestion_id else \
            MergeSuggestion.objects.filter(person_a_id=min(survivor_id, duplicate_id),
                                           person_b_id=max(survivor_id, duplicate_id))
        suggestions.update(status="merged", decided_at=now, decided_by=access.actor.label)
        audit.record(access.actor, "merge", purpose=access.purpose, person_ids=[survivor_id, duplicate_id],
                     detail={"merge": record.pk})
    return record


def unmerge(access: Access, merge_id: int) -> Merge:
    now = clock.now()
    with transaction.atomic():
        record = Merge.objects.select_for_update().get(pk=merge_id)
        if record.undone_at:
            raise MergeError("cette fusion a déjà été annulée")
        survivor = Person.objects.select_for_update().get(pk=record.survivor_id)
        duplicate = Person.objects.select_for_update().get(pk=record.duplicate_id)
        for model, label in MOVABLE:
            model.objects.filter(id__in=record.moved.get(label, [])).update(person_id=duplicate.pk)
        ContactPoint.objects.filter(id__in=record.moved.get("contacts", [])).update(person_id=duplicate.pk)
        for pref_id, rank in record.moved.get("preferences", []):
            ChannelPreference.objects.filter(pk=pref_id).update(person_id=duplicate.pk, rank=rank)
        for name, value in record.survivor_before.items():
            if name in ("nir", "external_id"):
                setattr(duplicate, name, getattr(survivor, name))
            setattr(survivor, name, value)
        survivor.updated_at = now
        survivor.save()
        duplicate.status, duplicate.merged_into_id, duplicate.updated_at = record.duplicate_status_before, None, now
        duplicate.save()
        Merge.objects.filter(pk=merge_id).update(undone_at=now, undone_by=access.actor.label)
        MergeSuggestion.objects.filter(person_a_id=min(survivor.pk, duplicate.pk),
                                       person_b_id=max(survivor.pk, duplicate.pk)).update(status="pending",
                                                                                         decided_at=None)
        audit.record(access.actor, "unmerge", purpose=access.purpose, person_ids=[survivor.pk, duplicate.pk],
                     detail={"merge": merge_id})
        record.refresh_from_db()
    return record


def merges(limit: int = 100) -> QuerySet[Merge]:
    return Merge.objects.select_related("survivor", "duplicate").order_by("-merged_at")[:limit]
