#!/usr/bin/env bash
# Side-by-side pipeline benchmarks of the otelcol-tasker binary; rewrites
# docs/BENCHMARKS.md and docs/bench-throughput.png. See --help.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

usage() {
  cat <<'EOF'
usage: scripts/bench.sh [--micro | --report | --quick] [--help]

  (no flag)  pipelines A AD B C D S R F N side by side, the 100,000-open-tasks memory
             test (in process and against the binary), then the report
  --micro    the Go microbenchmarks of every component only, then the report
             (pipeline results of the last full run are kept)
  --report   rewrite docs/BENCHMARKS.md from the results already measured
  --quick    the full run with short windows, to check the harness (~1 min)

Environment (defaults in brackets):
  BENCH_BIN [bin/otelcol-tasker]   BENCH_OUT [.e2e/bench]  scratch folder
  BENCH_PIPELINES [A AD B C D S R F N] BENCH_ROUNDS [2] rounds of every pipeline
  BENCH_WARMUP [5s] BENCH_DURATION [20s] BENCH_LATENCY_DURATION [15s]
  BENCH_BATCH [1000] events per request   BENCH_CONNS [8] requests in flight
  BENCH_OPEN_TASKS [100000]
  BENCH_TASKER_ENDPOINT [127.0.0.1:28088] BENCH_OTLP_ENDPOINT [127.0.0.1:28318]
  BENCH_HEALTH_ENDPOINT [127.0.0.1:28133] BENCH_METRICS_PORT [28888]
  BENCH_SINK_ENDPOINT_1..3 [127.0.0.1:28417..28419] BENCH_SINK_HEALTH_ENDPOINT [127.0.0.1:28134]
EOF
}

MODE=full
case "${1:-}" in
  "") ;;
  --micro) MODE=micro ;;
  --report) MODE=report ;;
  --quick) MODE=quick ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac

BIN=${BENCH_BIN:-$ROOT/bin/otelcol-tasker}
OUT=${BENCH_OUT:-$ROOT/.e2e/bench}
PIPELINES=${BENCH_PIPELINES:-A AD B C D S R F N}
ROUNDS=${BENCH_ROUNDS:-2}
WARMUP=${BENCH_WARMUP:-5s}
DURATION=${BENCH_DURATION:-20s}
LATENCY_DURATION=${BENCH_LATENCY_DURATION:-15s}
BATCH=${BENCH_BATCH:-1000}
CONNS=${BENCH_CONNS:-8}
OPEN_TASKS=${BENCH_OPEN_TASKS:-100000}
if [ "$MODE" = quick ]; then
  WARMUP=1s DURATION=4s LATENCY_DURATION=3s ROUNDS=1
fi
export BENCH_TASKER_ENDPOINT=${BENCH_TASKER_ENDPOINT:-127.0.0.1:28088}
export BENCH_OTLP_ENDPOINT=${BENCH_OTLP_ENDPOINT:-127.0.0.1:28318}
export BENCH_HEALTH_ENDPOINT=${BENCH_HEALTH_ENDPOINT:-127.0.0.1:28133}
export BENCH_METRICS_PORT=${BENCH_METRICS_PORT:-28888}
export BENCH_SINK_ENDPOINT_1=${BENCH_SINK_ENDPOINT_1:-127.0.0.1:28417}
export BENCH_SINK_ENDPOINT_2=${BENCH_SINK_ENDPOINT_2:-127.0.0.1:28418}
export BENCH_SINK_ENDPOINT_3=${BENCH_SINK_ENDPOINT_3:-127.0.0.1:28419}
export BENCH_SINK_HEALTH_ENDPOINT=${BENCH_SINK_HEALTH_ENDPOINT:-127.0.0.1:28134}
DOC=$ROOT/docs/BENCHMARKS.md
PLOT=$ROOT/docs/bench-throughput.png
LOADGEN=$OUT/loadgen
mkdir -p "$OUT" "$ROOT/docs"
trap stop_all EXIT

SECONDS=0
log() { printf '[bench %3ds] %s\n' "$SECONDS" "$*"; }

