package main

import (
	"fmt"
	"math"
	"strings"
)

// The two-tier pipelines (docs/SCALING.md): S the sidecar, F the plain
// forwarding collector it replaces, N the edge normalization alone, R a
// router behind OTLP.
var twoTierPipelines = []pipelineInfo{
	{"S", "sidecar", "taskerevents (NDJSON) → eventnormalize → load_balancing (traceID, 3 endpoints) → OTLP gRPC to a sink process"},
	{"F", "forwarder", "otlp (OTLP/HTTP JSON logs) → otlp_grpc exporter → the same sink"},
	{"N", "edge normalization", "otlp → eventnormalize → nop"},
	{"R", "router", "otlp → eventnormalize → eventrouter (traces + metrics + logs) → nop"},
}

// fleetRate is the event rate the sizing is given for.
const fleetRate = 1_000_000

// routerCost is a router's CPU per event in the two-tier topology: R's,
// less the normalization its input gets at the edge (N − B).
func routerCost(by map[string]*row) (float64, bool) {
	r, n, b := by["R"], by["N"], by["B"]
	if !ok(r) || !ok(n) || !ok(b) {
		return 0, false
	}
	return r.cpuPerM - (n.cpuPerM - b.cpuPerM), true
}

// twoTierTargets are the Targets table's rows for the two tiers.
func twoTierTargets(by map[string]*row) []string {
	var out []string
	s, f := by["S"], by["F"]
	if ok(s) && ok(f) {
		out = append(out, fmt.Sprintf("| S ≤ F's CPU per event (the sidecar costs no more than a plain OTLP forwarder) | S %.2f, F %.2f µs/event: %.2f× | %s |",
			s.cpuPerM, f.cpuPerM, s.cpuPerM/f.cpuPerM, yesNo(s.cpuPerM <= f.cpuPerM)))
	} else {
		out = append(out, fmt.Sprintf("| S ≤ F's CPU per event | not measured (%s) | — |", missing(s, f)))
	}
	return out
}

// writeTwoTier writes the sizing of the two-tier topology from the
// measured figures.
func writeTwoTier(b *strings.Builder, by map[string]*row) {
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	p("## Scaling out: sidecars and a router tier\n\n")
	p("The two-tier topology of [docs/SCALING.md](SCALING.md): sidecars (S) normalize and spread events by trace id to a tier of routers (R). ")
	p("F is the plain OTLP forwarding collector a sidecar would otherwise be; N is the edge normalization alone (N − B is its cost per event).\n\n")
	cost, hasR := routerCost(by)
	if !hasR {
		p("Router sizing not measured (%s).\n\n", missing(by["R"], by["N"], by["B"]))
		return
	}
	perCore := 1e6 / cost
	routers := int(math.Ceil(fleetRate / perCore))
	headroom := int(math.Ceil(fleetRate / (0.7 * perCore)))
	p("- **A router's cost per event**: R − (N − B) = %.2f − (%.2f − %.2f) = **%.2f µs of CPU per event**, that is **%s events per second per router core**. ",
		by["R"].cpuPerM, by["N"].cpuPerM, by["B"].cpuPerM, cost, num(perCore))
	p("The load generator sends OTLP/HTTP JSON; routers receive OTLP gRPC (protobuf) from the sidecars, which costs less to decode, so the figure is on the safe side.\n")
	p("- **A fleet of %s events/s** needs %d router cores at full load; at 70%% (room for bursts and for a router that restarts) **%d routers of one core**.\n", num(fleetRate), routers, headroom)
	if s := by["S"]; ok(s) {
		p("- **The sidecars** of that fleet together spend %.2f µs per event (S), %.1f cores for %s events/s, spread over every service's pod.\n", s.cpuPerM, s.cpuPerM*fleetRate/1e6, num(fleetRate))
	}
	p("\n")
}
