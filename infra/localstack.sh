#!/usr/bin/env bash
# LocalStack Community on the host, without Docker or an auth token (FINFLOW_EMULATOR=localstack
# infra/emulator.sh start runs it; infra/test-localstack runs the suite on it).
#
#   infra/localstack.sh install   its own venv infra/.emulators/localstack with the pinned
#                                 release and dependency set (infra/emulators/localstack.txt),
#                                 and everything it would otherwise download at first use:
#                                 DynamoDB Local (infra/dynamodb-local.sh's copy), the -javaagent
#                                 jar its DynamoDB insists on (a no-op one, built here), and
#                                 kinesis-mock (npm) for DynamoDB Streams
#   infra/localstack.sh run       run it in the foreground on 127.0.0.1:4566 (exec)
#
# Why this way (measured on these machines, README "LocalStack"): releases after 4.9.2 need
# Python 3.12+; OVERRIDE_IN_DOCKER=0 keeps it from writing under /var/lib, /usr/lib, /etc and
# /tmp/localstack; FILESYSTEM_ROOT is ours (per state dir, so sandboxes never share one);
# SKIP_SSL_CERT_DOWNLOAD=1 and DNS_ADDRESS=0 keep it off the network and port 53. Its DynamoDB
# would download DynamoDB Local and a Java 21, and insists on a -javaagent jar from LocalStack's
# own artifacts: none of those hosts is reachable, so the same DynamoDB Local 3.3.1 the money
# suite uses is placed where it looks (lib/dynamodb-local/2/), with a no-op agent; it runs on the
# system's Java 17. The first DynamoDB call takes 5-9 s (JVM start). SIGTERM may hang:
# infra/emulator.sh kills its process group after 5 s.
set -euo pipefail
LOG_TAG=localstack
# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VENV="$INFRA_DIR/.emulators/localstack"
REQUIREMENTS_LS="$INFRA_DIR/emulators/localstack.txt"
# Libraries LocalStack would fetch at first use, installed once and shared by every run.
LIBS="$INFRA_DIR/.emulators/localstack-libs"
DDB_DIR="$LIBS/dynamodb-local/2"
AGENT_JAR="$DDB_DIR/ddb-local-loader-0.1.jar"
STAMP="$LIBS/.installed"
KINESIS_MOCK_VERSION=0.4.13 # LocalStack 4.9.2's default (kinesis-local on npm)

# The environment LocalStack runs with; FILESYSTEM_ROOT is this run's (under the state dir).
localstack_env() {
  local root="$STATE_DIR/localstack"
  mkdir -p "$root/var/lib/localstack"
  ln -sfn "$LIBS" "$root/var/lib/localstack/lib"
  export OVERRIDE_IN_DOCKER=0 FILESYSTEM_ROOT="$root"
  export GATEWAY_LISTEN=127.0.0.1:4566 LOCALSTACK_HOST=127.0.0.1:4566
  export SKIP_SSL_CERT_DOWNLOAD=1 DNS_ADDRESS=0 DISABLE_EVENTS=1
  export KINESIS_MOCK_VERSION
  # Only what FinFlow uses (and sam-translator's IAM lookup): less to load.
  export SERVICES=cloudformation,dynamodb,dynamodbstreams,events,iam,kinesis,kms,secretsmanager,sns,sqs,sts
}

python_ok() {
  python3 -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 11) else 1)'
}

cmd_install() {
  python_ok || die "LocalStack 4.9.2 runs on Python 3.10 or 3.11 (python3 is $(python3 -V 2>&1)); later releases need 3.12+ syntax"
  ensure_venv_at "$VENV" "$REQUIREMENTS_LS"
  local want
  "$INFRA_DIR/dynamodb-local.sh" install
  want="$(sha256sum "$REQUIREMENTS_LS" | cut -d' ' -f1) kinesis-local@$KINESIS_MOCK_VERSION $(cat "$INFRA_DIR/.dynamodb-local/.installed")"
  if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" && -f "$AGENT_JAR" ]]; then
    return 0
  fi
  (
    if command -v flock >/dev/null; then
      exec 9>"$STATE_DIR/localstack-install.lock"
      flock 9
    fi
    [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" && -f "$AGENT_JAR" ]] && exit 0
    log "placing DynamoDB Local and a no-op -javaagent jar under ${LIBS#"$FINFLOW_ROOT"/}"
    rm -rf "$LIBS"
    mkdir -p "$DDB_DIR"
    cp -a "$INFRA_DIR/.dynamodb-local/emulator/." "$DDB_DIR/"
    command -v javac >/dev/null && command -v jar >/dev/null ||
      apt_install openjdk-17-jdk-headless || die "javac and jar (a JDK) are needed to build the agent jar"
    local tmp
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    cat >"$tmp/NoopAgent.java" <<'JAVA'
// LocalStack starts DynamoDB Local with -javaagent:<its loader>; this one does nothing.
public final class NoopAgent {
    public static void premain(String args, java.lang.instrument.Instrumentation inst) {}
}
JAVA
    printf 'Premain-Class: NoopAgent\n' >"$tmp/manifest.txt"
    (cd "$tmp" && javac --release 11 NoopAgent.java && jar cfm "$AGENT_JAR" manifest.txt NoopAgent.class) ||
      die "building the no-op agent jar failed"
    log "installing kinesis-mock $KINESIS_MOCK_VERSION (npm) for DynamoDB Streams, as LocalStack would at first use"
    command -v npm >/dev/null || apt_install npm || die "npm is required for kinesis-mock"
    localstack_env
    "$VENV/bin/python" -c 'from localstack.services.kinesis.packages import kinesismock_package as p; p.install(); print(p.get_installed_dir())' ||
      die "installing kinesis-mock failed"
    echo "$want" >"$STAMP"
  ) || exit 1
}

cmd_run() {
  [[ -f "$STAMP" ]] || die "LocalStack is not installed; run: $0 install"
  localstack_env
  exec "$VENV/bin/python" -m localstack.runtime.main
}

case "${1:-}" in
  install) cmd_install ;;
  run) cmd_run ;;
  *)
    echo "usage: $0 install|run" >&2
    exit 2
    ;;
esac
