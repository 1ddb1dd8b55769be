"""Run several `proactif` command lines in one process, each as the command would run alone: its own exit code,
and what it wrote on the file descriptors 1 and 2 (logging handlers and tracebacks included), with the rows of
every table counted before and after it. Imports are paid once instead of once per command.

    python -m tests.cli.run_many COMMANDS.json DATABASE.sqlite3  →  one JSON list on the real stdout
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any


def row_counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as db:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def run_one(args: list[str]) -> dict[str, Any]:
    from proactif.cli import main

    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        sys.stdout.flush(), sys.stderr.flush()
        os.dup2(out.fileno(), 1), os.dup2(err.fileno(), 2)
        try:
            main.main(args, prog_name="proactif", standalone_mode=True)
            code: Any = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:  # what an uncaught exception prints when the command runs alone
            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush(), sys.stderr.flush()
            os.dup2(saved[0], 1), os.dup2(saved[1], 2)
            os.close(saved[0]), os.close(saved[1])
        out.seek(0), err.seek(0)
        return {"args": args, "code": code, "stdout": out.read(), "stderr": err.read()}


def main() -> None:
    commands, database = json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2])
    results = []
    for args in commands:
        before = row_counts(database)
        result = run_one(args)
        result["rows_changed"] = {t: (n, after) for t, after in row_counts(database).items()
                                  if (n := before.get(t)) != after}
        results.append(result)
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
