package decode

import (
	"maps"
	"strings"
	"unicode/utf8"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
)

// keyEntry is what the key table knows of one member name.
type keyEntry struct {
	// key is the name as the records hold it (mended if not valid UTF-8):
	// an owned string, never a view into a request, so that downstream
	// components may keep it forever.
	key       string
	sensitive bool // its value is replaced with event.Filtered
}

// keyTable maps a member name as sent to its entry. Payloads reuse a few
// dozen names, so an entry saves both the arena copy of the name and the
// redactor's scan on every event.
type keyTable map[string]keyEntry

// maxKeyVerdicts bounds a state's key table; a payload with ever new key
// names just has it reset to the seed now and then.
const maxKeyVerdicts = 1024

// taskerKeys are the payload member names of Tasker's publishers (as
// internal/sim reproduces them), in every key table from the start: their
// strings are constants, which cost no allocation and no GC work.
var taskerKeys = [...]string{
	event.FieldTaskID, event.FieldTaskName, event.FieldStepID, event.FieldStepName,
	event.FieldAttemptNumber, event.FieldRetryLimit, event.FieldCorrelationID,
	event.FieldTimestamp, event.FieldStartedAt, event.FieldCompletedAt,
	event.FieldExecutionDuration, event.FieldTotalExecutionDuration, event.FieldDuration,
	event.FieldErrorMessage, event.FieldExceptionClass, event.FieldErrorClass,
	event.FieldBacktrace, event.FieldSQL, event.FieldFromState, event.FieldToState,
	event.FieldQueueName, event.FieldJobID, event.FieldStepIDs,
	event.FieldBackoffSeconds, event.FieldBackoffType,
	"event_type", "orchestration_event", "step_inputs", "step_dependencies",
	"step_results", "step_count", "processing_mode", "task_context", "task_type",
	"attempt", "query_name", "total_steps", "processed_steps_count",
	"base_delay", "multiplier", "jitter_enabled", "previous_attempts",
	"retry_reason", "backoff_strategy", "transitioned_at", "final_status",
	"completed_steps", "failed_steps", "pending_steps", "health_status",
	"completion_percentage", "current_execution_duration", "error_steps",
	"failed_steps_count", "registry_name", "entity_type", "entity_id",
	"entity_class", "options", "registered_at",
}

// newKeyEntry judges the member name raw, an owned string.
func newKeyEntry(raw string, r *event.Redactor) keyEntry {
	key := raw
	if !utf8.ValidString(raw) {
		key = strings.ToValidUTF8(raw, "\uFFFD") // as arena.str does for values
	}
	return keyEntry{key: key, sensitive: r.Sensitive(raw)}
}

// seedKeys returns the key table every state starts from.
func seedKeys(r *event.Redactor) keyTable {
	t := make(keyTable, len(taskerKeys))
	for _, k := range taskerKeys {
		t[k] = newKeyEntry(k, r)
	}
	return t
}

// key returns the entry for the member name k, entering it when new.
func (s *state) key(k []byte) keyEntry {
	if e, ok := s.keys[string(k)]; ok {
		return e
	}
	if len(s.keys) >= maxKeyVerdicts {
		clear(s.keys)
		maps.Copy(s.keys, s.seed)
	}
	raw := string(k) // the one copy: both the table's key and the entry's
	e := newKeyEntry(raw, s.opts.Redactor)
	s.keys[raw] = e
	return e
}
