"""Several processes starting together on a fresh PostgreSQL database (N workers on N machines):
exactly one migrates, the others wait for it, all start."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from django.db import connection

from tests.conftest import require

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def test_processes_starting_together_migrate_once(tmp_path) -> None:
    require(connection.vendor == "postgresql", "runs on PostgreSQL (DATABASE_URL)")
    import psycopg

    db = connection.settings_dict
    server = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    name = f"proactif_start_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROACTIF_")}
        env.update(DATABASE_URL=f"{server}/{name}", PROACTIF_HOME=str(tmp_path), PROACTIF_SECRET_KEY="x",
                   PROACTIF_LOG_LEVEL="WARNING")
        starts = [subprocess.Popen([sys.executable, "-m", "proactif.cli", "init", "--json"], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
        results = [(p.wait(120), *p.communicate()) for p in starts]
        assert [code for code, _, _ in results] == [0, 0, 0], [err[-500:] for _, _, err in results]
        applied = sorted(int(out.strip().split(":")[1].rstrip("}")) for _, out, _ in results)
        assert applied[0] == applied[1] == 0 and applied[2] > 10  # one migrated, the others found it done
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
