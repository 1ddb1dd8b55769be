"""`proactif bench assist`'s personalisation part at a tiny size: the generated rows, the figures' shape, the kept
database, the disk check. No timing is asserted (the machine is shared)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require, service_up

pytestmark = pytest.mark.slow

PROFILES = 200


def _check(figures: dict[str, Any], kind: str, requests: int, events: int) -> None:
    measured = figures[kind]
    assert measured["size"]["profiles"] == PROFILES
    assert measured["size"]["events"] == 25 * PROFILES
    assert measured["size"]["database_bytes"] > 0
    home = measured["home"]
    assert home["requests"] == requests == home["profiles_recognised"]
    assert 0 < home["pages_ordered_for_the_profile"] <= requests - home["control_group"]
    assert home["default_pages_ordered_for_a_profile"] == 0
    for spread in (home["personalised"], home["reference"]):
        assert 0 < spread["p50_ms"] <= spread["p95_ms"] <= spread["p99_ms"] <= spread["max_ms"]
    assert home["ratio_p95_vs_reference"] > 0
    ingestion = measured["ingestion"]
    for phase in ("consenting", "consenting_searches_with_words", "reference"):
        assert ingestion[phase]["statuses"] == {"204": events // 50}, ingestion[phase]
        assert ingestion[phase]["events_per_s"] > 0
    stored = ingestion["events_stored_during_bench"]
    # consenting visitors' events are kept (a page of several themes gives a row per theme), refused ones are not
    assert stored["events"] >= ingestion["consenting"]["events"] + ingestion["consenting_searches_with_words"]["events"]
    assert stored["profiles_created"] == 0 and 0 < stored["profiles_touched"] <= ingestion["profiles_used"]


def _uplift(figures: dict[str, Any]) -> None:
    uplift = figures["uplift"]
    assert "missing" not in uplift, uplift
    assert uplift["low"] <= uplift["uplift"] <= uplift["high"]
    assert "Newcombe" in uplift["method"]


def test_a_tiny_run_on_sqlite_generates_its_rows_and_keeps_them(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from proactif.bench import personalise

    monkeypatch.setenv("PROACTIF_BENCH_HOME", str(tmp_path))
    first = personalise.run(PROFILES, ("sqlite",), requests=40, events=1000, uplift_visitors=2000)
    generation = first["sqlite"]["generation"]
    assert generation["profiles"] == generation["consent_proofs"] == PROFILES
    assert generation["events"] == 25 * PROFILES and generation["method"] == "executemany"
    assert generation["disk_checked"]["free_gb"] > generation["disk_checked"]["estimated_gb"]
    _check(first, "sqlite", 40, 1000)
    _uplift(first)
    assert first["targets"]["home_p95_ms"] == 50.0 and first["targets"]["events_per_s"] == 2000.0
    # The same size again: nothing generated, the same rows measured (the ingestion's events were removed)
    again = personalise.run(PROFILES, ("sqlite",), requests=10, events=500, uplift_visitors=500)
    kept = again["sqlite"]["generation"]
    assert kept["kept"] is True and kept["marker"] == str(tmp_path / "personalise-sqlite" / "personalise-generated")
    assert kept["when_generated"]["events"] == 25 * PROFILES  # the figures of the run that generated it
    _check(again, "sqlite", 10, 500)


def test_too_little_free_disk_is_refused_before_anything_is_written(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from proactif.bench import personalise

    monkeypatch.setenv("PROACTIF_BENCH_HOME", str(tmp_path))
    monkeypatch.setattr(personalise, "free_disk", lambda kind, db: ("/somewhere", 10**6))
    with pytest.raises(personalise.NotEnoughDisk, match=r"^espace disque insuffisant pour 1000000 profils sur "
                                                        r"sqlite : 5\.9 Go estimés, 0\.0 Go libres \(/somewhere\)$"):
        personalise.run(1_000_000, ("sqlite",))
    assert not (tmp_path / "personalise-sqlite" / "bench.sqlite3").exists()


@pytest.mark.integration
def test_a_tiny_run_on_postgresql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from proactif.bench import personalise

    require(service_up("127.0.0.1", 5432), "PostgreSQL is not running on 127.0.0.1:5432")
    monkeypatch.setenv("PROACTIF_BENCH_HOME", str(tmp_path))
    figures = personalise.run(PROFILES, ("postgres",), requests=20, events=500, uplift_visitors=500)
    assert figures["postgres"]["generation"]["method"] == "COPY"
    _check(figures, "postgres", 20, 500)
