#!/usr/bin/env bash
# Installs the app's dependencies and starts it on its bundled sample data.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check -r requirements.txt
exec python3 -m streamlit run streamlit_app.py "$@"
