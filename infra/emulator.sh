#!/usr/bin/env bash
# The local AWS emulator for FinFlow.
#
#   infra/emulator.sh start    use $AWS_ENDPOINT_URL if something answers there (e.g. a
#                              LocalStack you run yourself), else install (pinned, once) and
#                              start $FINFLOW_EMULATOR on 127.0.0.1:4566; prints the endpoint
#   infra/emulator.sh stop     stop the emulator this script started (pid file)
#   infra/emulator.sh status   say what answers where
#   infra/emulator.sh install  only install $FINFLOW_EMULATOR (CI warms it before timing phases)
#
# FINFLOW_EMULATOR picks one (README "The local cloud" has the measurements behind the default):
#   ministack   (default) MiniStack, PyPI `ministack`, in its own venv infra/.emulators/ministack
#               (pins in infra/emulators/ministack.txt), with infra/ministack_server.py's fix
#   moto        moto's server with FinFlow's two fixes (infra/moto_server.py), from infra/.venv
#   localstack  LocalStack Community on the host, no Docker: infra/localstack.sh installs and
#               runs it (pinned release, its own venv, DynamoDB Local pre-placed)
# What each one cannot do is declared once, in infra/emulators/capabilities.json.
#
# Logs: infra/.state/emulator.log; pid: infra/.state/emulator.pid (FINFLOW_EMULATOR_LOG and
# FINFLOW_EMULATOR_PID_FILE name others, e.g. for the DynamoDB Local phase's own emulator).
set -euo pipefail
LOG_TAG=emulator
# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

EMULATOR="${FINFLOW_EMULATOR:-$DEFAULT_EMULATOR}"
PID_FILE="${FINFLOW_EMULATOR_PID_FILE:-$STATE_DIR/emulator.pid}"
EMULATOR_LOG="${FINFLOW_EMULATOR_LOG:-$STATE_DIR/emulator.log}"
START_TIMEOUT="${FINFLOW_EMULATOR_TIMEOUT:-60}"
MINISTACK_VENV="$INFRA_DIR/.emulators/ministack"

case "$EMULATOR" in
  ministack | moto | localstack) ;;
  *) die "FINFLOW_EMULATOR=$EMULATOR: expected ministack, moto or localstack" ;;
esac

# The emulator process this script started, if it still runs (pids get reused: the pid file
# holds "name pid", and the process's command line must name the emulator).
our_pid() {
  local name pid
  [[ -f "$PID_FILE" ]] || return 1
  read -r name pid <"$PID_FILE" || true
  [[ -n "${pid:-}" ]] && kill -0 "$pid" 2>/dev/null || return 1
  case "$name" in
    moto) grep -q moto_server "/proc/$pid/cmdline" 2>/dev/null || return 1 ;;
    ministack) grep -q ministack "/proc/$pid/cmdline" 2>/dev/null || return 1 ;;
    localstack) grep -q localstack "/proc/$pid/cmdline" 2>/dev/null || return 1 ;;
    *) return 1 ;;
  esac
  echo "$name $pid"
}

cmd_install() {
  case "$EMULATOR" in
    ministack) ensure_venv_at "$MINISTACK_VENV" "$INFRA_DIR/emulators/ministack.txt" ;;
    moto) ensure_venv ;;
    localstack) "$INFRA_DIR/localstack.sh" install ;;
  esac
}

# Runs the emulator in the foreground (exec), listening on 127.0.0.1:4566 only.
run_emulator() {
  case "$EMULATOR" in
    moto) exec "$VENV_PY" "$INFRA_DIR/moto_server.py" -H 127.0.0.1 -p 4566 ;;
    ministack)
      # With one fix (infra/ministack_server.py). Its pid file goes to TMPDIR: keep it ours.
      BIND_HOST=127.0.0.1 GATEWAY_PORT=4566 TMPDIR="$STATE_DIR" LOG_LEVEL=WARNING \
        exec "$MINISTACK_VENV/bin/python" "$INFRA_DIR/ministack_server.py"
      ;;
    localstack) exec "$INFRA_DIR/localstack.sh" run ;;
  esac
}

cmd_start() {
  local endpoint="${AWS_ENDPOINT_URL:-$DEFAULT_ENDPOINT}" running pid
  if endpoint_answers "$endpoint"; then
    log "using the emulator already answering at $endpoint"
    echo "$endpoint"
    return 0
  fi
  if [[ "$endpoint" != "$DEFAULT_ENDPOINT" ]]; then
    die "AWS_ENDPOINT_URL=$endpoint does not answer (unset it to let this script start $EMULATOR on $DEFAULT_ENDPOINT)"
  fi
  if running="$(our_pid)"; then
    die "${running% *} (pid ${running#* }) is running but $endpoint does not answer; see ${EMULATOR_LOG#"$FINFLOW_ROOT"/}, or run: $0 stop"
  fi

  cmd_install
  log "starting $EMULATOR on 127.0.0.1:4566 (log: ${EMULATOR_LOG#"$FINFLOW_ROOT"/})"
  # setsid: its own session and process group, so a Ctrl-C meant for the runner doesn't kill
  # the emulator underneath it (infra/up stops it explicitly), and stopping it ends its
  # children too (LocalStack's Java and Node helpers).
  : >"$EMULATOR_LOG"
  setsid "$0" run >>"$EMULATOR_LOG" 2>&1 </dev/null &
  pid=$!
  echo "$EMULATOR $pid" >"$PID_FILE"

  local deadline=$((SECONDS + START_TIMEOUT)) delay=0.05
  until endpoint_answers "$endpoint"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      tail -n 30 "$EMULATOR_LOG" >&2 || true
      die "$EMULATOR exited during startup"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$EMULATOR_LOG" >&2 || true
      stop_group "$pid" "$EMULATOR"
      rm -f "$PID_FILE"
      die "$EMULATOR did not answer within ${START_TIMEOUT}s"
    fi
    sleep "$delay"
    delay=0.2
  done
  log "$EMULATOR ready at $endpoint (pid $pid)"
  echo "$endpoint"
}

# Stops the process group $1 leads: TERM, then KILL after a bounded wait (LocalStack may hang
# on SIGTERM).
stop_group() {
  local pid="$1" name="$2" sig i
  kill -0 "$pid" 2>/dev/null || return 0
  log "stopping $name (pid $pid)"
  for sig in TERM KILL; do
    kill -s "$sig" -- "-$pid" 2>/dev/null || kill -s "$sig" "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 50; i++)); do
      kill -0 -- "-$pid" 2>/dev/null || return 0
      sleep 0.1
    done
    [[ "$sig" == TERM ]] && warn "$name (pid $pid) still running 5s after SIGTERM; killing it"
  done
}

cmd_stop() {
  local running
  if running="$(our_pid)"; then
    stop_group "${running#* }" "${running% *}"
  else
    log "no emulator started by this script is running"
  fi
  rm -f "$PID_FILE"
}

cmd_status() {
  local endpoint="${AWS_ENDPOINT_URL:-$DEFAULT_ENDPOINT}" running
  if running="$(our_pid)"; then
    log "${running% *} started by this script: pid ${running#* }"
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
  install) cmd_install ;;
  run) run_emulator ;;
  *)
    echo "usage: $0 start|stop|status|install" >&2
    exit 2
    ;;
esac
