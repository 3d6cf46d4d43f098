# Shared helpers for the e2e, demo and bench scripts: build the real backends
# once (cached in bin/), start processes in the background, remember their ids
# and stop exactly those on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
PIDS=()

stop_all() {
  local pid
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}

# start NAME LOGFILE CMD...: run CMD in the background, logging to LOGFILE.
start() {
  local name=$1 log=$2; shift 2
  "$@" >"$log" 2>&1 &
  PIDS+=($!)
  echo "started $name (pid $!), log $log"
}

# wait_http URL SECONDS: wait until URL answers 2xx.
wait_http() {
  local url=$1 secs=${2:-60} i
  for ((i = 0; i < secs * 4; i++)); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
    sleep 0.25
  done
  echo "timed out waiting for $url" >&2
  return 1
}

ensure_jaeger() {
  if [ ! -x "$ROOT/bin/jaeger" ]; then
    echo "building Jaeger v2 (first run on this machine only, a few minutes)"
    (cd "$ROOT/tools/jaeger" && go build -o ../../bin/jaeger github.com/jaegertracing/jaeger/cmd/jaeger)
  fi
}

ensure_prometheus() {
  if ! command -v prometheus >/dev/null 2>&1; then
    echo "installing Prometheus from Debian's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  fi
}

ensure_sim() {
  (cd "$ROOT" && go build -o bin/taskersim ./cmd/taskersim)
}
