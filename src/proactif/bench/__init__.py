"""Benchmarks: `proactif bench NAME --json` (implemented in the modules of this package)."""

from __future__ import annotations

from typing import Any


def run_benchmark(name: str, **options: Any) -> dict[str, Any]:
    raise LookupError(f"benchmark inconnu : {name}")
