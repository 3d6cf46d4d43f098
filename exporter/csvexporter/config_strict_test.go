package csvexporter

import (
	"testing"

	"github.com/otelcol-tasker/otelcol-tasker/internal/sink/sinktest"
)

func TestMisspelledKeyIsRefused(t *testing.T) {
	sinktest.CheckMisspelledKeyIsRefused(t, NewFactory())
}
