#!/usr/bin/env bash
# One entry point for a fresh machine: sets up what is missing, then runs the task.
#   bash scripts/dev.sh app     # venv + runtime deps, then the Streamlit app on 127.0.0.1
#   bash scripts/dev.sh test    # venv + dev deps (+ Chromium when root), then every test
#   bash scripts/dev.sh sweep   # venv + runtime deps, then the default sweep on the CLI
# Re-runs are fast: dependencies are reinstalled only when a requirements file changes.
set -euo pipefail
cd "$(dirname "$0")/.."
task="${1:-app}"
shift || true
VENV="${NEARID_VENV:-.venv}"

pick_python() {
  for py in python3.11 python3.12 python3.13 python3; do
    if command -v "$py" >/dev/null 2>&1 &&
       "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$py"; return
    fi
  done
  echo "nearid needs Python 3.11 or newer on the PATH" >&2; exit 1
}

ensure_venv() {
  local reqs="$1" stamp="$VENV/.nearid-$2.stamp" want
  if [ ! -x "$VENV/bin/python" ]; then
    echo "creating the virtual environment in $VENV ..." >&2
    "$(pick_python)" -m venv "$VENV" || {
      echo "could not create a venv: on Debian/Ubuntu run 'apt-get install python3-venv'" >&2
      exit 1; }
  fi
  want="$(cat "$reqs" requirements.txt pyproject.toml | sha256sum | cut -c1-16)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "installing dependencies from $reqs (about 2 minutes the first time) ..." >&2
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -r "$reqs"
    "$VENV/bin/python" -m pip install --quiet --no-deps -e .
    echo "$want" > "$stamp"
  fi
}

ensure_chromium() {
  [ -x /usr/bin/chromium ] && return
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's chromium for the browser test ..." >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "note: /usr/bin/chromium is missing, so the browser test will be skipped" \
         "(install it with: sudo apt-get install chromium)" >&2
  fi
}

case "$task" in
  app)
    ensure_venv requirements.txt app
    exec "$VENV/bin/python" -m streamlit run app.py --server.address 127.0.0.1 \
      --server.headless true "$@" ;;
  test)
    ensure_venv requirements-dev.txt dev
    ensure_chromium
    export OMP_NUM_THREADS=1
    exec "$VENV/bin/python" -m pytest "$@" ;;
  sweep)
    ensure_venv requirements.txt app
    exec "$VENV/bin/python" -m nearid_core sweep "$@" ;;
  *)
    echo "usage: bash scripts/dev.sh app|test|sweep [extra arguments]" >&2; exit 2 ;;
esac
