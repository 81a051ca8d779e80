#!/usr/bin/env bash
# Creates the project's virtual environment (.venv) on the first run, installs the app's
# dependencies into it, and starts the app on its bundled sample data.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
ensure_venv requirements.txt
exec "$PY" -m streamlit run streamlit_app.py "$@"
