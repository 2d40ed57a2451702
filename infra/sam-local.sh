#!/usr/bin/env bash
# `sam local invoke` of the real, SAM-built functions in a private local Docker engine.
#
#   infra/sam-local.sh ensure   install (apt) docker.io, debootstrap and qemu-user-static;
#                               let the kernel run arm64 binaries (qemu-aarch64 binfmt);
#                               start a private dockerd (data under infra/.sam-local,
#                               --iptables=false); make the base image SAM expects for
#                               provided.al2023 on arm64 (debootstrap --foreign
#                               --variant=minbase + docker import: no registry is
#                               reachable). Idempotent.
#   infra/sam-local.sh build    `sam build` (arm64 release, the pinned SAM CLI through infra/sam)
#                               of the functions `invoke` runs, each into its own build dir
#   infra/sam-local.sh invoke   an emulator of its own on the Docker bridge address (the only
#                               host address a container reaches), provisioned from
#                               template.yaml; then `sam local invoke --skip-pull-image -e
#                               events/sam/...` of an HTTP function and an SQS consumer, with
#                               the environment the stack gives them (--env-vars), and checks
#                               what comes back and what they wrote
#   infra/sam-local.sh stop     stop that emulator and the engine, undo the binfmt
#                               registration it made; nothing is left running
#   infra/sam-local.sh test     ensure, build, invoke, stop (what infra/test runs)
#
# Exit status 75 means this machine cannot run the engine (not root, no apt-get, no
# binfmt_misc, dockerd does not start): the caller skips this step, loudly.
# Kept between runs (gitignored): infra/.sam-local/ (the base image's root file system as a
# tarball, the engine's data with the images, the build dirs) and target/ (cargo's cache).
# Logs: infra/.sam-local/{dockerd,moto,provision,build-*,invoke-*}.log.
set -euo pipefail
LOG_TAG="sam-local"
# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$FINFLOW_ROOT"

CANNOT=75
SAM_LOCAL_DIR="$INFRA_DIR/.sam-local"
DOCKER_SOCK="$SAM_LOCAL_DIR/docker.sock"
DOCKERD_PID_FILE="$SAM_LOCAL_DIR/dockerd.pid"
MOTO_PID_FILE="$SAM_LOCAL_DIR/moto.pid"
MOTO_PORT=4567
EVENTS_DIR="$FINFLOW_ROOT/events/sam"
# template.yaml's Globals: provided.al2023 on arm64.
ARCH=arm64
DEB_ARCH=arm64
DOCKER_PLATFORM=linux/arm64
# What `invoke` runs: an HTTP function and an SQS consumer of one crate (one cold build).
HTTP_FUNCTION=AuthSessionFunction
CONSUMER_FUNCTION=AuthKycEventsFunction
export DOCKER_HOST="unix://$DOCKER_SOCK"
mkdir -p "$SAM_LOCAL_DIR"

cannot() {
  printf '[%s] CANNOT RUN HERE: %s\n' "$LOG_TAG" "$*" >&2
  exit "$CANNOT"
}

engine_answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# ---------------------------------------------------------------------------- ensure

