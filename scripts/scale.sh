#!/usr/bin/env bash
# make scale: the two-tier topology of docs/SCALING.md as real processes on
# loopback (a sink collector, three routers, two sidecars from
# config/two-tier, every port picked free at run time), checked exactly
# against the simulator's ground truth; then the ring changes mid-run.
# What the ring changes (a router restarted with and without its storage,
# the tier grown) change is written to .e2e/scale/<scenario>.json.
# Needs bin/otelcol-tasker and bin/taskersim (make scale builds both).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .e2e/scale
export OTELCOL_TASKER_BIN="$PWD/bin/otelcol-tasker" TASKERSIM_BIN="$PWD/bin/taskersim"
export SCALE_REPORT_DIR="$PWD/.e2e/scale"
cd e2e
go test -tags scale -count=1 -timeout 10m -v ./scale/
