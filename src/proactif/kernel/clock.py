"""The one place Proactif reads the time.

Every module asks `clock.now()` (aware, UTC) or `clock.today()` (the local date in the collectivité's
time zone, `local_tz()`: Europe/Paris unless PROACTIF_TIME_ZONE says otherwise), never `datetime.now()`.
The clock is injectable: tests install a `FixedClock` and move it, and `proactif simulate` shifts the system
clock by a persisted offset so that the web server, the scheduler and every worker see the same simulated date.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIME_ZONE = "Europe/Paris"
_local_tz = ZoneInfo(DEFAULT_TIME_ZONE)


def time_zone(name: str) -> ZoneInfo:
    """The IANA zone called `name` ("Europe/Paris", "America/Cayenne"…); ValueError if there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a folder such as "Europe"
        raise ValueError(f"unknown time zone {name!r} (expected an IANA name such as Europe/Paris)") from exc


def configure_time_zone(zone: str | ZoneInfo) -> ZoneInfo:
    """Set the collectivité's time zone for the whole process (at start-up, from PROACTIF_TIME_ZONE)."""
    global _local_tz
    _local_tz = zone if isinstance(zone, ZoneInfo) else time_zone(zone)
    return _local_tz


def local_tz() -> ZoneInfo:
    """The collectivité's time zone: local dates, quiet hours, opening hours, reminders at 09:00…"""
    return _local_tz


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time plus an offset read from storage (cached for `cache_seconds`)."""

    def __init__(self, offset_provider: Callable[[], timedelta] | None = None, cache_seconds: float = 1.0):
        self._offset_provider = offset_provider
        self._cache_seconds = cache_seconds
        self._cached: tuple[float, timedelta] | None = None

    def offset(self) -> timedelta:
        if self._offset_provider is None:
            return timedelta(0)
        tick = time.monotonic()
        if self._cached is None or tick - self._cached[0] > self._cache_seconds:
            self._cached = (tick, self._offset_provider())
        return self._cached[1]

    def forget(self) -> None:
        self._cached = None

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset()


class FixedClock:
    """A clock that only moves when told to (tests, simulations)."""

    def __init__(self, at: datetime):
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._at += delta


_system = SystemClock()
_current: Clock = _system


def install_offset_provider(provider: Callable[[], timedelta]) -> None:
    """Called once at start-up so that the system clock honours a simulated offset."""
    global _system, _current
    replace_current = _current is _system
    _system = SystemClock(provider)
    if replace_current:
        _current = _system


def system_clock() -> SystemClock:
    return _system


def is_running() -> bool:
    """Whether time passes by itself (the system clock, simulated offset or not) — not a fixed test clock."""
    return isinstance(_current, SystemClock)


def set_clock(clock: Clock | None) -> None:
    """Install `clock` for the whole process (None restores the system clock)."""
    global _current
    _current = clock if clock is not None else _system


@contextmanager
def use(clock: Clock) -> Iterator[Clock]:
    previous = _current
    set_clock(clock)
    try:
        yield clock
    finally:
        set_clock(previous)


def now() -> datetime:
    return _current.now()


def real_now() -> datetime:
    """Wall-clock time ignoring any simulation (to compute offsets and to time-stamp proofs)."""
    return datetime.now(UTC)


def local_now() -> datetime:
    return now().astimezone(_local_tz)


def today() -> date:
    return local_now().date()


def local_datetime(day: date, hour: int = 0, minute: int = 0) -> datetime:
    """An aware datetime at `hour:minute` local time on `day`."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=_local_tz)
