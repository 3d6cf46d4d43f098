// mdatagen names the package of the generated tests after the folder; the
// sed gives them this package's name.
//go:generate sh -c "rm -f generated_component_test.go generated_package_test.go && cd ../../tools/mdatagen && go tool mdatagen ../../receiver/taskerevents/metadata.yaml"
//go:generate sed -i "s/^package taskerevents$DOLLAR/package taskereventsreceiver/" generated_component_test.go generated_package_test.go

// Package taskereventsreceiver receives workflow lifecycle events over HTTP
// (Tasker native or flat JSON, JSON arrays, NDJSON, CloudEvents 1.0 in
// structured, batched and binary mode) and turns every event into one
// normalized log record (see internal/event).
package taskereventsreceiver // import "github.com/otelcol-tasker/otelcol-tasker/receiver/taskerevents"
