import ast
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from proactif.kernel import clock

SRC = Path(__file__).resolve().parents[2] / "src" / "proactif"


def test_fixed_clock_drives_now_and_today() -> None:
    outer = clock.FixedClock(datetime(2020, 1, 1, tzinfo=UTC))
    fixed = clock.FixedClock(datetime(2026, 3, 29, 0, 30, tzinfo=UTC))
    with clock.use(outer):
        with clock.use(fixed):
            assert clock.now() == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
            assert clock.today() == date(2026, 3, 29)  # 02:30 in Paris (summer time starts that night)
            fixed.advance(timedelta(hours=22))
            assert clock.today() == date(2026, 3, 30)
        assert clock.now() == outer.now()  # the previous clock is back


def test_fixed_clock_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="aware"):
        clock.FixedClock(datetime(2026, 1, 1))


def test_system_clock_adds_the_persisted_offset() -> None:
    system = clock.SystemClock(lambda: timedelta(days=30), cache_seconds=0)
    assert timedelta(days=29, hours=23) < system.now() - clock.real_now() <= timedelta(days=30, seconds=1)


def test_local_datetime_is_in_paris() -> None:
    moment = clock.local_datetime(date(2026, 7, 14), 9)
    assert moment.utcoffset() == timedelta(hours=2)


FORBIDDEN = {("datetime", "now"), ("datetime", "utcnow"), ("date", "today"), ("time", "time"),
             ("datetime", "today")}


def test_nothing_reads_the_system_time_but_the_clock() -> None:
    """`kernel.clock` is the only reader of the wall clock (time.monotonic for durations is fine)."""
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.name == "clock.py" and path.parent.name == "kernel":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and isinstance(node.func.value, ast.Name) \
                    and (node.func.value.id, node.func.attr) in FORBIDDEN:
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert offenders == []
