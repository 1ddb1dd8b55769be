"""The command tests' home: a fresh SQLite database in a temporary folder, none of the test session's settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROACTIF_", "DATABASE_URL", "DJANGO_"))}
    env.update(PROACTIF_HOME=str(tmp_path / "var"), PROACTIF_LOG_LEVEL="WARNING")
    return env
