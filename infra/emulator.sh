#!/usr/bin/env bash
# Local AWS emulator (moto server) for FinFlow.
#
#   infra/emulator.sh start    use $AWS_ENDPOINT_URL if something answers there (e.g. a
#                              LocalStack you run yourself), else start moto_server on
#                              127.0.0.1:4566; prints the endpoint on stdout
#   infra/emulator.sh stop     stop the moto_server this script started (pid file)
#   infra/emulator.sh status   say what answers where
#
# Logs: infra/.state/moto.log; pid: infra/.state/moto.pid (FINFLOW_MOTO_LOG and
# FINFLOW_MOTO_PID_FILE name others, e.g. for the DynamoDB Local phase's own moto).
set -euo pipefail
LOG_TAG=emulator
# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PID_FILE="${FINFLOW_MOTO_PID_FILE:-$STATE_DIR/moto.pid}"
MOTO_LOG="${FINFLOW_MOTO_LOG:-$STATE_DIR/moto.log}"
START_TIMEOUT="${FINFLOW_EMULATOR_TIMEOUT:-30}"

our_pid() {
  local pid
  [[ -f "$PID_FILE" ]] || return 1
  pid="$(cat "$PID_FILE")"
  # Only a live moto_server counts: pids get reused.
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && grep -q moto_server "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

cmd_start() {
  local endpoint="${AWS_ENDPOINT_URL:-$DEFAULT_ENDPOINT}" pid
  if endpoint_answers "$endpoint"; then
    log "using the emulator already answering at $endpoint"
    echo "$endpoint"
    return 0
  fi
  if [[ "$endpoint" != "$DEFAULT_ENDPOINT" ]]; then
    die "AWS_ENDPOINT_URL=$endpoint does not answer (unset it to let this script start moto on $DEFAULT_ENDPOINT)"
  fi
  if pid="$(our_pid)"; then
    die "moto_server (pid $pid) is running but $endpoint does not answer; see ${MOTO_LOG#"$FINFLOW_ROOT"/}, or run: $0 stop"
  fi

  ensure_venv
  log "starting moto_server on 127.0.0.1:4566 (log: ${MOTO_LOG#"$FINFLOW_ROOT"/})"
  # setsid: its own session, so a Ctrl-C meant for the runner doesn't kill the
  # emulator underneath it; infra/up stops it explicitly.
  : >"$MOTO_LOG"
  setsid "$VENV_PY" "$INFRA_DIR/moto_server.py" -H 127.0.0.1 -p 4566 >>"$MOTO_LOG" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PID_FILE"

  local deadline=$((SECONDS + START_TIMEOUT)) delay=0.05
  until endpoint_answers "$endpoint"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      tail -n 30 "$MOTO_LOG" >&2 || true
      die "moto_server exited during startup"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$MOTO_LOG" >&2 || true
      stop_pid "$pid" moto_server
      rm -f "$PID_FILE"
      die "moto_server did not answer within ${START_TIMEOUT}s"
    fi
    sleep "$delay"
    delay=0.2
  done
  log "moto_server ready at $endpoint (pid $pid)"
  echo "$endpoint"
}

cmd_stop() {
  local pid
  if pid="$(our_pid)"; then
    stop_pid "$pid" moto_server
  else
    log "no moto_server started by this script is running"
  fi
  rm -f "$PID_FILE"
}

cmd_status() {
  local endpoint="${AWS_ENDPOINT_URL:-$DEFAULT_ENDPOINT}" pid
  if pid="$(our_pid)"; then
    log "moto_server started by this script: pid $pid"
  fi
  if endpoint_answers "$endpoint"; then
    log "$endpoint answers"
  else
    log "$endpoint does not answer"
    return 1
  fi
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
