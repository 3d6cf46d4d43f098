# Shared helpers of the e2e, demo and bench scripts (sourced, not run).
#
# - ensure_jaeger / ensure_prometheus / ensure_sim: get the real backends and
#   the simulator; builds are cached in bin/, so only a fresh machine pays.
# - start NAME LOG CMD...: run CMD in the background and remember its pid in
#   PIDS; stop_all (meant for `trap stop_all EXIT`) stops exactly those pids,
#   TERM first, KILL after STOP_TIMEOUT seconds. Nothing else is ever killed.
# - wait_http URL SECS [PID]: wait until URL answers 2xx; with PID, give up
#   as soon as that process has exited (and show its log).
# - forget_pid PID: drop PID from PIDS (after stopping it with stop_pid).
# - require_free_port PORT...: refuse to start when something (a run left
#   over, another engineer's stack) already listens there, instead of testing
#   against a stranger.
# - start_stack DIR: Jaeger, Prometheus and the collector of `make e2e` and
#   `make demo` (config/jaeger-e2e.yaml, config/e2e.yaml), on loopback.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
PIDS=()
declare -A PID_LOG=()
STOP_TIMEOUT=${STOP_TIMEOUT:-15}

# alive PID: whether PID still runs (a zombie waiting to be reaped does not).
alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# stop_pid PID: TERM, wait up to STOP_TIMEOUT s, then KILL; reaps the child.
stop_pid() {
  local pid=$1 i stopped=no
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
    if ! alive "$pid"; then stopped=yes; break; fi
    sleep 0.1
  done
  if [ "$stopped" = no ]; then
    echo "pid $pid did not stop within ${STOP_TIMEOUT}s: KILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# stop_all: stop every process start() started, newest first (the collector
# before the backends it sends to, so its final flush still finds them).
stop_all() {
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    stop_pid "${PIDS[i]}"
  done
  PIDS=()
}

# start NAME LOGFILE CMD...: run CMD in the background, logging to LOGFILE.
# CMD must exec the real program (a binary, or `env ... binary`), so that the
# remembered pid is the program's own.
start() {
  local name=$1 log=$2; shift 2
  "$@" >"$log" 2>&1 &
  PIDS+=($!)
  PID_LOG[$!]=$log
  echo "started $name (pid $!), log $log"
}

# forget_pid PID: remove exactly PID from PIDS (stop_all then skips it).
forget_pid() {
  local kept=() p
  for p in "${PIDS[@]}"; do
    [ "$p" = "$1" ] || kept+=("$p")
  done
  PIDS=("${kept[@]}")
}

# last_pid: the pid of the latest start().
last_pid() { echo "${PIDS[-1]}"; }

# wait_http URL SECONDS [PID]: wait until URL answers 2xx.
wait_http() {
  local url=$1 secs=${2:-60} pid=${3:-} i
  for ((i = 0; i < secs * 4; i++)); do
    if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then return 0; fi
    if [ -n "$pid" ] && ! alive "$pid"; then
      echo "process $pid exited before $url answered; its log:" >&2
      tail -n 30 "${PID_LOG[$pid]:-/dev/null}" >&2 || true
      return 1
    fi
    sleep 0.25
  done
  echo "timed out after ${secs}s waiting for $url" >&2
  [ -n "$pid" ] && tail -n 30 "${PID_LOG[$pid]:-/dev/null}" >&2 || true
  return 1
}

# require_free_port PORT...: fail when a port on 127.0.0.1 already accepts
# connections.
require_free_port() {
  local port
  for port in "$@"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "port 127.0.0.1:$port is already in use (a previous run still up, or another stack):" >&2
      echo "stop it first; this script only stops the processes it started itself" >&2
      return 1
    fi
  done
}

# ensure_jaeger: bin/jaeger, built once from the version pinned in
# tools/jaeger (about 3 minutes cold); rebuilt when that pin changes.
ensure_jaeger() {
  if [ ! -x "$ROOT/bin/jaeger" ] || [ "$ROOT/tools/jaeger/go.mod" -nt "$ROOT/bin/jaeger" ]; then
    echo "building Jaeger v2 from tools/jaeger (first run on this machine only, a few minutes)"
    mkdir -p "$ROOT/bin"
    (cd "$ROOT/tools/jaeger" && go build -o "$ROOT/bin/jaeger.tmp" github.com/jaegertracing/jaeger/cmd/jaeger)
    mv "$ROOT/bin/jaeger.tmp" "$ROOT/bin/jaeger"
  fi
}

# ensure_prometheus: Debian's prometheus package (2.42, with promtool), installed once.
ensure_prometheus() {
  command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 && return 0
  echo "installing Prometheus from Debian's packages"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "prometheus is missing and this is not root: apt-get install prometheus" >&2; return 1; }
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  # The package's service is not wanted: the scripts start their own.
  command -v prometheus >/dev/null 2>&1
}

