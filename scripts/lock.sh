#!/usr/bin/env bash
# Regenerate requirements.lock from requirements.in (maintainers only; needs network).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/pip install -q pip-tools 2>&1 | grep -v "is ignored" || true
.venv/bin/pip-compile --quiet --strip-extras --no-header --no-annotate --no-emit-index-url \
  --no-emit-find-links requirements.in -o requirements.lock
