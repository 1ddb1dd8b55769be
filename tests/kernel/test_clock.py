import ast
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

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
    assert clock.local_tz() == ZoneInfo(clock.DEFAULT_TIME_ZONE) == ZoneInfo("Europe/Paris")


def test_local_time_follows_the_configured_time_zone() -> None:
    previous = clock.local_tz()
    fixed = clock.FixedClock(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))  # 03:00 in Paris, 23:00 the day before in Cayenne
    try:
        with clock.use(fixed):
            assert clock.configure_time_zone("America/Cayenne") == ZoneInfo("America/Cayenne") == clock.local_tz()
            assert clock.today() == date(2026, 11, 30)
            assert clock.local_now() == fixed.now() and clock.local_now().utcoffset() == timedelta(hours=-3)
            assert (clock.local_now().hour, clock.local_datetime(date(2026, 12, 1), 9).hour) == (23, 9)
            assert clock.local_datetime(date(2026, 12, 1), 9) == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
            clock.configure_time_zone(ZoneInfo("Indian/Reunion"))  # UTC+4
            assert clock.today() == date(2026, 12, 1) and clock.local_now().hour == 6
    finally:
        clock.configure_time_zone(previous)
    assert clock.local_tz() == ZoneInfo("Europe/Paris")


@pytest.mark.parametrize("name", ["Europe/Pariss", "Europe", "", "../etc/passwd"])
def test_an_unknown_time_zone_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        clock.configure_time_zone(name)
    assert clock.local_tz() == ZoneInfo("Europe/Paris")


def test_the_settings_refuse_an_unknown_time_zone_naming_the_variable() -> None:
    env = {**os.environ, "PROACTIF_TIME_ZONE": "Europe/Belleroche"}
    done = subprocess.run([sys.executable, "-c", "import proactif.settings"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0
    assert "ValueError: PROACTIF_TIME_ZONE: unknown time zone 'Europe/Belleroche'" in done.stderr


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
