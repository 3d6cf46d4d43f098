package eventrouter

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// The memo must give the filter's answer for every key, whether it answers
// from a slot (same string) or from the filter (equal bytes elsewhere, or a
// key that shares a slot with another).
func TestKeyMemoAnswersLikeTheFilter(t *testing.T) {
	f := newKeyFilter(event.DefaultRedactionConfig())
	var m keyMemo
	keys := []string{event.AttrTaskID, event.FieldStartedAt, "password", "api_key", "note", "tasker.custom", event.FieldStepIDs}
	for i := 0; i < 3*keyMemoSlots; i++ {
		keys = append(keys, "k"+strings.Repeat("x", i%7)+string(rune('a'+i%26)))
	}
	for round := 0; round < 3; round++ {
		for _, k := range keys {
			assert.Equal(t, f.info(k), m.info(k, f), "key %q", k)
			copied := strings.Clone(k) // same bytes, another address
			assert.Equal(t, f.info(k), m.info(copied, f), "copy of key %q", k)
		}
	}
	assert.True(t, m.info("password", f).sensitive)
	assert.False(t, m.info("note", f).sensitive)
}

// A memo filled for one filter must not answer for another: the pool that
// holds memos is shared by every router in the process.
func TestKeyMemoFollowsTheFilter(t *testing.T) {
	on := newKeyFilter(event.DefaultRedactionConfig())
	off := newKeyFilter(event.RedactionConfig{Enabled: false})
	var m keyMemo
	k := "password"
	assert.True(t, m.info(k, on).sensitive)
	assert.False(t, m.info(k, off).sensitive)
	assert.True(t, m.info(k, on).sensitive)
	assert.Equal(t, assemblyKeys[event.FieldStartedAt], m.info(event.FieldStartedAt, off))
}

// Nothing of a batch may stay in a pooled memo once its call is done.
func TestKeyMemoForgetsItsStrings(t *testing.T) {
	f := newKeyFilter(event.DefaultRedactionConfig())
	var e evt
	e.keyInfo(strings.Clone("from.the.batch"), f)
	e.forget()
	for _, s := range e.keys.slots {
		assert.Empty(t, s.k)
	}
}
