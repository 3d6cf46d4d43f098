#!/usr/bin/env bash
# CPU per event of this tree's binary against earlier commits, measured in
# one run with every binary: the harness of `make bench` (one collector at a
# time on core 1, the load generator on core 0, saturation), the binaries
# alternated round by round so that a slow spell of the machine hits them
# all. See --help.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

usage() {
  cat <<'EOF'
usage: scripts/bench-compare.sh [--help] COMMIT...

  Builds each COMMIT (git worktrees under $COMPARE_OUT, make build, cached
  by commit), then for every pipeline of COMPARE_PIPELINES runs this tree's
  bin/otelcol-tasker and each COMMIT's binary in turn, COMPARE_ROUNDS times,
  each with its own tree's bench configuration. Prints every round's CPU
  microseconds per event and, per binary, the minimum and the median, and
  their ratios to the first COMMIT.

Environment (defaults in brackets):
  COMPARE_PIPELINES [A D] (A, AD, D)  COMPARE_ROUNDS [5]  COMPARE_OUT [.e2e/compare]
  COMPARE_WARMUP [3s]  COMPARE_DURATION [10s]
  and the endpoints of scripts/bench.sh (BENCH_TASKER_ENDPOINT, ...)
EOF
}
case "${1:-}" in -h | --help | "") usage; [ -n "${1:-}" ]; exit $? ;; esac

OUT=${COMPARE_OUT:-$ROOT/.e2e/compare}
PIPELINES=${COMPARE_PIPELINES:-A D}
ROUNDS=${COMPARE_ROUNDS:-5}
WARMUP=${COMPARE_WARMUP:-3s}
DURATION=${COMPARE_DURATION:-10s}
export BENCH_TASKER_ENDPOINT=${BENCH_TASKER_ENDPOINT:-127.0.0.1:28088}
export BENCH_OTLP_ENDPOINT=${BENCH_OTLP_ENDPOINT:-127.0.0.1:28318}
export BENCH_HEALTH_ENDPOINT=${BENCH_HEALTH_ENDPOINT:-127.0.0.1:28133}
export BENCH_METRICS_PORT=${BENCH_METRICS_PORT:-28888}
mkdir -p "$OUT"
trap stop_all EXIT
log() { printf '[compare %3ds] %s\n' "$SECONDS" "$*"; }

PIN0=() PIN1=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
  PIN0=(taskset -c 0) PIN1=(taskset -c 1)
fi

# The binaries: name → tree (its bin/otelcol-tasker and bench/configs).
NAMES=(current) TREES=("$ROOT")
for c in "$@"; do
  sha=$(git rev-parse --short=9 "$c^{commit}")
  tree=$OUT/tree-$sha
  if [ ! -x "$tree/bin/otelcol-tasker" ]; then
    log "building $c ($sha)"
    [ -d "$tree" ] || git worktree add --detach "$tree" "$sha" >/dev/null
    make -C "$tree" build >"$OUT/build-$sha.log" 2>&1 || { tail -20 "$OUT/build-$sha.log" >&2; exit 1; }
  fi
  NAMES+=("$sha") TREES+=("$tree")
done
[ -x "$ROOT/bin/otelcol-tasker" ] || make build
go build -o "$OUT/loadgen" ./bench/loadgen

run_one() { # run_one PIPELINE INDEX ROUND → appends to $OUT/results.tsv
  local p=$1 i=$2 r=$3 tree=${TREES[$2]} res="$OUT/$1-${NAMES[$2]}-r$3.json" pid
  export BENCH_STORAGE_DIR="$OUT/storage" # AD's, empty at every start
  rm -rf "$BENCH_STORAGE_DIR"
  start "${NAMES[$i]} $p" "$OUT/collector.log" "${PIN1[@]}" env GOMAXPROCS=1 "$tree/bin/otelcol-tasker" --config "$(bench_config "$tree" "$p")" >/dev/null
  pid=$(last_pid)
  wait_http "http://$BENCH_HEALTH_ENDPOINT/" 30 "$pid"
  "${PIN0[@]}" "$OUT/loadgen" -mode saturate -url "$(bench_url "$p")" -format "$(bench_format "$p")" \
    -warmup "$WARMUP" -duration "$DURATION" -pid "$pid" -clk-tck "$(getconf CLK_TCK)" -out "$res" >>"$OUT/loadgen.log" 2>&1
  stop_pid "$pid"
  forget_pid "$pid"
  python3 - "$res" "$p" "${NAMES[$i]}" "$r" >>"$OUT/results.tsv" <<'EOF'
import json, sys
ph = json.load(open(sys.argv[1]))["phases"][-1]
print("\t".join([sys.argv[2], sys.argv[3], sys.argv[4], "%.3f" % ph["cpu_seconds_per_million_events"], "%d" % ph["events_per_sec"]]))
EOF
  tail -1 "$OUT/results.tsv" | awk -F'\t' '{printf "%s %-10s round %s: %s µs/event, %s events/s\n", $1, $2, $3, $4, $5}'
}

: >"$OUT/results.tsv"
for p in $PIPELINES; do
  for ((r = 1; r <= ROUNDS; r++)); do
    for i in "${!NAMES[@]}"; do run_one "$p" "$i" "$r"; done
  done
done

python3 - "$OUT/results.tsv" "${NAMES[1]:-current}" <<'EOF'
import collections, statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
base = sys.argv[2]
by = collections.defaultdict(list)
for p, name, _, us, _ in rows:
    by[(p, name)].append(float(us))
print("\npipeline  binary      rounds (µs of CPU per event)            min     median  min/%s  median/%s" % (base, base))
for (p, name), v in by.items():
    b = by.get((p, base), v)
    print("%-8s  %-10s  %-38s  %6.3f  %6.3f  %6.3f  %6.3f" % (p, name, " ".join("%.2f" % x for x in v),
          min(v), statistics.median(v), min(v) / min(b), statistics.median(v) / statistics.median(b)))
EOF
