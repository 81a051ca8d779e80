# Sourced by scripts/run.sh, scripts/test.sh and scripts/stack.sh: the project's own virtual
# environment (.venv, git-ignored), so nothing is installed into the system Python (which Debian
# and Ubuntu refuse anyway, PEP 668) and other projects are never disturbed.
#
#   ensure_venv requirements.txt        # create .venv if missing, install when the pins changed
#   "$PY" -m ...                        # then run with the project's interpreter
#
# WATTSUP_VENV moves the environment; WATTSUP_PYTHON picks the interpreter that creates it
# (default: python3.11, else python3). Pip runs only when a requirements file changed since the
# last successful install (a stamp of their sha256 inside the environment).

ensure_venv() {
  local req="$1"
  VENV="${WATTSUP_VENV:-.venv}"
  local base="${WATTSUP_PYTHON:-}"
  if [ -z "$base" ]; then
    if command -v python3.11 >/dev/null 2>&1; then base=python3.11; else base=python3; fi
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    if ! "$base" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      echo "WattsUp needs Python 3.11; '$base' is $("$base" --version 2>&1)." >&2
      echo "Install python3.11 or set WATTSUP_PYTHON to a Python 3.11 interpreter." >&2
      exit 1
    fi
    echo "creating the project's virtual environment in $VENV (first run only)" >&2
    if ! "$base" -m venv "$VENV" 2>/dev/null; then
      rm -rf "$VENV"
      # Debian/Ubuntu ship venv's pip bootstrap separately
      if command -v apt-get >/dev/null 2>&1; then
        source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
        apt_install python3-venv
      fi
      "$base" -m venv "$VENV"
    fi
  fi
  PY="$VENV/bin/python"
  local files=("$req")
  # a requirements file that includes another (-r requirements.txt) depends on it too
  while read -r inc; do files+=("$(dirname "$req")/$inc"); done \
    < <(sed -n 's/^-r[[:space:]]*//p' "$req")
  local want
  want="$(cat "${files[@]}" | sha256sum | cut -d' ' -f1)"
  local stamp="$VENV/.wattsup-$(basename "$req").sha256"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "installing $req into $VENV (the first time takes several minutes)" >&2
    "$PY" -m pip install -q --disable-pip-version-check -r "$req"
    echo "$want" >"$stamp"
    # what it included is installed too (run.sh after test.sh then needs no pip run)
    local inc
    for inc in "${files[@]:1}"; do
      sha256sum <"$inc" | cut -d' ' -f1 >"$VENV/.wattsup-$(basename "$inc").sha256"
    done
  fi
  # the environment's commands (ruff, lint-imports, dask, hadolint) come first on PATH
  PATH="$(cd "$VENV/bin" && pwd):$PATH"
  export PATH VIRTUAL_ENV="$(cd "$VENV" && pwd)"
}
