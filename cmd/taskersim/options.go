package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/otelcol-tasker/otelcol-tasker/internal/sim"
)

const (
	defaultEndpoint = "http://127.0.0.1:8088/v1/events"
	defaultTasks    = 100
	defaultConc     = 50
)

type options struct {
	// destination
	endpoint      string
	format        sim.Format
	batch         int
	gzip          bool
	headers       headerFlag
	timeout       time.Duration
	maxRetries    int
	maxRetryWait  time.Duration
	senders       int
	flushInterval time.Duration
	source        string
	otlpEndpoint  string
	otlpShareFlag float64
	serviceName   string
	dryRun        bool
	out           string

	// application spans (docs/IDS.md)
	appSpans         bool
	appSpansEndpoint string
	appServiceName   string
	traceNamespace   string

	// workload
	rate         float64
	tasks        int
	duration     time.Duration
	concurrency  int
	taskInterval time.Duration
	seed         int64
	startTime    string
	firstTaskID  int64
	failRate     float64
	fatalRate    float64
	retryLimit   int
	dbQueries    float64
	templates    string

	// reporting
	jsonSummary bool
	summaryJSON string
	progress    bool

	set map[string]bool // flags given on the command line
}

// headerFlag collects repeated --header name=value flags.
type headerFlag http.Header

func (h headerFlag) String() string { return "" }

func (h headerFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("want name=value, got %q", s)
	}
	http.Header(h).Add(strings.TrimSpace(name), value)
	return nil
}

