#!/usr/bin/env bash
# make faults: the fault suite (e2e/faults, build tag faults). Real processes
# on loopback, on free ports the suite picks itself (it runs next to other
# suites): a sink collector, the product with config/otelcol-tasker-durable.yaml
# and the simulator. It kills the product (SIGKILL, SIGTERM), stops the sink
# for 30 s, sends the workload twice and sends events of tasks already
# emitted, and compares what reached the sink with the simulator's summary
# and a reference run. Under 2 minutes.
#
# Files: .faults/run/<scenario>/ (the processes' logs, the sink's files, the
# simulator's summaries), .faults/run/faults-test.log.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

W="$ROOT/.faults/run"
rm -rf "$W" && mkdir -p "$W"

# The binaries the suite runs (cached: seconds when nothing changed).
make -C "$ROOT" --no-print-directory build
ensure_sim

set +e
(cd "$ROOT/e2e" && FAULTS_DIR="$W" go test -tags faults -count=1 -v -timeout 10m ./faults/) 2>&1 | tee "$W/faults-test.log"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  echo "faults: FAILED; logs of every process under $W/<scenario>/"
fi
exit "$status"
