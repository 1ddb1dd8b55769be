import pytest
from django.db import connection

from proactif.kernel import bulkload
from proactif.kernel.models import DeferredIndex

pytestmark = pytest.mark.django_db
TABLE = "registry_person"


def names() -> set[str]:
    return {name for name, _, _ in bulkload.secondary_indexes([TABLE])}


def test_indexes_are_dropped_for_the_load_and_rebuilt_after_even_on_error() -> None:
    before = names()
    assert len(before) >= 5
    seen: dict[str, object] = {}

    def failing_load() -> None:
        with bulkload.deferred_indexes([TABLE]):
            seen.update(names=names(), saved=DeferredIndex.objects.count())
            raise RuntimeError("the load failed")

    with pytest.raises(RuntimeError):
        failing_load()
    assert seen == {"names": set(), "saved": len(before)}
    assert names() == before
    assert DeferredIndex.objects.count() == 0


def test_indexes_left_dropped_by_a_killed_load_are_rebuilt_by_the_next() -> None:
    before = names()
    crashed_load()  # the process dies after dropping
    assert names() == set()
    assert bulkload.restore_deferred_indexes() == len(before)
    assert names() == before


def crashed_load() -> list[tuple[str, str, str]]:
    """What a bulk load that crashed leaves: its indexes dropped and recorded to be rebuilt. Returns them."""
    from proactif.kernel import clock

    indexes = bulkload.secondary_indexes([TABLE])
    DeferredIndex.objects.bulk_create(DeferredIndex(name=n, table=t, definition=d, dropped_at=clock.now())
                                      for n, t, d in indexes)
    with connection.cursor() as cursor:
        for name, _, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    return indexes


def test_an_index_another_process_rebuilt_meanwhile_is_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers starting together each restore what a crashed load left: the one that comes second finds the
    index built between its look-up and its CREATE, and carries on."""
    before = names()
    indexes = crashed_load()
    real = bulkload.secondary_indexes
    monkeypatch.setattr(bulkload, "secondary_indexes", lambda tables: [])  # looked before the other rebuilt them
    with connection.cursor() as cursor:
        for _, _, definition in indexes:
            cursor.execute(definition)  # the other process
    assert bulkload.restore_deferred_indexes() == len(before)
    monkeypatch.setattr(bulkload, "secondary_indexes", real)
    assert names() == before and DeferredIndex.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_processes_restoring_together_take_turns() -> None:
    """Workers and a scheduler starting at the same moment after a crashed load each restore the indexes: on
    PostgreSQL `CREATE INDEX IF NOT EXISTS` from two sessions at once can still collide, so they take turns."""
    import threading

    from django.db import connections

    before = names()
    crashed_load()
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def restore() -> None:
        try:
            start.wait()
            bulkload.restore_deferred_indexes()
        except BaseException as exc:  # any failure is the test's finding
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=restore) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == [] and names() == before and DeferredIndex.objects.count() == 0
