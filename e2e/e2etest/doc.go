// Package e2etest holds the end-to-end tests run by `make e2e` (build tag
// e2e): they read what a real Jaeger, a real Prometheus and the collector's
// JSON and CSV files hold after the workflow simulator sent its traffic, and
// compare it with the simulator's ground truth. The operator's kit
// (operator_test.go: the shipped alerts, taskercheck) runs last, after a
// second, failure-heavy workload.
package e2etest