func parseOptions(args []string, stderr io.Writer) (*options, error) {
	o := &options{headers: headerFlag{}}
	fs := flag.NewFlagSet("taskersim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: taskersim [flags]\n\nSimulates a Tasker workflow engine and sends its events to a collector.\n\n")
		fs.PrintDefaults()
	}
	format := fs.String("format", string(sim.FormatNDJSON), "wire format: ndjson (native NDJSON), native (JSON array), flat (JSON array), flat-ndjson, cloudevents (batch)")
	fs.StringVar(&o.endpoint, "endpoint", defaultEndpoint, "URL of the taskerevents receiver; a comma-separated list spreads the events over several at random")
	fs.IntVar(&o.batch, "batch", 100, "events per request")
	fs.BoolVar(&o.gzip, "gzip", false, "gzip request bodies (Content-Encoding: gzip)")
	fs.Var(o.headers, "header", "extra request header name=value (repeatable)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "timeout of one request")
	fs.IntVar(&o.maxRetries, "max-retries", 10, "retries of one request after 429, 5xx or a network error before giving up")
	fs.DurationVar(&o.maxRetryWait, "max-retry-wait", 30*time.Second, "longest wait before a retry (caps Retry-After)")
	fs.IntVar(&o.senders, "senders", 1, "concurrent HTTP requests")
	fs.DurationVar(&o.flushInterval, "flush-interval", 200*time.Millisecond, "with --rate, longest time a partial batch waits before it is sent")
	fs.StringVar(&o.source, "source", sim.DefaultCloudEventsSource, "CloudEvents source attribute (--format cloudevents)")
	fs.StringVar(&o.otlpEndpoint, "otlp-endpoint", "", "send OTLP/HTTP log records to host:port (or a URL) instead of --endpoint; a comma-separated list spreads the events over several at random")
	fs.Float64Var(&o.otlpShareFlag, "otlp-share", 1, "with --otlp-endpoint, the share of tasks (chosen by task id) sent over OTLP; the others go to --endpoint over HTTP")
	fs.StringVar(&o.serviceName, "service-name", "tasker-sim", "service.name resource attribute of OTLP log records")
	fs.BoolVar(&o.dryRun, "dry-run", false, "write the stream to --out (default stdout) instead of sending")
	fs.StringVar(&o.out, "out", "", "write the stream to this file (one event per line; - is stdout) instead of sending")
	fs.BoolVar(&o.appSpans, "app-spans", false, "also send each step attempt's handler span over OTLP/HTTP to --app-spans-endpoint, as a child of the attempt's span (docs/IDS.md)")
	fs.StringVar(&o.appSpansEndpoint, "app-spans-endpoint", "127.0.0.1:4318", "OTLP/HTTP traces endpoint of --app-spans: host:port or a URL (path /v1/traces when none)")
	fs.StringVar(&o.appServiceName, "app-service-name", "tasker-handlers", "service.name resource attribute of --app-spans")
	fs.StringVar(&o.traceNamespace, "trace-namespace", "", "the collector's trace_namespace, which --app-spans needs to compute the tasks' trace ids")

	fs.Float64Var(&o.rate, "rate", 0, "events per second, streamed in real time (0: as fast as possible on a virtual clock)")
	fs.IntVar(&o.tasks, "tasks", defaultTasks, "number of tasks (0: until --duration or interrupt)")
	fs.DurationVar(&o.duration, "duration", 0, "stop starting tasks after this wall-clock time (tasks in flight finish)")
	fs.IntVar(&o.concurrency, "concurrency", defaultConc, "tasks in flight at most (0: no limit; default no limit with --rate)")
	fs.DurationVar(&o.taskInterval, "task-interval", 20*time.Millisecond, "mean gap between task arrivals (derived from --rate when set)")
	fs.Int64Var(&o.seed, "seed", 1, "random seed: same seed and flags give the same stream")
	fs.StringVar(&o.startTime, "start-time", "", "RFC 3339 time of the first event (default now); fixes timestamps for reproducible streams")
	fs.Int64Var(&o.firstTaskID, "first-task-id", 1, "id of the first task (step ids follow from it)")
	fs.Float64Var(&o.failRate, "fail-rate", 0.2, "probability that a step attempt fails")
	fs.Float64Var(&o.fatalRate, "fatal-rate", 0.05, "probability that a task has a step failing every attempt (the task fails)")
	fs.IntVar(&o.retryLimit, "retry-limit", 3, "attempts per step (Tasker retry_limit)")
	fs.Float64Var(&o.dbQueries, "db-queries", 0.5, "mean database queries per step attempt")
	fs.StringVar(&o.templates, "templates", "", "comma-separated task templates to use (default all: "+strings.Join(sim.TemplateNames(), ",")+")")

	fs.BoolVar(&o.jsonSummary, "json", false, "print the summary as JSON")
	fs.StringVar(&o.summaryJSON, "summary-json", "", "also write the summary as JSON to this file")
	fs.BoolVar(&o.progress, "progress", false, "print progress every second on stderr (default: only when stderr is a terminal)")

	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })

	var err error
	if o.format, err = sim.ParseFormat(*format); err != nil {
		return nil, fmt.Errorf("--format: %w", err)
	}
	switch {
	case o.batch < 1:
		return nil, errors.New("--batch must be at least 1")
	case o.senders < 1:
		return nil, errors.New("--senders must be at least 1")
	case o.timeout <= 0:
		return nil, errors.New("--timeout must be positive")
	case o.maxRetries < 0:
		return nil, errors.New("--max-retries must not be negative")
	case o.maxRetryWait <= 0:
		return nil, errors.New("--max-retry-wait must be positive")
	case o.flushInterval <= 0:
		return nil, errors.New("--flush-interval must be positive")
	case o.rate < 0:
		return nil, errors.New("--rate must not be negative")
	case o.duration < 0:
		return nil, errors.New("--duration must not be negative")
	case o.otlpEndpoint != "" && o.sendsNothing():
		return nil, errors.New("--otlp-endpoint and --dry-run/--out exclude each other")
	case !(o.otlpShareFlag >= 0 && o.otlpShareFlag <= 1):
		return nil, errors.New("--otlp-share must be between 0 and 1")
	case o.set["otlp-share"] && o.otlpEndpoint == "":
		return nil, errors.New("--otlp-share needs --otlp-endpoint")
	case o.appSpans && o.sendsNothing():
		return nil, errors.New("--app-spans and --dry-run/--out exclude each other")
	case o.appSpans && o.appSpansEndpoint == "":
		return nil, errors.New("--app-spans needs --app-spans-endpoint")
	}
	if !o.sendsNothing() && o.otlpShare() < 1 {
		eps := splitList(o.endpoint)
		if len(eps) == 0 {
			return nil, errors.New("--endpoint is empty")
		}
		for _, ep := range eps {
			u, err := url.Parse(ep)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return nil, fmt.Errorf("--endpoint %q is not an http(s) URL", ep)
			}
		}
	}
	if o.otlpEndpoint != "" && len(splitList(o.otlpEndpoint)) == 0 {
		return nil, errors.New("--otlp-endpoint is empty")
	}
	return o, nil
}

// otlpShare is the share of tasks sent over OTLP: none without
// --otlp-endpoint, all with it unless --otlp-share says otherwise.
func (o *options) otlpShare() float64 {
	if o.otlpEndpoint == "" {
		return 0
	}
	return o.otlpShareFlag
}

// fansOut reports whether events go to more than one destination.
func (o *options) fansOut() bool {
	share := o.otlpShare()
	return (share > 0 && share < 1) || len(splitList(o.endpoint)) > 1 || len(splitList(o.otlpEndpoint)) > 1
}

func (o *options) sendsNothing() bool { return o.dryRun || o.out != "" }