# ensure_sim: bin/taskersim (go build is cached: seconds when nothing changed).
ensure_sim() {
  (cd "$ROOT" && go build -o bin/taskersim ./cmd/taskersim)
}

# write_prometheus_config FILE: scrape the collector's exporter (job
# otelcol-tasker, 127.0.0.1:18889, keeping the exporter's job label, the
# sending service, as the compose stack does) and its own telemetry (job
# otelcol, 127.0.0.1:18888) every second, and evaluate the shipped rules
# (docker/prometheus/rules, with their production `for:`) every second.
write_prometheus_config() {
  cat >"$1" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $ROOT/docker/prometheus/rules/*.yml
scrape_configs:
  - job_name: otelcol-tasker
    honor_labels: true
    static_configs:
      - targets: ["127.0.0.1:18889"]
  - job_name: otelcol
    static_configs:
      - targets: ["127.0.0.1:18888"]
YAML
}

# start_stack DIR: Jaeger (config/jaeger-e2e.yaml), Prometheus (state in
# DIR/prometheus) and the collector (config/e2e.yaml, run in DIR so its files
# land in DIR/data), all on loopback; returns once all three answer, with
# their pids in JAEGER_PID, PROMETHEUS_PID and COLLECTOR_PID.
JAEGER_PID='' PROMETHEUS_PID='' COLLECTOR_PID=''
start_stack() {
  local dir=$1
  require_free_port 14317 14318 16686 16685 19090 18088 18133 18888 18889
  mkdir -p "$dir/data" "$dir/prometheus"
  write_prometheus_config "$dir/prometheus.yml"
  start jaeger "$dir/jaeger.log" "$ROOT/bin/jaeger" --config "$ROOT/config/jaeger-e2e.yaml"
  JAEGER_PID=$(last_pid)
  start prometheus "$dir/prometheus.log" prometheus --config.file="$dir/prometheus.yml" \
    --storage.tsdb.path="$dir/prometheus" --web.listen-address=127.0.0.1:19090 \
    --enable-feature=exemplar-storage
  PROMETHEUS_PID=$(last_pid)
  wait_http http://127.0.0.1:16686/api/services 120 "$JAEGER_PID"
  wait_http http://127.0.0.1:19090/-/ready 120 "$PROMETHEUS_PID"
  # The collector last, once its trace backend is up.
  start collector "$dir/collector.log" env -C "$dir" "$ROOT/bin/otelcol-tasker" --config "$ROOT/config/e2e.yaml"
  COLLECTOR_PID=$(last_pid)
  wait_http http://127.0.0.1:18133/ 120 "$COLLECTOR_PID"
}

# The bench pipelines (scripts/bench.sh, scripts/bench-compare.sh):
# bench_config TREE ID is pipeline ID's configuration in the tree TREE,
# bench_url ID the URL its load goes to, bench_format ID its body format.
bench_config() {
  echo "$1/bench/configs/$(case $2 in A) echo a-product ;; AD) echo a-durable ;; B) echo b-floor ;; C) echo c-contrib ;; D) echo d-router-metrics ;;
    S) echo s-sidecar ;; R) echo r-router ;; F) echo f-forward ;; N) echo n-normalize ;; *) echo "unknown pipeline $2" >&2; return 1 ;; esac).yaml"
}
bench_url() { case $1 in A | AD | S) echo "http://$BENCH_TASKER_ENDPOINT/v1/events" ;; *) echo "http://$BENCH_OTLP_ENDPOINT/v1/logs" ;; esac; }
bench_format() { case $1 in A | AD | S) echo ndjson ;; *) echo otlp-json ;; esac; }
