#!/usr/bin/env bash
# make demo: the e2e stack with a minute of simulated Tasker traffic, left
# running to look around. Starts, all on loopback:
#   Jaeger v2    query API http://127.0.0.1:16686 (OTLP in on 14317/14318)
#   Prometheus   http://127.0.0.1:19090 (scrapes the collector every second)
#   collector    config/e2e.yaml: events on http://127.0.0.1:18088/v1/events,
#                metrics on http://127.0.0.1:18889/metrics, own telemetry on
#                :18888, health on :18133, files under .demo/data/
# then runs the simulator, prints a summary read back from Prometheus and
# waits. Ctrl-C stops everything this script started (by process id).
#
# Environment:
#   DEMO_DURATION [60s]  length of the traffic (a Go duration: 10s, 2m)
#   DEMO_RATE     [800]  events per second
#   DEMO_EXIT     [0]    1: stop everything after the summary instead of
#                        waiting (a bounded run, e.g. to test this script:
#                        DEMO_DURATION=10s DEMO_EXIT=1 make demo)
#   DEMO_DIR      [.demo] where logs, Prometheus' data and the files go
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap stop_all EXIT
trap 'echo; echo "stopping"; exit 0' INT
trap 'exit 143' TERM

DURATION=${DEMO_DURATION:-60s}
RATE=${DEMO_RATE:-800}
D=${DEMO_DIR:-$ROOT/.demo}
rm -rf "$D" && mkdir -p "$D"

ensure_jaeger
ensure_prometheus
ensure_sim
(cd "$ROOT/e2e" && go build -o "$D/demosummary" ./cmd/demosummary)

start_stack "$D"

where() {
  cat <<EOF

Where to look:
  Prometheus UI   http://127.0.0.1:19090   try: sum by (task_name, status) (rate(tasker_tasks_total[1m]))
  Jaeger API      http://127.0.0.1:16686/api/traces?service=tasker&limit=5
                  http://127.0.0.1:16686/api/services/tasker/operations
  metrics scrape  http://127.0.0.1:18889/metrics
  files           $D/data/ (spans.jsonl, spans.csv, events.jsonl, events.csv)
  logs            $D/{collector,jaeger,prometheus}.log
EOF
}
where
echo
echo "simulator: $RATE events/s for $DURATION"
"$ROOT/bin/taskersim" --endpoint http://127.0.0.1:18088/v1/events \
  --rate "$RATE" --duration "$DURATION" --batch 100 --summary-json "$D/sim.json"

# The summary's rates cover the traffic, up to 3 s after it ended (the last
# tasks' metrics flush and get scraped by then); wait until that is past.
AT=$(($(date +%s) + 3))
sleep 5
echo
"$D/demosummary" -prometheus http://127.0.0.1:19090 -jaeger http://127.0.0.1:16686 -window "$DURATION" -at "$AT"
where

if [ "${DEMO_EXIT:-0}" = 1 ]; then
  echo
  echo "DEMO_EXIT=1: stopping"
  exit 0
fi
echo
echo "The stack keeps running; press Ctrl-C to stop it."
while alive "$COLLECTOR_PID" && alive "$JAEGER_PID" && alive "$PROMETHEUS_PID"; do sleep 1; done
echo "a process of the stack exited (see $D/*.log): stopping the rest"
exit 1
