// Package scale runs the two-tier topology of docs/SCALING.md as real
// processes on loopback (a sink collector, three routers, two sidecars with
// the shipped configs of config/two-tier, ports rewritten) and checks its
// output against the simulator's ground truth. Run it with `make scale`
// (build tag scale).
package scale
