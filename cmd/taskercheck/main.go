// Command taskercheck checks a deployed otelcol-tasker stack through the
// query APIs of its Prometheus and Jaeger: the collector's workflow metrics
// are there and consistent, the collector refuses and drops nothing, Jaeger
// holds task traces of the right shape with no orphaned spans, and the
// metrics' exemplars open those traces. It prints a table (or --json) and
// exits non-zero when a check fails. See README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // a check failed
	exitUsage  = 2
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, time.Now()))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, now time.Time) int {
	o, asJSON, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintln(stderr, "taskercheck:", err)
		return exitUsage
	}
	results := newChecker(o, now).run(ctx)
	failed := 0
	for _, r := range results {
		if r.Status == statusFail {
			failed++
		}
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(struct {
			OK         bool     `json:"ok"`
			Prometheus string   `json:"prometheus"`
			Jaeger     string   `json:"jaeger,omitempty"`
			Service    string   `json:"service"`
			Since      string   `json:"since"`
			Checks     []result `json:"checks"`
		}{failed == 0, o.prometheus, o.jaeger, o.service, o.since.String(), results})
	} else {
		writeTable(stdout, results)
		if failed > 0 {
			fmt.Fprintf(stdout, "\n%d of %d checks failed\n", failed, len(results))
		} else {
			fmt.Fprintf(stdout, "\nall checks passed\n")
		}
	}
	if failed > 0 {
		return exitFailed
	}
	return exitOK
}

func parseFlags(args []string, stderr io.Writer) (options, bool, error) {
	fs := flag.NewFlagSet("taskercheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: taskercheck --prometheus URL [--jaeger URL] [flags]\n\n"+
			"Checks a deployed otelcol-tasker stack through Prometheus' and Jaeger's query APIs.\n"+
			"Exits 0 when every check passes, 1 when one fails, 2 on bad flags.\n\n")
		fs.PrintDefaults()
	}
	var o options
	fs.StringVar(&o.prometheus, "prometheus", "", "base URL of the Prometheus that scrapes the collector (required)")
	fs.StringVar(&o.jaeger, "jaeger", "", "base URL of Jaeger's query service (UI port); without it the trace checks are skipped")
	fs.StringVar(&o.service, "service", "tasker", "service to check: the job label of its metrics and its service name in Jaeger")
	fs.DurationVar(&o.since, "since", 15*time.Minute, "how far back to look for recent tasks, traces, exemplars and refused events")
	fs.IntVar(&o.traces, "traces", 20, "traces and exemplars to sample")
	fs.IntVar(&o.minDepth, "min-depth", 3, "levels a trace with step spans must have at least (task → step → handler)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "timeout of each API request")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return o, false, err
	}
	switch {
	case fs.NArg() > 0:
		return o, false, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.prometheus == "":
		return o, false, errors.New("--prometheus URL is required")
	case o.service == "":
		return o, false, errors.New("--service must not be empty")
	case o.since < time.Second:
		return o, false, fmt.Errorf("--since %s: at least 1s", o.since)
	case o.traces < 1:
		return o, false, fmt.Errorf("--traces %d: at least 1", o.traces)
	case o.minDepth < 1:
		return o, false, fmt.Errorf("--min-depth %d: at least 1", o.minDepth)
	case o.timeout <= 0:
		return o, false, fmt.Errorf("--timeout %s: must be positive", o.timeout)
	}
	for flagName, u := range map[string]string{"--prometheus": o.prometheus, "--jaeger": o.jaeger} {
		if u == "" {
			continue
		}
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return o, false, fmt.Errorf("%s %q: want an http(s) URL such as http://localhost:9090", flagName, u)
		}
	}
	return o, *asJSON, nil
}

// writeTable prints one row per check, and under a check its problems.
func writeTable(w io.Writer, results []result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tSTATUS\tDETAIL")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, strings.ToUpper(string(r.Status)), r.Detail)
		for _, p := range r.Problems {
			fmt.Fprintf(tw, "\t\t- %s\n", p)
		}
	}
	_ = tw.Flush()
}
