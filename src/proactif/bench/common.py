"""What every benchmark needs: a fresh database, a child process measured from outside, the machine."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from proactif.kernel.config import env_str


def machine() -> dict[str, Any]:
    return {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1), "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}"}


def postgres_server() -> str:
    return env_str("PROACTIF_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432",
                   "PostgreSQL server (without database name) where benchmarks create their databases.")


@dataclass
class Database:
    url: str
    home: Path
    label: str


def bench_home() -> Path:
    return Path(env_str("PROACTIF_BENCH_HOME", str(Path(tempfile.gettempdir()) / "proactif-bench"),
                        "Directory for benchmark databases and homes."))


def fresh_database(kind: str, name: str, keep: bool = False) -> Database:
    """An empty database for a benchmark: a SQLite file, or a PostgreSQL database (re)created."""
    home = bench_home() / name
    home.mkdir(parents=True, exist_ok=True)
    if kind == "sqlite":
        path = home / "bench.sqlite3"
        if not keep:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return Database(f"sqlite:///{path}", home, "sqlite")
    import psycopg

    server = postgres_server().rstrip("/")
    database = f"proactif_bench_{name}".replace("-", "_")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if exists and not keep:
            conn.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
        if not exists or not keep:
            conn.execute(f'CREATE DATABASE "{database}"')
    return Database(f"{server}/{database}", home, "postgresql")


def generator_version() -> str:
    """A digest of the synthetic commune generator's code: another version generates another commune."""
    import hashlib

    import proactif.synth

    digest = hashlib.sha256()
    for path in sorted(Path(proactif.synth.__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def seeded_database(kind: str, name: str, residents: int, seed: int = 1) -> Database:
    """The benchmark database `name` holding a commune of `residents` synthetic residents: kept between
    runs, seeded again when its size differs or when another version of the generator seeded it."""
    db = fresh_database(kind, name, keep=True)
    marker = db.home / "seeded-by"
    seeded_by = f"{generator_version()} seed {seed}"
    kept = run_measured(["bench-probe", "count"], db).output
    if kept["residents"] != residents or not marker.is_file() or marker.read_text() != seeded_by:
        run_measured(["seed", "--residents", str(residents), "--seed", str(seed), "--reset"], db)
        marker.write_text(seeded_by)
    return db


@dataclass
class Measured:
    seconds: float
    peak_rss_mb: float  # the whole process tree
    output: dict[str, Any]
    peak_process_rss_mb: float = 0.0  # the largest single process (a worker)


def run_measured(args: list[str], db: Database, sample_every: float = 0.2) -> Measured:
    """Run `proactif ARGS --json` in a child process on `db`, sampling the RSS of its whole process tree."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROACTIF_HOME", "DATABASE_URL"))}
    env.update(DATABASE_URL=db.url, PROACTIF_HOME=str(db.home), PROACTIF_LOG_LEVEL="WARNING")
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "proactif.cli", *args, "--json"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = largest = 0
    root = psutil.Process(process.pid)
    while process.poll() is None:
        try:
            sizes = [p.memory_info().rss for p in [root, *root.children(recursive=True)] if p.is_running()]
            peak, largest = max(peak, sum(sizes)), max(largest, *sizes)
        except (psutil.Error, ValueError):
            pass
        time.sleep(sample_every)
    stdout, stderr = process.communicate()
    elapsed = time.monotonic() - started
    if process.returncode != 0:
        raise RuntimeError(f"proactif {' '.join(args)} failed ({process.returncode}):\n{stderr[-3000:]}")
    return Measured(elapsed, round(peak / 2**20, 1), json.loads(stdout.strip().splitlines()[-1]),
                    round(largest / 2**20, 1))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, seconds: float = 30) -> None:
    import socket

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the sinks did not open port {port}")
