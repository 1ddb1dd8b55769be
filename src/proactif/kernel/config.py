"""Environment-variable configuration.

Every variable Proactif reads goes through these helpers, which record its name, default and
description; `documented_variables()` lets a test check that the README documents each one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Variable:
    name: str
    default: str | None
    help: str


_REGISTRY: dict[str, Variable] = {}


def _read(name: str, default: str | None, help: str) -> str | None:
    _REGISTRY[name] = Variable(name, default, help)
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_str(name: str, default: str, help: str) -> str:
    value = _read(name, default, help)
    assert value is not None
    return value


def env_opt(name: str, help: str) -> str | None:
    return _read(name, None, help)


def env_int(name: str, default: int, help: str) -> int:
    raw = _read(name, str(default), help)
    try:
        return int(raw or default)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


def env_bool(name: str, default: bool, help: str) -> bool:
    raw = (_read(name, "true" if default else "false", help) or "").strip().lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name} must be true or false, got {raw!r}")


def env_list(name: str, default: str, help: str) -> list[str]:
    raw = _read(name, default, help) or ""
    return [item.strip() for item in raw.split(",") if item.strip()]


def registered_variables() -> list[Variable]:
    return sorted(_REGISTRY.values(), key=lambda v: v.name)


def project_root() -> Path:
    """The checkout holding pyproject.toml (for node_modules and data/), when installed editable."""
    return Path(__file__).resolve().parents[3]


def home_dir() -> Path:
    """Where Proactif keeps its files (SQLite database, secret key, sinks): ./var by default."""
    path = Path(env_str("PROACTIF_HOME", "var", "Directory for local state: SQLite database, secret key, "
                        "generated files. Relative paths are from the working directory.")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def reference_data_dir() -> Path:
    """The reference files the repository carries (data/: quartier polygons, API specifications, samples)."""
    return Path(env_str("PROACTIF_REFERENCE_DATA", str(project_root() / "data"),
                        "Directory of the reference data files (quartier polygons, API specifications, "
                        "samples), read in place; the repository's data/ by default.")).resolve()
