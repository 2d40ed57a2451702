#!/usr/bin/env bash
# Headless Chromium and chromedriver for the browser tests (tests/dashboard_page.rs).
#
#   infra/chromium.sh ensure   # install Debian's chromium + chromium-driver when missing;
#                              # prints the two paths (idempotent)
#   infra/chromium.sh paths    # print the paths, fail when either is missing
#
# Debian's packages, never a browser downloaded by npx playwright or puppeteer: those fetch
# from the internet at run time and fail on a closed network.
set -euo pipefail
LOG_TAG="chromium"
# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CHROMIUM="/usr/bin/chromium"
CHROMEDRIVER="/usr/bin/chromedriver"

present() { [[ -x "$CHROMIUM" && -x "$CHROMEDRIVER" ]]; }

print_paths() {
  echo "chromium=$CHROMIUM"
  echo "chromedriver=$CHROMEDRIVER"
}

cmd_ensure() {
  if ! present; then
    (
      # Serialise concurrent installs (two test runs started together): apt holds its own
      # lock, but the second run would fail on it instead of waiting.
      if command -v flock >/dev/null; then
        exec 9>"$STATE_DIR/chromium-install.lock"
        flock 9
      fi
      present && exit 0
      [[ "$(id -u)" == 0 ]] || die "$CHROMIUM or $CHROMEDRIVER is missing; as root: apt-get install chromium chromium-driver"
      command -v apt-get >/dev/null || die "$CHROMIUM or $CHROMEDRIVER is missing and there is no apt-get to install them"
      log "installing chromium and chromium-driver with apt-get"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
    ) || exit 1
    present || die "apt-get ran, but $CHROMIUM or $CHROMEDRIVER is still missing"
  fi
  print_paths
}

cmd_paths() {
  present || die "$CHROMIUM or $CHROMEDRIVER is missing; run infra/chromium.sh ensure"
  print_paths
}

case "${1:-}" in
  ensure) cmd_ensure ;;
  paths) cmd_paths ;;
  *) die "usage: infra/chromium.sh ensure|paths" ;;
esac
