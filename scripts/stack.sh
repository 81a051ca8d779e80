#!/usr/bin/env bash
# The whole stack on this machine without Docker: the app, the REST API and the worker, all on the
# embedded database (WATTSUP_HOME/wattsup.db; WATTSUP_DATABASE_URL picks a server database instead).
#
#   bash scripts/stack.sh start     # set-up on the first run, start the three, wait until healthy
#   bash scripts/stack.sh status    # which of them run, and their URLs
#   bash scripts/stack.sh stop      # stop them cleanly (SIGTERM, then SIGKILL after 20 s)
#
# Ports: WATTSUP_APP_PORT (8501), WATTSUP_API_PORT (8000); address WATTSUP_BIND (127.0.0.1).
# Logs and process ids go to WATTSUP_HOME/stack/ (WATTSUP_HOME defaults to ~/.wattsup).
set -euo pipefail
cd "$(dirname "$0")/.."

HOME_DIR="${WATTSUP_HOME:-$HOME/.wattsup}"
RUN_DIR="$HOME_DIR/stack"
BIND="${WATTSUP_BIND:-127.0.0.1}"
APP_PORT="${WATTSUP_APP_PORT:-8501}"
API_PORT="${WATTSUP_API_PORT:-8000}"
SERVICES=(api worker app)
HEALTH_TIMEOUT_S="${WATTSUP_STACK_TIMEOUT:-180}"

running() { # NAME -> 0 when its recorded process is alive
  local pid_file="$RUN_DIR/$1.pid"
  [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null
}

health_url() {
  case "$1" in
    api) echo "http://$BIND:$API_PORT/healthz" ;;
    app) echo "http://$BIND:$APP_PORT/_stcore/health" ;;
    *) echo "" ;;
  esac
}

healthy() { # NAME -> 0 when its health URL answers 200 (the worker: when its process is alive)
  local url
  url="$(health_url "$1")"
  if [ -z "$url" ]; then running "$1"; return; fi
  "$PY" - "$url" <<'EOF'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
EOF
}

launch() { # NAME ARGS... : start in the background, its own process group, log to RUN_DIR/NAME.log
  local name="$1"
  shift
  if running "$name"; then
    echo "$name already runs (pid $(cat "$RUN_DIR/$name.pid"))"
    return
  fi
  setsid "$PY" "$@" >"$RUN_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/$name.pid"
}

stop_one() {
  local name="$1" pid_file="$RUN_DIR/$1.pid"
  if ! running "$name"; then
    rm -f "$pid_file"
    return
  fi
  local pid
  pid="$(cat "$pid_file")"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "$name did not stop within 20 s: killing it" >&2
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pid_file"
  echo "$name stopped"
}

cmd_start() {
  source scripts/venv.sh
  ensure_venv requirements.txt
  mkdir -p "$RUN_DIR"
  export WATTSUP_HOME="$HOME_DIR"
  # migrate once, before three processes open the database
  "$PY" -m core db upgrade >"$RUN_DIR/migrate.log" 2>&1 || {
    echo "database upgrade failed:" >&2
    cat "$RUN_DIR/migrate.log" >&2
    exit 1
  }
  launch api -m core serve --host "$BIND" --port "$API_PORT"
  launch worker -m core worker
  launch app -m streamlit run streamlit_app.py --server.headless true \
    --server.address "$BIND" --server.port "$APP_PORT"
  local deadline=$((SECONDS + HEALTH_TIMEOUT_S)) name
  for name in "${SERVICES[@]}"; do
    until healthy "$name"; do
      if ! running "$name"; then
        echo "$name exited while starting; its log ($RUN_DIR/$name.log):" >&2
        tail -n 30 "$RUN_DIR/$name.log" >&2
        cmd_stop >&2
        exit 1
      fi
      if [ "$SECONDS" -ge "$deadline" ]; then
        echo "$name was not healthy within $HEALTH_TIMEOUT_S s; see $RUN_DIR/$name.log" >&2
        cmd_stop >&2
        exit 1
      fi
      sleep 0.5
    done
  done
  echo "WattsUp runs (database under $HOME_DIR; logs in $RUN_DIR):"
  echo "  app    http://$BIND:$APP_PORT"
  echo "  API    http://$BIND:$API_PORT/docs"
  echo "  worker pid $(cat "$RUN_DIR/worker.pid")"
  echo "stop it with: bash scripts/stack.sh stop"
}

cmd_stop() {
  local name
  for name in app worker api; do stop_one "$name"; done
}

cmd_status() {
  local name status=0
  for name in "${SERVICES[@]}"; do
    if running "$name"; then
      echo "$name runs (pid $(cat "$RUN_DIR/$name.pid")) $(health_url "$name")"
    else
      echo "$name stopped"
      status=3
    fi
  done
  return "$status"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *)
    echo "usage: bash scripts/stack.sh start|stop|status" >&2
    exit 2
    ;;
esac
