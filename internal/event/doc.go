// Package event is the one place that defines what a workflow lifecycle event
// looks like inside the collector: the normalized attribute names, the
// deterministic trace and span ids, severities, SQL summaries and the
// redaction of sensitive parameters. Events are normalized where they enter
// the collector, with this package: the taskerevents receiver for its own
// input, the eventnormalize processor for OTLP input (NormalizeRecord); the
// eventrouter connector reads normalized records only (IsNormalized), so all
// of them always agree.
package event
