#!/usr/bin/env bash
# The whole test suite, as CI runs it: set-up, services, linters, then the tests on SQLite and on
# PostgreSQL (with the Celery worker on RabbitMQ), the browser tests in Debian's Chromium included.
# Under CI=true a missing service makes the integration tests fail rather than skip.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --browser
if ! scripts/services.sh; then
  if [ "${CI:-}" = "true" ]; then echo "a service the tests need did not start" >&2; exit 1; fi
  echo "warning: a service did not start; the tests that need it will be skipped" >&2
fi

export PATH="$PWD/.venv/bin:$PATH"
export PROACTIF_HOME="${PROACTIF_TEST_HOME:-$PWD/var/test}"
export PROACTIF_LOG_LEVEL=WARNING
mkdir -p "$PROACTIF_HOME"
# Byte-code compiled once, not by every process the tests start (workers, commands, servers): about 0.7 s a start
# where the environment sets PYTHONDONTWRITEBYTECODE.
unset PYTHONDONTWRITEBYTECODE
python -m compileall -q src tests >/dev/null

step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

step "ruff"
ruff check src tests
step "mypy (domain modules)"
mypy
step "import-linter (capability boundaries)"
lint-imports

# Tests that commit (browser, Celery) empty their database when they end: they run in their own session,
# after the tests that share the seeded commune.
workers="${PROACTIF_TEST_WORKERS:-2}"
step "tests on SQLite"
unset DATABASE_URL
pytest -n "$workers" --dist loadfile -m "not e2e and not integration and not reliability" "$@"
step "reliability tests on SQLite (worker processes killed with SIGKILL)"
pytest -m reliability "$@"
step "browser tests (Playwright, Debian's Chromium, axe-core) on SQLite"
pytest -n "$workers" -m e2e "$@"

# On PostgreSQL, the tests that reach the test database: the others (pure functions, commands on their own SQLite
# home) ran above and would only run again unchanged.
step "tests on PostgreSQL"
export DATABASE_URL="${PROACTIF_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/proactif}"
pytest -n "$workers" --dist loadfile -m "not e2e and not integration and not reliability" --database-only "$@"
step "integration and reliability tests on PostgreSQL (Celery workers on RabbitMQ)"
pytest -m "integration or reliability" "$@"
