# shellcheck shell=bash
# Shared helpers for infra/emulator.sh, infra/up and infra/test. Source it; don't run it.

FINFLOW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INFRA_DIR="$FINFLOW_ROOT/infra"
# FINFLOW_STATE_DIR lets infra/sandbox give each private platform its own logs and manifest.
STATE_DIR="${FINFLOW_STATE_DIR:-$INFRA_DIR/.state}"
VENV_DIR="$INFRA_DIR/.venv"
VENV_PY="$VENV_DIR/bin/python"
REQUIREMENTS="$INFRA_DIR/requirements.txt"
DEFAULT_ENDPOINT="http://127.0.0.1:4566"
# The local cloud infra/emulator.sh starts unless FINFLOW_EMULATOR names another (README, "The
# local cloud": chosen by infra/bench-emulators).
DEFAULT_EMULATOR=ministack
# Where cargo puts the binaries (the runner finds the functions' bootstraps next to itself).
TARGET_DIR="${CARGO_TARGET_DIR:-$FINFLOW_ROOT/target}"
RUNNER_BIN="$TARGET_DIR/debug/finflow-local"

mkdir -p "$STATE_DIR"

log() { printf '\033[1;34m[%s]\033[0m %s\n' "${LOG_TAG:-finflow}" "$*" >&2; }
warn() { printf '\033[1;33m[%s] warning:\033[0m %s\n' "${LOG_TAG:-finflow}" "$*" >&2; }
die() { printf '\033[1;31m[%s] error:\033[0m %s\n' "${LOG_TAG:-finflow}" "$*" >&2; exit 1; }

# Plain output when not on a terminal (CI logs).
if [[ ! -t 2 ]]; then
  log() { printf '[%s] %s\n' "${LOG_TAG:-finflow}" "$*" >&2; }
  warn() { printf '[%s] warning: %s\n' "${LOG_TAG:-finflow}" "$*" >&2; }
  die() { printf '[%s] error: %s\n' "${LOG_TAG:-finflow}" "$*" >&2; exit 1; }
fi

# (Re)create infra/.venv with the pinned requirements. Idempotent: skipped when the
# stamp file holds the hash of requirements.txt (+ the Python version).
ensure_venv() {
  ensure_venv_at "$VENV_DIR" "$REQUIREMENTS"
}

# ensure_venv_at DIR REQUIREMENTS [PIP_ARGS...]: a venv at DIR with exactly the pinned
# REQUIREMENTS installed (the tooling's infra/.venv, and each emulator's own venv under
# infra/.emulators/, since their pins conflict). Idempotent: skipped when DIR's stamp file
# holds the hash of REQUIREMENTS, the extra pip arguments and the Python version.
ensure_venv_at() {
  local dir="$1" requirements="$2" want have=""
  shift 2
  local py="$dir/bin/python"
  want="$( { cat "$requirements"; (($#)) && echo "$*"; python3 -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"
  [[ -f "$dir/.requirements.sha256" ]] && have="$(cat "$dir/.requirements.sha256")"
  if [[ -x "$py" && "$have" == "$want" ]]; then
    return 0
  fi
  (
    # Serialise concurrent runs (e.g. infra/test and infra/up started together).
    if command -v flock >/dev/null; then
      exec 9>"$STATE_DIR/venv-$(basename "$dir").lock"
      flock 9
    fi
    [[ -f "$dir/.requirements.sha256" ]] && have="$(cat "$dir/.requirements.sha256")"
    if [[ -x "$py" && "$have" == "$want" ]]; then
      exit 0
    fi
    command -v python3 >/dev/null || die "python3 is required (3.9+)"
    if [[ ! -x "$py" ]] || ! "$py" -m pip --version >/dev/null 2>&1; then
      log "creating Python venv at ${dir#"$FINFLOW_ROOT"/}"
      rm -rf "$dir"
      mkdir -p "$(dirname "$dir")"
      if ! python3 -m venv "$dir"; then
        # Debian/Ubuntu ship venv/ensurepip separately.
        if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
          log "installing python3-venv with apt-get"
          apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
          rm -rf "$dir"
          python3 -m venv "$dir"
        else
          die "python3 -m venv failed; install python3-venv"
        fi
      fi
    fi
    log "installing ${requirements#"$FINFLOW_ROOT"/} into ${dir#"$FINFLOW_ROOT"/}"
    # (set -e does not apply in a subshell that is the left side of ||: check explicitly.)
    "$py" -m pip install --disable-pip-version-check --no-input -q "$@" -r "$requirements" || exit 1
    echo "$want" >"$dir/.requirements.sha256"
  ) || exit 1
}

