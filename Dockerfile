# syntax=docker/dockerfile:1
# WattsUp: one image, four roles. The role is the command (compose.yaml gives each service its own)
# and WATTSUP_ROLE, which tells the health check what to look at:
#   app      python -m streamlit run streamlit_app.py ... --server.port 8501   (the default CMD)
#   api      python -m core serve --host 0.0.0.0 --port 8000
#   worker   python -m core worker
#   migrate  python -m core db upgrade                                          (one-shot)
# Everything the roles need is in the image (libraries, the pretrained models, the bundled samples,
# Chromium for chart exports): nothing is downloaded at run time. What they write lives in two
# volumes: WATTSUP_HOME (SQLite file when no WATTSUP_DATABASE_URL, upload blobs, secret.key) and
# WATTSUP_MODELS_DIR (the model cache). See docs/DEPLOY.md.

# ---- build: compilers, and every wheel installed into one virtual environment -------------------
FROM python:3.11-slim-trixie AS build

# build-essential: in case a pinned package has no wheel for this platform and builds from source
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt

# ---- run: no compilers, a non-root user -------------------------------------------------------
FROM python:3.11-slim-trixie AS run

# packages.txt: Chromium (kaleido renders the PNG / PDF exports with it) and the PDF's font
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# a fixed numeric id, so volumes and bind mounts can be chowned from the host
RUN groupadd --system --gid 10001 wattsup \
    && useradd --system --uid 10001 --gid wattsup --create-home --home-dir /home/wattsup wattsup \
    && mkdir -p /var/lib/wattsup/home /var/lib/wattsup/models \
    && chown -R wattsup:wattsup /var/lib/wattsup

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    BROWSER_PATH=/usr/bin/chromium \
    WATTSUP_ROLE=app \
    WATTSUP_HOME=/var/lib/wattsup/home \
    WATTSUP_MODELS_DIR=/var/lib/wattsup/models

COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# code and committed models stay root-owned: the app reads them, never writes them
COPY streamlit_app.py ./
COPY .streamlit/config.toml .streamlit/config.toml
COPY core core
COPY pages pages
COPY models/pretrained models/pretrained
COPY sample_data sample_data
RUN python -m compileall -q core pages streamlit_app.py

# The health check of every role (see its docstring); Docker reserves exit code 2, so 0 or 1 only.
COPY <<'EOF' /opt/wattsup/healthcheck.py
"""Is this container healthy? The role comes from WATTSUP_ROLE (or the first argument).

app      GET http://127.0.0.1:8501/_stcore/health: Streamlit's own health endpoint
api      GET http://127.0.0.1:8000/healthz: 200 once the database answers at the schema it expects
worker   a worker holds an unexpired lease on the database (the active one renews it every 20 s;
         a second worker standing by is healthy too: it takes over when the lease lapses)
migrate  a one-shot: nothing to watch
"""

import os
import sys
import urllib.request

URLS = {
    "app": "http://127.0.0.1:8501/_stcore/health",
    "api": "http://127.0.0.1:8000/healthz",
}
ROLES = (*URLS, "worker", "migrate")


def worker_active() -> bool:
    from core.errors import DataError
    from core.store.db import open_store
    from core.store.jobs import SqlLeaseRepository

    try:
        store = open_store(upgrade=False)
        try:
            lease = SqlLeaseRepository(store).current()
        finally:
            store.close()
    except DataError as err:
        print(err, file=sys.stderr)
        return False
    return lease is not None and not lease.expired()


def healthy(role: str) -> bool:
    if role in URLS:
        try:
            with urllib.request.urlopen(URLS[role], timeout=5) as answer:
                return answer.status == 200
        except OSError as err:
            print(f"{URLS[role]}: {err}", file=sys.stderr)
            return False
    if role == "worker":
        return worker_active()
    if role == "migrate":
        return True
    print(f"WATTSUP_ROLE={role!r} is not one of {', '.join(ROLES)}", file=sys.stderr)
    return False


if __name__ == "__main__":
    role = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("WATTSUP_ROLE", "app")
    sys.exit(0 if healthy(role) else 1)
EOF

USER 10001:10001
VOLUME ["/var/lib/wattsup/home", "/var/lib/wattsup/models"]
EXPOSE 8501 8000
# start-period: the first start imports TensorFlow, Prophet and scikit-learn (up to a minute)
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
    CMD ["python", "/opt/wattsup/healthcheck.py"]
CMD ["python", "-m", "streamlit", "run", "streamlit_app.py", "--server.address", "0.0.0.0", "--server.port", "8501", "--server.headless", "true"]
