package taskerid_test

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/trace"

	"github.com/otelcol-tasker/otelcol-tasker/pkg/taskerid"
)

// The remote parent of the spans of attempt 2 of step 1006 of task 42 (no
// trace_namespace), as a W3C traceparent.
func ExampleStepParent() {
	sc := taskerid.StepParent("", "42", "1006", 2)
	fmt.Printf("00-%s-%s-%s remote=%v\n", sc.TraceID(), sc.SpanID(), sc.TraceFlags(), sc.IsRemote())
	// Output: 00-0b5fb621ae3a34ee9eeef51059514633-f41403a12ae531e1-01 remote=true
}

// A handler starts its spans under the step attempt that runs it; with a
// tracer of the OpenTelemetry SDK they join the task's trace.
func ExampleContextWithStepParent() {
	ctx := taskerid.ContextWithStepParent(context.Background(), "", "42", "1006", 2)
	// ctx, span := tracer.Start(ctx, "charge card"); defer span.End()
	fmt.Println(trace.SpanContextFromContext(ctx).SpanID() == taskerid.StepSpanID("42", "1006", 2))
	// Output: true
}