# Pin the collector to core 1 and the load generator to core 0 when possible.
# (Command prefixes, not a shell function: a function run in the background
# would get its own pid, and the collector's pid is what /proc is read for.)
PINNED=no PIN0=() PIN1=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
  PINNED=yes PIN0=(taskset -c 0) PIN1=(taskset -c 1)
fi

report() {
  log "writing $(realpath --relative-to="$ROOT" "$DOC")"
  go run ./bench/report -results "$OUT" -out "$DOC" -plot "$PLOT"
}

ensure_gnuplot() {
  command -v gnuplot >/dev/null 2>&1 && return 0
  if [ "$(id -u)" -ne 0 ]; then log "gnuplot missing and not root: no plot"; return 0; fi
  log "installing gnuplot-nox from Debian's packages (for the plot)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null 2>&1; } ||
    log "could not install gnuplot-nox: no plot"
}

run_micro() {
  local cmd="go test -run='^\$' -bench=. -benchmem -cpu=1 -benchtime=1s ./receiver/... ./processor/... ./exporter/... ./internal/...; GOMAXPROCS=1 go test -run='^\$' -bench=PipelineA -benchmem -cpu=1 -benchtime=1000x ./bench/"
  log "microbenchmarks: $cmd"
  {
    echo "DATE=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "COMMAND=$cmd"
  } >"$OUT/micro-env.txt"
  # A package that does not build is reported, not fatal.
  go test -run='^$' -bench=. -benchmem -cpu=1 -benchtime=1s -timeout=10m \
    ./receiver/... ./processor/... ./exporter/... ./internal/... 2>&1 | tee "$OUT/micro.txt" | grep -E '^(Benchmark|ok|FAIL|---)' || true
  # Pipeline A in process: 1,000 requests (a million events), enough for the
  # router to reach its steady state at max_pending.
  GOMAXPROCS=1 go test -run='^$' -bench=PipelineA -benchmem -cpu=1 -benchtime=1000x -timeout=10m \
    ./bench/ 2>&1 | tee -a "$OUT/micro.txt" | grep -E '^(Benchmark|ok|FAIL|---)' || true
}

case "$MODE" in
  report) report; exit 0 ;;
  micro) run_micro; report; exit 0 ;;
esac

# ---- full (or quick) run ----------------------------------------------------

if [ ! -x "$BIN" ]; then
  echo "no collector binary at $BIN: run 'make build' (or set BENCH_BIN)" >&2
  exit 1
fi
if curl -fsS -o /dev/null "http://$BENCH_HEALTH_ENDPOINT/" 2>/dev/null; then
  echo "something already answers on $BENCH_HEALTH_ENDPOINT: another benchmark running?" >&2
  exit 1
