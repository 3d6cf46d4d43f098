#!/usr/bin/env bash
# make e2e: a real Jaeger v2 and a real Prometheus on loopback, the collector
# with config/e2e.yaml, the workflow simulator as the sender, then the Go
# end-to-end tests (e2e/e2etest, build tag e2e) against what the backends and
# the collector's files hold, compared with the simulator's ground truth.
#
#   Jaeger      OTLP 127.0.0.1:14317/14318, query API http://127.0.0.1:16686
#   Prometheus  http://127.0.0.1:19090 (scrapes 18889 and 18888 every second)
#   collector   events http://127.0.0.1:18088/v1/events, health :18133,
#               metrics :18889 (tasker_*), own telemetry :18888
#   files       .e2e/run/ (logs of every process, data/ the JSON/CSV outputs,
#               sim.json the simulator's summary, sim-app-spans.json that of
#               the --app-spans run, e2e-test.log)
#
# Then the operator's kit (docs/ALERTS.md, cmd/taskercheck): a second,
# failure-heavy workload as service tasker-failing, and the tests that the
# shipped alerting rules fire for it and not for the healthy one, and that
# taskercheck passes against this stack and fails against an empty
# Prometheus.
#
# Last, application spans (docs/IDS.md): a short third workload whose
# simulated step handlers also send spans of their own straight to Jaeger
# (OTLP/HTTP 14318), and the test that they sit under the right step attempt
# of the right task.
#
# Environment: E2E_RATE [1500] events/s, E2E_DURATION [20s] of traffic,
# E2E_SEED [20261126]. Everything started here is stopped by its process id
# on exit, pass, fail or Ctrl-C. The first run on a fresh machine builds
# Jaeger (a few minutes) and installs Prometheus with apt.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

SECONDS=0
log() { printf '[e2e %3ds] %s\n' "$SECONDS" "$*"; }

W="$ROOT/.e2e/run"
rm -rf "$W" && mkdir -p "$W"

log "backends and tools"
ensure_jaeger
ensure_prometheus
ensure_sim
(cd "$ROOT" && go build -o bin/taskercheck ./cmd/taskercheck)
# Compile the tests before anything starts, so a compile error fails fast.
(cd "$ROOT/e2e" && go test -tags e2e -c -o "$W/e2etest.test" ./e2etest)

log "starting Jaeger, Prometheus and the collector"
start_stack "$W"

RATE=${E2E_RATE:-1500} DURATION=${E2E_DURATION:-20s}
log "simulator: $RATE events/s for $DURATION"
# Steady traffic for long enough that Prometheus (1 s scrapes) sees the
# counters grow over many scrapes, so rate() and histogram_quantile() work.
if ! "$ROOT/bin/taskersim" --endpoint http://127.0.0.1:18088/v1/events --seed "${E2E_SEED:-20261126}" \
  --rate "$RATE" --duration "$DURATION" --batch 100 --senders 2 --summary-json "$W/sim.json"; then
  log "the simulator failed; collector log tail:"
  tail -n 40 "$W/collector.log"
  exit 1
fi

# The router releases a task's spans 1 s after its end and flushes metrics
# every second, the file exporters flush every second and Prometheus scrapes
# every second; the tests also wait (bounded) for anything still on its way.
sleep 3

# The operator's kit runs last, after a second workload.
KIT='^(TestAlertsFailureHeavyWorkload|TestTaskercheck.*)$'
e2e_tests() {
  (cd "$ROOT/e2e/e2etest" && E2E_DIR="$W" E2E_DATA="$W/data" E2E_SIM_SUMMARY="$W/sim.json" \
    E2E_JAEGER=http://127.0.0.1:16686 E2E_PROMETHEUS=http://127.0.0.1:19090 \
    E2E_METRICS=http://127.0.0.1:18889/metrics \
    E2E_FAILING_SERVICE=tasker-failing E2E_FAILING_SUMMARY="$W/sim-failing.json" \
    E2E_TASKERCHECK="$ROOT/bin/taskercheck" \
    "$W/e2etest.test" -test.v -test.count=1 -test.timeout=10m "$@") 2>&1 | tee -a "$W/e2e-test.log"
  return "${PIPESTATUS[0]}"
}

log "end-to-end tests"
set +e
e2e_tests -test.skip "$KIT"
status=$?
set -e

if [ "$status" -eq 0 ]; then
  # Mostly failing tasks (a step failing every attempt in 4 of 5), from
  # other task ids, as another service: its metrics carry job="tasker-failing"
  # and its traces that service name, apart from the healthy run's.
  log "failure-heavy workload (service tasker-failing): $RATE events/s for 3s"
  if ! "$ROOT/bin/taskersim" --endpoint http://127.0.0.1:18088/v1/events --seed "${E2E_SEED:-20261126}" \
    --rate "$RATE" --duration 3s --batch 100 --senders 2 --fatal-rate 0.8 --first-task-id 1000000 \
    --header X-Service-Name=tasker-failing --summary-json "$W/sim-failing.json"; then
    log "the simulator failed; collector log tail:"
    tail -n 40 "$W/collector.log"
    exit 1
  fi
  log "alerts and taskercheck"
  set +e
  e2e_tests -test.run "$KIT"
  status=$?
  set -e
fi

if [ "$status" -eq 0 ]; then
  # After every other check, whose exact counts its tasks would change;
  # task ids 2000000.. keep them apart from the other workloads.
  log "application spans: simulator --app-spans (40 tasks), then TestAppSpansInJaeger"
  if ! "$ROOT/bin/taskersim" --endpoint http://127.0.0.1:18088/v1/events --seed "${E2E_SEED:-20261126}" \
    --tasks 40 --first-task-id 2000000 --rate "$RATE" --batch 100 \
    --app-spans --app-spans-endpoint 127.0.0.1:14318 --summary-json "$W/sim-app-spans.json"; then
    log "the simulator failed; collector log tail:"
    tail -n 40 "$W/collector.log"
    exit 1
  fi
  set +e
  (export E2E_APP_SPANS_SUMMARY="$W/sim-app-spans.json"; e2e_tests -test.run '^TestAppSpansInJaeger$')
  status=$?
  set -e
fi

if [ "$status" -ne 0 ]; then
  log "FAILED; collector log tail ($W/collector.log):"
  tail -n 40 "$W/collector.log"
else
  log "passed"
fi
exit "$status"