# Installs Debian packages when running as root with apt-get (CI machines are new); fails
# otherwise, so the caller can say what to install.
apt_install() {
  [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null || return 1
  log "installing $* with apt-get"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

SAM_VENV_DIR="$INFRA_DIR/.sam-venv"
SAM_REQUIREMENTS="$INFRA_DIR/requirements-sam.txt"
SAM_RUST_TARGET="aarch64-unknown-linux-gnu"

# The deploy tooling: the pinned SAM CLI, cargo-lambda and zig in infra/.sam-venv, and Rust's
# standard library for the functions' architecture (arm64). Puts the venv's bin first on PATH
# (cargo finds `cargo-lambda` there, cargo-lambda finds zig through the venv's python).
ensure_sam_tools() {
  ensure_venv_at "$SAM_VENV_DIR" "$SAM_REQUIREMENTS"
  command -v cargo >/dev/null || die "cargo is required (install rustup)"
  if command -v rustup >/dev/null && ! rustup target list --installed 2>/dev/null | grep -qx "$SAM_RUST_TARGET"; then
    log "adding rustup target $SAM_RUST_TARGET"
    rustup target add "$SAM_RUST_TARGET"
  fi
  export PATH="$SAM_VENV_DIR/bin:$PATH"
  # SAM's rust-cargolambda build method is a beta feature (samconfig.toml enables it too).
  export SAM_CLI_BETA_RUST_CARGO_LAMBDA=1
  export SAM_CLI_TELEMETRY=0
}

# HTTP status of a GET (000 when nothing answers). curl if present, else Python.
http_status() {
  local url="$1"
  if command -v curl >/dev/null; then
    curl -s -o /dev/null -m 2 -w '%{http_code}' "$url" 2>/dev/null || true
  else
    python3 - "$url" <<'PY' 2>/dev/null || echo 000
import sys, urllib.request, urllib.error
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=2).status, end="")
except urllib.error.HTTPError as e:
    print(e.code, end="")
except Exception:
    print("000", end="")
PY
  fi
}

# True when something speaks HTTP at the endpoint (any status code).
endpoint_answers() {
  local code
  code="$(http_status "$1")"
  [[ -n "$code" && "$code" != "000" ]]
}

# Environment every AWS client in the local platform uses.
export_aws_env() {
  export AWS_ENDPOINT_URL="${1:-${AWS_ENDPOINT_URL:-$DEFAULT_ENDPOINT}}"
  export AWS_REGION=us-east-1
  export AWS_DEFAULT_REGION=us-east-1
  export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
  export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
  # Never let a developer's real profile/SSO config leak into local runs.
  unset AWS_PROFILE AWS_SESSION_TOKEN
}

# Build the local runner and every function's bootstrap (debug: each runs as its own process
# under the Runtime Interface Emulator, see infra/local), and install the pinned SAM CLI whose
# wheel ships that emulator (infra/.sam-venv, infra/requirements-sam.txt).
# build_functions [release]: the runner and every function's bootstrap, in the debug profile
# or optimised as Lambda would run them (the `finflow` tool stays in debug: it is not timed).
build_functions() {
  ensure_venv_at "$SAM_VENV_DIR" "$SAM_REQUIREMENTS"
  if [[ "${1:-debug}" == release ]]; then
    cargo build --release --workspace --bins --exclude finflow-tools
  else
    cargo build --workspace --bins
  fi
}

# Make sure rustfmt and clippy are installed (fresh CI machines).
ensure_rust_components() {
  command -v cargo >/dev/null || die "cargo is required (install rustup)"
  if command -v rustup >/dev/null; then
    local installed missing=()
    installed="$(rustup component list --installed 2>/dev/null || true)"
    grep -q '^rustfmt' <<<"$installed" || missing+=(rustfmt)
    grep -q '^clippy' <<<"$installed" || missing+=(clippy)
    if ((${#missing[@]})); then
      log "adding rustup components: ${missing[*]}"
      rustup component add "${missing[@]}"
    fi
  fi
}

# Stop a process we started: the given signal (default TERM), then TERM, then KILL,
# each after a bounded wait (5 s).
stop_pid() {
  local pid="$1" name="$2" first="${3:-TERM}" sig i
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
  log "stopping $name (pid $pid)"
  for sig in "$first" TERM KILL; do
    kill -s "$sig" "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || return 0
      sleep 0.1
    done
    warn "$name (pid $pid) still running 5s after SIG$sig"
  done
}
