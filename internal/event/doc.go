// Package event is the one place that defines what a workflow lifecycle event
// looks like inside the collector: the normalized attribute names, the
// deterministic trace and span ids, severities, SQL summaries and the
// redaction of sensitive parameters. The taskerevents receiver writes events
// with it and the eventrouter connector reads (and, for OTLP input, writes)
// them with it, so both always agree.
package event