func (o *options) streamToStdout() bool {
	return o.sendsNothing() && (o.out == "" || o.out == "-")
}

func (o *options) showProgress(stderr io.Writer) bool {
	if o.progress {
		return true
	}
	f, ok := stderr.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// simConfig turns the flags into the generator's configuration.
func (o *options) simConfig() (sim.Config, error) {
	cfg := sim.DefaultConfig()
	cfg.Seed = o.seed
	cfg.Start = time.Now().UTC().Truncate(time.Millisecond)
	if o.startTime != "" {
		t, err := time.Parse(time.RFC3339Nano, o.startTime)
		if err != nil {
			return cfg, fmt.Errorf("--start-time: %w", err)
		}
		cfg.Start = t
	}
	cfg.Tasks = o.tasks
	if o.duration > 0 && !o.set["tasks"] {
		cfg.Tasks = 0 // --duration alone: as many tasks as fit
	}
	cfg.Concurrency = o.concurrency
	if o.rate > 0 && !o.set["concurrency"] {
		cfg.Concurrency = 0 // a cap would hold the rate down
	}
	cfg.TaskInterval = o.taskInterval
	cfg.FailureRate = o.failRate
	cfg.FatalRate = o.fatalRate
	cfg.RetryLimit = o.retryLimit
	cfg.DBQueries = o.dbQueries
	cfg.FirstTaskID = o.firstTaskID
	if o.templates != "" {
		cfg.Templates = strings.Split(o.templates, ",")
	}
	if err := cfg.Validate(); err != nil {
		return cfg, flagError(err)
	}
	if o.rate > 0 {
		// Open-loop arrivals at the pace that yields the requested event rate.
		perTask, err := sim.EventsPerTask(cfg)
		if err != nil {
			return cfg, err
		}
		cfg.TaskInterval = time.Duration(perTask / o.rate * float64(time.Second))
	}
	return cfg, nil
}

// flagError renames the generator's field names to the flags that set them.
func flagError(err error) error {
	r := strings.NewReplacer(
		"Tasks", "--tasks", "Concurrency", "--concurrency", "TaskInterval", "--task-interval",
		"FailureRate", "--fail-rate", "FatalRate", "--fatal-rate", "RetryLimit", "--retry-limit",
		"DBQueries", "--db-queries", "FirstTaskID", "--first-task-id", "unknown template", "--templates: unknown template",
	)
	return errors.New(r.Replace(err.Error()))
}

// newSink opens the destination and names it for the summary.
func (o *options) newSink(ctx context.Context, stdout, stderr io.Writer) (sink, string, error) {
	switch {
	case o.sendsNothing():
		if o.out == "" || o.out == "-" {
			return newFileSink(o.format, o.source, nopCloser{stdout}), "stdout", nil
		}
		f, err := os.Create(o.out)
		if err != nil {
			return nil, "", err
		}
		return newFileSink(o.format, o.source, f), o.out, nil
	case o.fansOut():
		s, err := newFanoutSink(ctx, o, stderr)
		dest := o.otlpEndpoint
		if o.otlpShare() < 1 {
			dest = strings.TrimSuffix(o.endpoint+","+o.otlpEndpoint, ",")
		}
		return s, dest, err
	case o.otlpEndpoint != "":
		s, err := newOTLPSink(ctx, o)
		return s, o.otlpEndpoint, err
	}
	return newHTTPSink(ctx, o, stderr), o.endpoint, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// fileSink writes one event per line in the format's event encoding.
type fileSink struct {
	w    *bufio.Writer
	c    io.Closer
	enc  sim.Encoder
	buf  []byte
	sent atomic.Int64
}

func newFileSink(f sim.Format, source string, wc io.WriteCloser) *fileSink {
	return &fileSink{w: bufio.NewWriterSize(wc, 1<<16), c: wc, enc: sim.Encoder{Format: f, Source: source}}
}

func (s *fileSink) Add(ev *sim.Event) error {
	s.buf = s.enc.Append(s.buf[:0], ev)
	s.buf = append(s.buf, '\n')
	if _, err := s.w.Write(s.buf); err != nil {
		return err
	}
	s.sent.Add(1)
	return nil
}

func (s *fileSink) FlushIfOlder(time.Duration) error { return s.w.Flush() }

func (s *fileSink) Close() error {
	err := s.w.Flush()
	if cerr := s.c.Close(); err == nil {
		err = cerr
	}
	return err
}

func (s *fileSink) Sent() int64     { return s.sent.Load() }
func (s *fileSink) Requests() int64 { return 0 }
func (s *fileSink) Retried() int64  { return 0 }
