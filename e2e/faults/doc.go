// Package faults runs the product as real processes on loopback and breaks
// things on purpose: it kills the collector (SIGKILL), restarts it
// gracefully (SIGTERM), stops its OTLP backend for 30 s, sends a workload
// twice and sends events of tasks already emitted. Each scenario compares
// what reached the backend with the simulator's summary and with a reference
// run without faults.
//
// The tests carry the build tag faults; `make faults` (scripts/faults.sh)
// builds the binaries and runs them:
//
//	cd e2e && go test -tags faults -count=1 -v ./faults/
package faults