install_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  if [[ "$(uname -m)" != aarch64 ]] && [[ ! -x /usr/bin/qemu-aarch64-static ]]; then
    missing+=(qemu-user-static)
  fi
  ((${#missing[@]})) || return 0
  command -v apt-get >/dev/null || cannot "${missing[*]} missing and no apt-get to install them"
  log "installing ${missing[*]} with apt-get"
  # Installing docker.io must not start the system's own dockerd (with iptables rules):
  # invoke-rc.d asks policy-rc.d, which says no (101) while we install.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
  fi
  local rc=0
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >"$SAM_LOCAL_DIR/apt.log" 2>&1; } || rc=$?
  ((made_policy)) && rm -f "$policy"
  ((rc == 0)) || { tail -n 20 "$SAM_LOCAL_DIR/apt.log" >&2; die "apt-get install ${missing[*]} failed"; }
}

# An arm64 function on an x86_64 machine runs under qemu-user. The F flag (in Debian's
# binfmt.d entry) makes the kernel open the interpreter now, so it works inside containers.
ensure_binfmt() {
  [[ "$(uname -m)" == aarch64 ]] && return 0
  local dir=/proc/sys/fs/binfmt_misc conf=/usr/lib/binfmt.d/qemu-aarch64.conf
  if [[ ! -e "$dir/register" ]]; then
    mount -t binfmt_misc binfmt_misc "$dir" 2>/dev/null || cannot "binfmt_misc cannot be mounted (arm64 binaries cannot run)"
    touch "$SAM_LOCAL_DIR/binfmt-mounted"
  fi
  if [[ ! -e "$dir/qemu-aarch64" ]]; then
    [[ -f "$conf" ]] || die "$conf is missing (qemu-user-static)"
    printf '%s' "$(cat "$conf")" >"$dir/register" || cannot "the kernel refused the qemu-aarch64 binfmt entry"
    touch "$SAM_LOCAL_DIR/binfmt-registered"
    log "registered qemu-aarch64 with binfmt_misc"
  fi
  grep -q '^enabled' "$dir/qemu-aarch64" || cannot "the qemu-aarch64 binfmt entry is disabled"
  grep -q '^flags:.*F' "$dir/qemu-aarch64" || cannot "the qemu-aarch64 binfmt entry lacks the F flag (containers cannot use it)"
}

start_engine() {
  if engine_answers; then
    return 0
  fi
  local pid
  if [[ -f "$DOCKERD_PID_FILE" ]] && pid="$(cat "$DOCKERD_PID_FILE")" && kill -0 "$pid" 2>/dev/null; then
    die "dockerd (pid $pid) runs but $DOCKER_HOST does not answer; run: $0 stop"
  fi
  # dockerd makes the docker0 bridge and leaves it behind when it stops: `stop` removes it
  # when this script's engine made it.
  if ! ip link show docker0 >/dev/null 2>&1; then
    touch "$SAM_LOCAL_DIR/bridge-created"
  fi
  log "starting a private dockerd (socket ${DOCKER_SOCK#"$FINFLOW_ROOT"/}, log ${SAM_LOCAL_DIR#"$FINFLOW_ROOT"/}/dockerd.log)"
  mkdir -p "$SAM_LOCAL_DIR/docker" "$SAM_LOCAL_DIR/run"
  # --iptables=false / --ip-masq=false: no NAT to the outside world, no rules on the host;
  # containers reach only the host's bridge address. setsid: not killed with our shell.
  setsid dockerd --data-root "$SAM_LOCAL_DIR/docker" --exec-root "$SAM_LOCAL_DIR/run" \
    --host "$DOCKER_HOST" --pidfile "$DOCKERD_PID_FILE" \
    --iptables=false --ip-masq=false >"$SAM_LOCAL_DIR/dockerd.log" 2>&1 </dev/null &
  pid=$!
  local deadline=$((SECONDS + 60))
  until engine_answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$SAM_LOCAL_DIR/dockerd.log" >&2 || true
      cannot "dockerd exited during startup (see ${SAM_LOCAL_DIR#"$FINFLOW_ROOT"/}/dockerd.log)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 20 "$SAM_LOCAL_DIR/dockerd.log" >&2 || true
      stop_pid "$pid" dockerd
      cannot "dockerd did not answer within 60s"
    fi
    sleep 0.2
  done
  log "dockerd ready (pid $pid)"
}

# The image SAM builds its invoke image from, by the name it looks for (read from the pinned
# SAM CLI: samcli/local/docker/lambda_image.py), e.g. public.ecr.aws/lambda/provided:al2023-arm64.
base_image_name() {
  "$SAM_VENV_DIR/bin/python" - "$ARCH" <<'PY'
import sys
from samcli.local.docker.lambda_image import LambdaImage, Runtime
print(f"{LambdaImage._INVOKE_REPO_PREFIX}/{Runtime.get_image_name_tag('provided.al2023', sys.argv[1])}")
PY
}

# Debian's own mirror, as apt is configured on this machine.
debian_mirror() {
  local m
  m="$(grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | head -n1 | tr -d ' ')"
  echo "${m:-http://deb.debian.org/debian}"
}

ensure_image() {
  local image rootfs_tar suite tmp
  image="$(base_image_name)"
  if docker image inspect "$image" >/dev/null 2>&1; then
    log "base image $image present"
    return 0
  fi
  suite="$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")"
  [[ -n "$suite" ]] || suite=bookworm
  rootfs_tar="$SAM_LOCAL_DIR/rootfs-$suite-$DEB_ARCH.tar"
  if [[ ! -s "$rootfs_tar" ]]; then
    tmp="$SAM_LOCAL_DIR/rootfs.tmp"
    rm -rf "$tmp"
    # --foreign: download and unpack only. The second stage would run every package's
    # maintainer scripts under qemu (16 minutes on this 2-core machine under load, against
    # 41 s for this); a function needs none of them: glibc, libgcc, /bin/sh (for the RUN
    # line SAM adds) are all unpacked by the first stage.
    log "debootstrap --foreign --variant=minbase --arch=$DEB_ARCH $suite (log ${SAM_LOCAL_DIR#"$FINFLOW_ROOT"/}/debootstrap.log)"
    if ! nice -n 10 debootstrap --foreign --variant=minbase --include=ca-certificates --arch="$DEB_ARCH" \
      "$suite" "$tmp" "$(debian_mirror)" >"$SAM_LOCAL_DIR/debootstrap.log" 2>&1; then
      tail -n 20 "$SAM_LOCAL_DIR/debootstrap.log" >&2
      rm -rf "$tmp"
      die "debootstrap failed"
    fi
    [[ -x "$tmp/usr/bin/sh" && -e "$tmp/lib/ld-linux-aarch64.so.1" ]] || die "debootstrap left no /bin/sh or dynamic loader in $tmp"
    # Lambda's images have CA certificates (the SDK's TLS roots): unpack ca-certificates too
    # and make its bundle as its update-ca-certificates script would.
    local deb
    for deb in "$tmp"/var/cache/apt/archives/ca-certificates_*.deb; do
      dpkg-deb -x "$deb" "$tmp"
    done
    mkdir -p "$tmp/etc/ssl/certs"
    cat "$tmp"/usr/share/ca-certificates/mozilla/*.crt >"$tmp/etc/ssl/certs/ca-certificates.crt"
    # Lambda's images carry no package caches, docs or locales; neither does ours.
    tar -C "$tmp" --exclude=./debootstrap --exclude=./var/cache/apt/archives --exclude=./var/lib/apt/lists \
      --exclude=./usr/share/doc --exclude=./usr/share/man --exclude=./usr/share/locale \
      --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf "$rootfs_tar.tmp" .
    mv "$rootfs_tar.tmp" "$rootfs_tar"
    rm -rf "$tmp"
  fi
  log "docker import ${rootfs_tar#"$FINFLOW_ROOT"/} as $image"
  docker import --platform "$DOCKER_PLATFORM" -c 'ENV LANG=C.UTF-8' "$rootfs_tar" "$image" >/dev/null
}

cmd_ensure() {
  [[ "$(id -u)" == 0 ]] || cannot "needs root (apt-get, binfmt_misc, dockerd)"
  install_packages
  ensure_binfmt
  ensure_sam_tools
  start_engine
  ensure_image
}

# ---------------------------------------------------------------------------- build

cmd_build() {
  ensure_sam_tools
  local fn started
  for fn in "$HTTP_FUNCTION" "$CONSUMER_FUNCTION"; do
    started=$SECONDS
    log "sam build $fn (arm64 release; log ${SAM_LOCAL_DIR#"$FINFLOW_ROOT"/}/build-$fn.log)"
    if ! nice -n 10 "$INFRA_DIR/sam" build "$fn" --build-dir "$SAM_LOCAL_DIR/build/$fn" \
      >"$SAM_LOCAL_DIR/build-$fn.log" 2>&1; then
      tail -n 40 "$SAM_LOCAL_DIR/build-$fn.log" >&2
      die "sam build $fn failed"
    fi
    # ELF e_machine (bytes 18-19, little-endian): 0xb7 is AArch64.
    [[ "$(od -An -tx1 -j18 -N2 "$SAM_LOCAL_DIR/build/$fn/$fn/bootstrap" | tr -d ' \n')" == b700 ]] ||
      die "$fn's bootstrap is not an arm64 executable"
    log "built $fn in $((SECONDS - started))s"
  done
}

# ---------------------------------------------------------------------------- invoke

# The host's address on the engine's default bridge: IPAM's gateway when recorded (not on
# a bridge the engine has just made), else the bridge interface's own address.
bridge_address() {
  local address name
  address="$(docker network inspect bridge --format '{{range .IPAM.Config}}{{.Gateway}}{{end}}')"
  if [[ -z "$address" ]]; then
    name="$(docker network inspect bridge --format '{{index .Options "com.docker.network.bridge.name"}}')"
    address="$(ip -4 -o addr show dev "${name:-docker0}" 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | head -n1)"
  fi
  echo "$address"
}

stop_emulator() {
  local pid
  [[ -f "$MOTO_PID_FILE" ]] || return 0
  pid="$(cat "$MOTO_PID_FILE")"
  if kill -0 "$pid" 2>/dev/null && grep -q moto_server "/proc/$pid/cmdline" 2>/dev/null; then
    stop_pid "$pid" moto_server
  fi
  rm -f "$MOTO_PID_FILE"
}

# A fresh emulator for every `invoke`: the checks expect an empty stack.
start_emulator() {
  local endpoint="$1" host="$2" pid
  stop_emulator
  ensure_venv
  log "starting moto_server on $host:$MOTO_PORT, the bridge address (log ${SAM_LOCAL_DIR#"$FINFLOW_ROOT"/}/moto.log)"
  setsid "$VENV_PY" "$INFRA_DIR/moto_server.py" -H "$host" -p "$MOTO_PORT" >"$SAM_LOCAL_DIR/moto.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$MOTO_PID_FILE"
  local deadline=$((SECONDS + 30))
  until endpoint_answers "$endpoint"; do
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$SAM_LOCAL_DIR/moto.log" >&2; die "moto_server exited during startup"; }
    ((SECONDS < deadline)) || die "moto_server did not answer at $endpoint within 30s"
    sleep 0.1
  done
}

# The SAM CLI, with one setting changed. SAM waits for the container's port, which Docker's
# userland proxy (no iptables here) opens at once, then gives the Runtime Interface Emulator
# three connection attempts within 0.35 s (samcli/local/docker/container.py,
# wait_for_http_response: @retry with the defaults of samcli/lib/utils/retry.py). The arm64
# RIE starts under qemu, measured here at 0.8 s on a loaded machine: SAM then answers "No
# response from invoke container" and times the function out. Seven attempts (backoff up
# to 6.4 s) let it start; nothing else differs from `sam`.
SAM_WITH_PATIENT_RIE_WAIT='
import sys
import requests
from samcli.lib.utils.retry import retry
from samcli.local.docker import container
container.Container.wait_for_http_response = retry(
    exc=requests.exceptions.RequestException,
    attempts=7,
    exc_raise=container.ContainerResponseException,
)(container.Container.wait_for_http_response.__wrapped__)
from samcli.cli.main import cli
sys.argv[0] = "sam"
sys.exit(cli())
'

# sam local invoke FUNCTION EVENT_FILE -> the function's answer on stdout.
invoke() {
  local fn="$1" event="$2" name out log_file started=$SECONDS
  name="$(basename "$event" .json)"
  out="$SAM_LOCAL_DIR/invoke-$name.out"
  log_file="$SAM_LOCAL_DIR/invoke-$name.log"
  # SAM asks STS for the account first: a closed port and one attempt make that fail fast.
  # The function's own AWS settings come from --env-vars (the stack's environment).
  AWS_ENDPOINT_URL_STS="http://127.0.0.1:9" AWS_MAX_ATTEMPTS=1 \
    "$SAM_VENV_DIR/bin/python" -c "$SAM_WITH_PATIENT_RIE_WAIT" local invoke "$fn" \
    --template "$SAM_LOCAL_DIR/build/$fn/template.yaml" \
    --skip-pull-image --env-vars "$SAM_LOCAL_DIR/env-vars.json" \
    --event "$event" >"$out" 2>"$log_file" || true
  # SAM prints the function's answer as the last line of stdout.
  if [[ ! -s "$out" ]]; then
    tail -n 40 "$log_file" >&2
    die "sam local invoke $fn -e ${event#"$FINFLOW_ROOT"/} answered nothing"
  fi
  log "sam local invoke $fn -e ${event#"$FINFLOW_ROOT"/}: $((SECONDS - started))s"
  cat "$out"
}

# check NAME PYTHON_EXPR_ON_`r` ANSWER_JSON: fails with the answer when the check does not hold.
check() {
  local what="$1" expr="$2" answer="$3"
  if ! "$VENV_PY" -c "
import json, sys, base64
r = json.loads(sys.argv[1].strip().splitlines()[-1])
sys.exit(0 if ($expr) else 1)
" "$answer"; then
    printf '%s\n' "$answer" >&2
    die "check failed: $what"
  fi
  log "ok: $what"
}

cmd_invoke() {
  ensure_sam_tools
  engine_answers || die "no engine answers at $DOCKER_HOST; run: $0 ensure"
  local fn
  for fn in "$HTTP_FUNCTION" "$CONSUMER_FUNCTION"; do
    [[ -f "$SAM_LOCAL_DIR/build/$fn/template.yaml" ]] || die "$fn is not built; run: $0 build"
  done
  local host endpoint state="$SAM_LOCAL_DIR/state"
  host="$(bridge_address)"
  [[ -n "$host" ]] || die "the engine's bridge network has no gateway address"
  endpoint="http://$host:$MOTO_PORT"
  start_emulator "$endpoint" "$host"

  # The stack, as for the local platform, with EndpointUrl set: every function's environment
  # in the manifest then carries AWS_ENDPOINT_URL (template.yaml declares it for this).
  log "provision template.yaml on $endpoint (log ${SAM_LOCAL_DIR#"$FINFLOW_ROOT"/}/provision.log)"
  if ! (export_aws_env "$endpoint" && "$VENV_PY" "$INFRA_DIR/provision.py" --state-dir "$state" \
    --param "EndpointUrl=$endpoint") >"$SAM_LOCAL_DIR/provision.log" 2>&1; then
    tail -n 30 "$SAM_LOCAL_DIR/provision.log" >&2
    die "provision failed"
  fi
  # --env-vars: each function's environment as the stack resolves it (real table names).
  "$VENV_PY" - "$state/stack.json" "$SAM_LOCAL_DIR/env-vars.json" <<'PY'
import json, sys
manifest = json.load(open(sys.argv[1]))
json.dump({lid: fn["environment"] for lid, fn in manifest["functions"].items()}, open(sys.argv[2], "w"), indent=2)
PY
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL

  local answer user_id
  # 1. HTTP API v2 event, base64 JSON body: a real registration, written to the emulator.
  answer="$(invoke "$HTTP_FUNCTION" "$EVENTS_DIR/$HTTP_FUNCTION.register.json")"
  check "$HTTP_FUNCTION register: 201 with the new user, kyc_status pending" \
    "r['statusCode'] == 201 and json.loads(r['body'])['email'] == 'sam.local@example.com' and json.loads(r['body'])['kyc_status'] == 'pending'" \
    "$answer"
  user_id="$("$VENV_PY" -c 'import json,sys; print(json.loads(json.loads(sys.argv[1].strip().splitlines()[-1])["body"])["id"])' "$answer")"
  # 2. The same route under /api/v1 with invalid fields: 422 problem+json naming them.
  answer="$(invoke "$HTTP_FUNCTION" "$EVENTS_DIR/$HTTP_FUNCTION.register-invalid.json")"
  check "$HTTP_FUNCTION register (invalid, /api/v1): 422 problem+json on email and password" \
    "r['statusCode'] == 422 and r['headers']['content-type'] == 'application/problem+json' and {e['field'] for e in json.loads(r['body'])['errors']} >= {'email', 'password'}" \
    "$answer"
  # 3. An SQS batch: that user's kyc.decision_recorded (verified) in its EventBridge envelope,
  #    and a poison message. Only the poison one may fail.
  "$VENV_PY" - "$EVENTS_DIR/$CONSUMER_FUNCTION.batch.json" "$user_id" >"$SAM_LOCAL_DIR/$CONSUMER_FUNCTION.batch.json" <<'PY'
import json, sys
batch = json.load(open(sys.argv[1]))
for record in batch["Records"]:
    try:
        body = json.loads(record["body"])
    except ValueError:
        continue
    body["detail"]["data"]["user_id"] = int(sys.argv[2])
    record["body"] = json.dumps(body, separators=(",", ":"))
print(json.dumps(batch, indent=2))
PY
  answer="$(invoke "$CONSUMER_FUNCTION" "$SAM_LOCAL_DIR/$CONSUMER_FUNCTION.batch.json")"
  check "$CONSUMER_FUNCTION: batchItemFailures names the poison message only" \
    "r == {'batchItemFailures': [{'itemIdentifier': 'sam-poison-1'}]}" "$answer"
  # 4. What the consumer wrote: the user is verified now, on the emulator.
  "$VENV_PY" - "$state/stack.json" "$endpoint" "$user_id" <<'PY' || die "check failed: the user's kyc_status on the emulator"
import json, sys, boto3
manifest = json.load(open(sys.argv[1]))
table = manifest["functions"]["AuthKycEventsFunction"]["environment"]["USERS_TABLE"]
ddb = boto3.client("dynamodb", endpoint_url=sys.argv[2], region_name="us-east-1")
item = ddb.get_item(TableName=table, Key={"pk": {"S": f"USER#{sys.argv[3]}"}, "sk": {"S": "PROFILE"}}).get("Item")
status = item and item["kyc_status"]["S"]
print(f"user {sys.argv[3]} in {table}: kyc_status {status}", file=sys.stderr)
sys.exit(0 if status == "verified" else 1)
PY
  log "ok: $CONSUMER_FUNCTION set user $user_id's kyc_status to verified on the emulator"
}

# ---------------------------------------------------------------------------- stop

cmd_stop() {
  local pid
  stop_emulator
  if engine_answers; then
    local ids
    ids="$(docker ps -aq)"
    [[ -z "$ids" ]] || docker rm -f $ids >/dev/null 2>&1 || true
  fi
  if [[ -f "$DOCKERD_PID_FILE" ]]; then
    pid="$(cat "$DOCKERD_PID_FILE")"
    if kill -0 "$pid" 2>/dev/null && grep -q dockerd "/proc/$pid/cmdline" 2>/dev/null; then
      # dockerd stops its containerd and shims with it; allow it the time to.
      kill -TERM "$pid" 2>/dev/null || true
      local i
      for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      stop_pid "$pid" dockerd
      log "stopped dockerd (pid $pid)"
    fi
    rm -f "$DOCKERD_PID_FILE"
  fi
  if [[ -f "$SAM_LOCAL_DIR/bridge-created" ]] && ! pgrep -x dockerd >/dev/null; then
    ip link delete docker0 2>/dev/null || true
    rm -f "$SAM_LOCAL_DIR/bridge-created"
  fi
  if [[ -f "$SAM_LOCAL_DIR/binfmt-registered" ]]; then
    echo -1 >/proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null || true
    rm -f "$SAM_LOCAL_DIR/binfmt-registered"
  fi
  if [[ -f "$SAM_LOCAL_DIR/binfmt-mounted" ]]; then
    umount /proc/sys/fs/binfmt_misc 2>/dev/null || true
    rm -f "$SAM_LOCAL_DIR/binfmt-mounted"
  fi
}

cmd_test() {
  local started=$SECONDS rc=0
  trap 'cmd_stop' EXIT
  # In a subshell: `cannot` exits it with 75, and the trap still cleans up after it.
  (cmd_ensure) || rc=$?
  ((rc == 0)) || exit "$rc"
  log "engine and base image ready after $((SECONDS - started))s"
  cmd_build
  cmd_invoke
  log "sam build + sam local invoke proven in $((SECONDS - started))s"
}

case "${1:-}" in
  ensure) cmd_ensure ;;
  build) cmd_build ;;
  invoke) cmd_invoke ;;
  stop) cmd_stop ;;
  test) cmd_test ;;
  *)
    echo "usage: $0 ensure|build|invoke|stop|test" >&2
    exit 2
    ;;
esac
