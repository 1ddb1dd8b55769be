#!/usr/bin/env bash
# Installs everything Proactif needs from the project's own files, idempotently:
#   - a Python >= 3.12 virtual environment in .venv with requirements.lock (Django 6 needs 3.12);
#   - the front-end packages of package-lock.json in node_modules (npm ci);
#   - with --browser: the Debian packages the tests use — chromium for Playwright, grammalecte-cli for the
#     French grammar of the messages (apt-get, once).
# Re-running it only redoes the steps whose lock file changed.
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0
for arg in "$@"; do
  case "$arg" in
    --browser) want_browser=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

find_python() {
  local candidates=("${PROACTIF_PYTHON:-}" python3.12 python3.13)
  local root
  root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
  for dir in "$root"/versions/3.12* "$root"/versions/3.13* /usr/local/bin /usr/bin; do
    [ -d "$dir" ] || continue
    for exe in "$dir"/bin/python3.12 "$dir"/bin/python3.13 "$dir"/python3.12 "$dir"/python3.13; do
      candidates+=("$exe")
    done
  done
  for exe in "${candidates[@]}"; do
    [ -n "$exe" ] || continue
    if "$exe" -c 'import sys; raise SystemExit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
      command -v "$exe" 2>/dev/null || echo "$exe"
      return 0
    fi
  done
  return 1
}

hash_of() { sha256sum "$@" | sha256sum | cut -c1-16; }

# 1. Python environment
if [ ! -x .venv/bin/python ]; then
  py="$(find_python)" || {
    echo "setup.sh: Python 3.12 or newer is required (Django 6). Install it (pyenv install 3.12," \
         "or your distribution's python3.12) or set PROACTIF_PYTHON to its path." >&2
    exit 1
  }
  say "creating .venv with $py"
  "$py" -m venv .venv
fi
lock_hash="$(hash_of requirements.lock pyproject.toml)"
if [ "$(cat .venv/.lock-hash 2>/dev/null)" != "$lock_hash" ]; then
  say "installing Python packages from requirements.lock"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 | grep -v 'is ignored' || true
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.lock 2>&1 \
    | grep -v 'is ignored' || true
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e . 2>&1 \
    | grep -v 'is ignored' || true
  .venv/bin/python -c 'import django, proactif' || { echo "setup.sh: Python install failed" >&2; exit 1; }
  echo "$lock_hash" > .venv/.lock-hash
fi

# 2. Front-end packages (DSFR, HTMX, Leaflet, terra-draw, Chart.js), served locally by WhiteNoise
npm_hash="$(hash_of package.json package-lock.json)"
if [ "$(cat node_modules/.lock-hash 2>/dev/null)" != "$npm_hash" ]; then
  command -v npm >/dev/null || { echo "setup.sh: npm (Node.js) is required for the front-end packages" >&2; exit 1; }
  say "installing front-end packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$npm_hash" > node_modules/.lock-hash
fi

# 3. The Debian packages the tests use: chromium (Playwright never downloads its own browser here) and
#    grammalecte-cli (the grammar test of every message a resident receives)
if [ "$want_browser" = 1 ]; then
  missing=""
  command -v chromium >/dev/null || missing="$missing chromium"
  command -v grammalecte-cli >/dev/null || missing="$missing grammalecte-cli"
  if [ -n "$missing" ]; then
    say "installing Debian packages for the tests:$missing"
    sudo_cmd=""
    [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq >&2
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq $missing >&2
  fi
fi
say "ready"
