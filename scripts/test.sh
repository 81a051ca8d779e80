#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian/Ubuntu machine (Debian packages with apt, Python
# packages into the project's .venv), then runs the whole suite
# (core, AppTest and real-browser tests). This is the README's test command; .ci/run calls it.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -m "not e2e"`).
set -euo pipefail
cd "$(dirname "$0")/.."

# The browser tests drive Debian's Chromium (Playwright's own browser download is never used) and
# need real fonts, or pages render as empty boxes. As root (CI) apt runs directly; otherwise via sudo
# (scripts/apt.sh, which waits while another apt holds the lock).
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
[ -d /usr/share/fonts/truetype/liberation ] || missing+=(fonts-liberation)
# The store's tests start a real PostgreSQL server from Debian's binaries (tests/store/pg_server.py).
compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || missing+=(postgresql)
if [ "${#missing[@]}" -gt 0 ]; then
  source scripts/apt.sh
  apt_install "${missing[@]}"
fi

# the project's virtual environment (.venv): created on the first run, pins installed when they change
source scripts/venv.sh
ensure_venv requirements-dev.txt
"$PY" -m ruff check .
# import rules (pyproject.toml [tool.importlinter]): layered wings, streamlit only in core.ui, no circles
lint-imports --no-cache

# testpaths in pyproject.toml: every folder under tests/ runs (the wings, app/ and e2e/). Exit code 5 means
# pytest collected nothing (a bad path or -k): never let that read as anything but a failure.
# Two processes by default (WATTSUP_TEST_WORKERS): a test file stays in one process (--dist loadfile),
# so its module fixtures start once; every server a test starts is its process's own.
status=0
"$PY" -m pytest -n "${WATTSUP_TEST_WORKERS:-2}" --dist loadfile "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: refusing to report success" >&2
  exit 1
fi
exit "$status"