fi
rm -f "$OUT"/[A-Z]*-r[0-9]*.json "$OUT"/[A-Z]*-r[0-9]*.csv "$OUT"/[A-Z]*-r[0-9]*-telemetry.txt "$OUT"/skipped-*.txt \
  "$OUT"/open.json "$OUT"/memtest.json "$OUT"/memtest-error.txt "$OUT"/*-plot.dat

# Every pipeline must run the same binary, even if `make build` replaces it
# during the run: measure a copy.
BIN_NAME=$(case "$(realpath "$BIN")" in "$ROOT"/*) realpath --relative-to="$ROOT" "$BIN" ;; *) realpath "$BIN" ;; esac)
BIN_BUILT=$(date -u -r "$BIN" '+%Y-%m-%d %H:%M:%S UTC')
cp "$BIN" "$OUT/otelcol-tasker.bench"
BIN=$OUT/otelcol-tasker.bench

log "building the load generator"
go build -o "$LOADGEN" ./bench/loadgen
ensure_gnuplot

COMPONENTS=$("$BIN" components 2>/dev/null || true)
has() { grep -qE "^ *- name: $1\$" <<<"$COMPONENTS"; }
module_version() { grep -m1 -oE "$1[^ ]* v[0-9.]+" "$ROOT/builder-config.yaml" | awk '{print $NF}'; }

START_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
CMDLINE="scripts/bench.sh${1:+ $1}"
[ -n "${MAKELEVEL:-}" ] && [ "$MODE" = full ] && CMDLINE="make bench"

# Pipeline ids → the components they need (config, URL and body format:
# bench_config, bench_url and bench_format in lib.sh).
needs_of() {
  case $1 in
    A) echo "taskerevents eventrouter nop" ;;
    AD) echo "taskerevents eventrouter nop file_storage" ;;
    B) echo "otlp nop" ;;
    C) echo "otlp transform signal_to_metrics nop" ;;
    D) echo "otlp eventnormalize eventrouter nop" ;;
    S) echo "taskerevents eventnormalize load_balancing otlp nop" ;;
    R) echo "otlp eventnormalize eventrouter nop" ;;
    F) echo "otlp otlp_grpc nop" ;;
    N) echo "otlp eventnormalize nop" ;;
  esac
}
# S and F forward to another process, the sink (not measured).
needs_sink() { case $1 in S | F) return 0 ;; *) return 1 ;; esac; }

SPID=
start_sink() {
  local i
  start "sink" "$OUT/sink.log" "${PIN0[@]}" env GOMAXPROCS=1 "$BIN" --config "$ROOT/bench/configs/sink.yaml"
  SPID=${PIDS[-1]}
  for ((i = 0; i < 120; i++)); do
    if ! kill -0 "$SPID" 2>/dev/null; then
      echo "the sink exited at startup; its log:" >&2
      tail -20 "$OUT/sink.log" >&2
      return 1
    fi
    if curl -fsS -o /dev/null "http://$BENCH_SINK_HEALTH_ENDPOINT/" 2>/dev/null; then return 0; fi
    sleep 0.25
  done
  echo "the sink not ready after 30s" >&2
  return 1
}

stop_sink() {
  [ -n "$SPID" ] || return 0
  kill "$SPID" 2>/dev/null || true
  wait "$SPID" 2>/dev/null || true
  forget_pid "$SPID"
  SPID=
}

CPID=
start_collector() { # start_collector ID CONFIG
  local id=$1 cfg=$2 i
  start "collector $id" "$OUT/$id-collector.log" "${PIN1[@]}" env GOMAXPROCS=1 "$BIN" --config "$cfg"
  CPID=${PIDS[-1]}
  for ((i = 0; i < 120; i++)); do
    if ! kill -0 "$CPID" 2>/dev/null; then
      echo "collector $id exited at startup; its log:" >&2
      tail -20 "$OUT/$id-collector.log" >&2
      return 1
    fi
    if curl -fsS -o /dev/null "http://$BENCH_HEALTH_ENDPOINT/" 2>/dev/null; then return 0; fi
    sleep 0.25
  done
  echo "collector $id not ready after 30s" >&2
  return 1
}

stop_collector() {
  [ -n "$CPID" ] || return 0
  kill "$CPID" 2>/dev/null || true
  local i
  for ((i = 0; i < 40; i++)); do
    kill -0 "$CPID" 2>/dev/null || break
    sleep 0.25
  done
  kill -9 "$CPID" 2>/dev/null || true
  wait "$CPID" 2>/dev/null || true
  forget_pid "$CPID"
  CPID=
}

skip() { # skip ID REASON
  log "skipping $1: $2"
  echo "$2" >"$OUT/skipped-$1.txt"
}

runnable() { # runnable ID: the binary has what the pipeline needs
  local c missing=()
  for c in $(needs_of "$1"); do has "$c" || missing+=("$c"); done
  if [ ${#missing[@]} -gt 0 ]; then
    skip "$1" "the binary has no ${missing[*]}"
    return 1
  fi
}

bench_pipeline() { # bench_pipeline ID ROUND
  local id=$1 round=$2 res="$OUT/$1-r$2"
  log "pipeline $id, round $round: $(bench_config "$ROOT" "$id" | xargs basename)"
  # A-durable's router storage: empty at every start, in the scratch folder.
  export BENCH_STORAGE_DIR="$OUT/storage-$id"
  rm -rf "$BENCH_STORAGE_DIR"
  if needs_sink "$id"; then
    start_sink || { stop_sink; skip "$id" "the sink did not start (see sink.log)"; return 0; }
  fi
  start_collector "$id" "$(bench_config "$ROOT" "$id")" || { stop_collector; skip "$id" "collector did not start (see $id-collector.log)"; return 0; }
  local rc=0
  "${PIN0[@]}" "$LOADGEN" -mode run -label "$id" -url "$(bench_url "$id")" -format "$(bench_format "$id")" \
    -batch "$BATCH" -conns "$CONNS" -warmup "$WARMUP" -duration "$DURATION" \
    -latency-duration "$LATENCY_DURATION" -pid "$CPID" -clk-tck "$(getconf CLK_TCK)" \
    -out "$res.json" -samples "$res.csv" || rc=$?
  curl -fsS "http://127.0.0.1:$BENCH_METRICS_PORT/metrics" >"$res-telemetry.txt" 2>/dev/null || true
  stop_collector
  stop_sink
  if [ $rc -ne 0 ]; then
    rm -f "$res.json"
    skip "$id" "the load generator failed (exit $rc): nothing accepted, see $id-collector.log"
  fi
}

declare -A RUNNABLE
for id in $PIPELINES; do
  if runnable "$id"; then RUNNABLE[$id]=1; fi
done
for ((round = 1; round <= ROUNDS; round++)); do
  for id in $PIPELINES; do
    if [ -n "${RUNNABLE[$id]:-}" ]; then bench_pipeline "$id" "$round"; fi
  done
done

# 100,000 open tasks against the binary, with pipeline A's configuration.
if [ -n "${RUNNABLE[A]:-}" ]; then
  log "open tasks: $OPEN_TASKS task.start_requested events against the binary"
  if start_collector open "$(bench_config "$ROOT" A)"; then
    "${PIN0[@]}" "$LOADGEN" -mode open -label open -url "$(bench_url A)" -format ndjson -batch "$BATCH" \
      -conns 2 -tasks "$OPEN_TASKS" -duration 60s -hold 5s -pid "$CPID" -clk-tck "$(getconf CLK_TCK)" \
      -out "$OUT/open.json" -samples "$OUT/open.csv" || skip open "the load generator failed"
  else
    skip open "collector did not start"
  fi
  stop_collector
else
  skip open "pipeline A cannot run with this binary"
fi

# The same in process: bytes per pending span of the eventrouter connector.
log "open tasks in process: go test ./bench/ -run TestOpenTasksMemory"
if ! BENCH_MEMTEST_OUT="$OUT/memtest.json" BENCH_OPEN_TASKS="$OPEN_TASKS" \
  go test -count=1 -run '^TestOpenTasksMemory$' -v ./bench/ >"$OUT/memtest.log" 2>&1; then
  grep -vE '^(=== RUN|PASS|ok )' "$OUT/memtest.log" | head -5 >"$OUT/memtest-error.txt"
  log "memory test failed: $(head -1 "$OUT/memtest-error.txt")"
fi
grep -E 'open tasks:' "$OUT/memtest.log" | sed 's/^ *//' || true

{
  echo "DATE=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "NPROC=$(nproc)"
  echo "CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "MEM_TOTAL=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "KERNEL=$(uname -r)"
  echo "LOAD_START=$START_LOAD"
  echo "LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "GO_VERSION=$(go env GOVERSION)"
  echo "BINARY=$BIN_NAME"
  echo "COLLECTOR_VERSION=$("$BIN" --version 2>/dev/null | head -1)"
  echo "BINARY_BUILT=$BIN_BUILT"
  echo "CORE_VERSION=$(module_version go.opentelemetry.io/collector/receiver/otlpreceiver)"
  echo "CONTRIB_VERSION=$(module_version github.com/open-telemetry/opentelemetry-collector-contrib/processor/transformprocessor)"
  echo "PINNED=$PINNED"
  echo "COMMAND=$CMDLINE"
  echo "MINUTES=$(( (SECONDS + 59) / 60 ))"
  echo "WARMUP=$WARMUP"
  echo "DURATION=$DURATION"
  echo "LATENCY_DURATION=$LATENCY_DURATION"
  echo "BATCH=$BATCH"
  echo "CONNS=$CONNS"
  echo "ROUNDS=$ROUNDS"
} >"$OUT/env.txt"

report
log "done in ${SECONDS}s"
