package sim

import "testing"

func benchConfig() Config {
	cfg := DefaultConfig()
	cfg.Tasks = 0 // endless: b.N decides
	return cfg
}

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkGenerate measures the simulation alone (Next), events per second.
func BenchmarkGenerate(b *testing.B) {
	g, err := New(benchConfig())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, ok := g.Next(); !ok {
			b.Fatal("stream ended")
		}
	}
	reportRate(b)
}

// BenchmarkGenerateEncode measures generation plus encoding in each format,
// what the simulator does before sending.
func BenchmarkGenerateEncode(b *testing.B) {
	for _, f := range Formats {
		b.Run(string(f), func(b *testing.B) {
			g, err := New(benchConfig())
			if err != nil {
				b.Fatal(err)
			}
			enc := Encoder{Format: f}
			buf := make([]byte, 0, 1<<16)
			var bytes int64
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				ev, ok := g.Next()
				if !ok {
					b.Fatal("stream ended")
				}
				buf = enc.Append(buf[:0], ev)
				bytes += int64(len(buf))
			}
			b.SetBytes(bytes / int64(b.N))
			reportRate(b)
		})
	}
}
