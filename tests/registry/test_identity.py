from datetime import UTC, date, datetime

import numpy as np
import pytest

from proactif.accounts import services as accounts
from proactif.accounts.domain import access_for
from proactif.audit.models import AccessLog
from proactif.registry import _linkage as linkage
from proactif.registry import services
from proactif.registry.models import ChannelPreference, ContactPoint, Document, MergeSuggestion, Person
from proactif.synth import _law as legislation
from proactif.synth import _population as population
from proactif.synth.services import _names


def synthetic_records(duplicate_rate: float) -> tuple[list[linkage.IdentityRecord], set[tuple[int, int]]]:
    """Records of a generated commune, and the true duplicate pairs (twin records from 'another source')."""
    surnames, first_f, first_m = _names()
    ctx = population.Context(seed=11, today=date(2026, 11, 28), now=datetime(2026, 11, 28, tzinfo=UTC),
                             address_ids=np.arange(1, 400), surnames=surnames, first_names_f=first_f,
                             first_names_m=first_m, postgres=False, law=legislation.read(date(2026, 11, 28)),
                             duplicate_rate=duplicate_rate)
    rows = population.generate_chunk(ctx, 0, 3000, 10**9).rows
    contacts: dict[int, set[str]] = {}
    for person_id, _kind, value, *_ in rows["contact"]:
        contacts.setdefault(person_id, set()).add(value)
    records, truth = [], set()
    previous_real = None
    for row in rows["person"]:
        pid = row[0]
        if row[17] == "import_caf":
            truth.add((previous_real, pid))
        else:
            previous_real = pid
        emails = frozenset(c for c in contacts.get(pid, ()) if "@" in c)
        phones = frozenset(c for c in contacts.get(pid, ()) if "@" not in c)
        records.append(linkage.IdentityRecord(pid, row[18], row[19], row[20], row[4], date.fromisoformat(row[5]),
                                              row[6], row[8], emails, phones, None))
    return records, truth


def test_record_linkage_finds_the_duplicates_with_high_precision_and_recall() -> None:
    records, truth = synthetic_records(0.03)
    assert len(truth) > 100
    matches, figures = linkage.find_matches(records, threshold=0.5)
    found = {(m.a, m.b) for m in matches}
    recall = len(found & truth) / len(truth)
    precision = len(found & truth) / len(found)
    assert recall >= 0.9, figures
    assert precision >= 0.9, figures
    assert figures["pairs_compared"] < len(records) * 5  # blocking keeps the comparisons linear


def test_close_dates_and_names_count_as_partial_agreement() -> None:
    a = linkage.IdentityRecord(1, "LEFEVRE", "", "MARIE", "F", date(1980, 3, 4), "75056")
    b = linkage.IdentityRecord(2, "LEFEBVRE", "", "MARIE", "F", date(1980, 4, 3), "75056")
    c = linkage.IdentityRecord(3, "LEFEVRE", "", "PAUL", "M", date(1961, 9, 12), "13055")
    assert linkage.compare(a, b).probability > 0.5
    assert "date de naissance proche (une erreur de saisie)" in linkage.compare(a, b).reasons
    assert linkage.compare(a, c).probability < 0.01


@pytest.mark.django_db
def test_suggestions_are_stored_once_and_rejected_pairs_are_not_proposed_again(agents: dict) -> None:
    figures = services.suggest_duplicates()
    pending = MergeSuggestion.objects.filter(status="pending").count()
    assert pending == figures["suggestions_created"] > 0
    access = access_for(accounts.actor_for_agent(agents["etat_civil"]))
    first = services.pending_suggestions().first()
    services.reject_suggestion(access, first.pk)
    assert services.suggest_duplicates()["suggestions_created"] == 0
    assert MergeSuggestion.objects.filter(status="pending").count() == pending - 1


@pytest.mark.django_db
def test_a_merge_moves_everything_and_is_undone_exactly(agents: dict) -> None:
    access = access_for(accounts.actor_for_agent(agents["etat_civil"]))
    survivor = Person.objects.filter(status="active", documents__isnull=False, nir__isnull=True).first()
    duplicate = Person.objects.filter(status="active", nir__isnull=False, contacts__isnull=False) \
        .exclude(pk=survivor.pk).first()

    def snapshot() -> dict:
        return {
            "survivor": Person.objects.filter(pk=survivor.pk).values().get(),
            "duplicate": Person.objects.filter(pk=duplicate.pk).values().get(),
            "documents": sorted(Document.objects.filter(person__in=[survivor, duplicate])
                                .values_list("id", "person_id")),
            "contacts": sorted(ContactPoint.objects.filter(person__in=[survivor, duplicate])
                               .values_list("id", "person_id")),
            "preferences": sorted(ChannelPreference.objects.filter(person__in=[survivor, duplicate])
                                  .values_list("id", "person_id", "rank")),
        }

    before = snapshot()
    nir = duplicate.nir
    merge = services.merge_persons(access, survivor.pk, duplicate.pk, "même personne, vérifié sur pièce")
    merged = Person.objects.get(pk=duplicate.pk)
    assert merged.status == "merged" and merged.merged_into_id == survivor.pk
    assert Person.objects.get(pk=survivor.pk).nir == nir
    assert not Document.objects.filter(person=duplicate).exists()
    assert AccessLog.objects.filter(action="merge", person_id=duplicate.pk).exists()
    with pytest.raises(services.MergeError):
        services.merge_persons(access, survivor.pk, duplicate.pk, "encore")
    services.unmerge(access, merge.pk)
    after = snapshot()
    for key in ("documents", "contacts", "preferences"):
        assert after[key] == before[key], key
    for who in ("survivor", "duplicate"):
        changed = {k for k in before[who] if before[who][k] != after[who][k]}
        assert changed <= {"updated_at"}, (who, changed)
    with pytest.raises(services.MergeError, match="déjà été annulée"):
        services.unmerge(access, merge.pk)
