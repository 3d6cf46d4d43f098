// Package assembly turns a task's workflow events into its spans.
//
// An Assembler holds each task's spans until the task ended plus a grace
// period, its state is older than the span timeout, or the pending bound
// evicts it; then it resolves their parents and emits them together. Its
// surface is small: Add an event, Advance the clock (releasing what is due),
// Flush everything, Take what was released, and Snapshot or Restore one
// task's state.
//
// The files keep the rules apart from the memory layout: rules.go says what
// each event does to its task's spans and which value wins when sources
// compete; parents.go says where each span goes in the tree; critical.go
// finds a task's critical path; tombstone.go remembers released tasks;
// task.go, attrs.go, strings.go and resources.go hold the pointer-free
// layout of a pending task; emit.go turns a released task into pdata;
// snapshot.go encodes a task for storage.
//
// The memory layout matters: a sidecar holds every open task of its service,
// so the bytes per pending span are its price (bench/opentasks_test.go measures
// them; TestPendingSpanMemory keeps them bounded).
//
// The held forms contain no Go pointers. A task's spans, attributes and
// strings live in a few slices of its own (taskState), addressed by offsets,
// so the garbage collector marks a handful of objects per task and scans
// none of their contents. With pointers in them, the pending state (200,000
// spans at the default bound) was scanned at every cycle: the GC's mark
// workers and write barriers took about a quarter of the sidecar's CPU at
// saturation.
//
// Nothing held is a view into an input batch: the taskerevents receiver
// hands out strings that share one buffer per request, and a single held
// substring would keep the whole request alive. Held strings are therefore
// copied into the task's byte buffer, or, for values that repeat from task
// to task (names, types, states), into the Assembler's symbol table.
package assembly // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"
