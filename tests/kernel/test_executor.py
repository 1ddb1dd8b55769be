import threading

import pytest

from proactif.kernel import executor

RAN: list[str] = []
LOCK = threading.Lock()


@executor.task(queue="bulk", name="tests.record_bulk")
def record_bulk(label: str) -> str:
    with LOCK:
        RAN.append(label)
    return label


@executor.task(queue="urgent", name="tests.record_urgent")
def record_urgent(label: str) -> str:
    with LOCK:
        RAN.append(label)
    return label


def test_unknown_lane_is_refused() -> None:
    with pytest.raises(ValueError, match="lane"):
        executor.task(queue="whenever")


def test_inline_backend_runs_now() -> None:
    RAN.clear()
    executor.set_backend(executor.InlineBackend())
    try:
        executor.enqueue("tests.record_bulk", "a")
    finally:
        executor.set_backend(None)
    assert RAN == ["a"]


def test_embedded_backend_takes_urgent_work_first() -> None:
    RAN.clear()
    gate = threading.Event()

    @executor.task(queue="batch", name="tests.block")
    def block() -> None:
        gate.wait(5)

    backend = executor.EmbeddedBackend(threads=1)
    backend.submit(executor.get_task("tests.block"), (), {})
    for i in range(5):
        backend.submit(executor.get_task("tests.record_bulk"), (f"bulk{i}",), {})
    backend.submit(executor.get_task("tests.record_urgent"), ("urgent",), {})
    gate.set()
    assert backend.wait_idle(10)
    assert RAN[0] == "urgent"
    assert sorted(RAN[1:]) == [f"bulk{i}" for i in range(5)]


def test_a_failing_task_does_not_stop_the_embedded_executor() -> None:
    RAN.clear()

    @executor.task(queue="batch", name="tests.fail")
    def fail() -> None:
        raise RuntimeError("boom")

    backend = executor.EmbeddedBackend(threads=1)
    backend.submit(executor.get_task("tests.fail"), (), {})
    backend.submit(executor.get_task("tests.record_bulk"), ("after",), {})
    assert backend.wait_idle(10)
    assert RAN == ["after"]
