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
// compete; parents.go says where each span goes in the tree; task.go and
// held.go hold the pointer-free layout of a pending task; emit.go turns a
// released task into pdata.
package assembly // import "github.com/otelcol-tasker/otelcol-tasker/processor/eventrouter/internal/assembly"
