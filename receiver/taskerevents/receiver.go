package taskerevents // import "github.com/otelcol-tasker/otelcol-tasker/receiver/taskerevents"

import (
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/otelcol-tasker/otelcol-tasker/internal/event"
	"github.com/otelcol-tasker/otelcol-tasker/receiver/taskerevents/internal/decode"
)

// eventsReceiver serves the events endpoint and the health endpoint.
type eventsReceiver struct {
	cfg      *Config
	settings receiver.Settings
	next     consumer.Logs
	obsrep   *receiverhelper.ObsReport
	decoder  *decode.Decoder
	// correlation ids of recent tasks, spread to their events that carry none
	correlations *event.Correlations
	redactor     *event.Redactor

	server   *http.Server
	addr     net.Addr // where the server listens, once started
	serverWG sync.WaitGroup
}

func newReceiver(cfg *Config, set receiver.Settings, next consumer.Logs) (*eventsReceiver, error) {
	obsrep, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "http",
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	redactor := event.NewRedactor(cfg.Redaction)
	return &eventsReceiver{
		cfg:          cfg,
		settings:     set,
		next:         next,
		obsrep:       obsrep,
		correlations: event.NewCorrelations(),
		redactor:     redactor,
		decoder: decode.New(decode.Options{
			TypePrefix:          cfg.CloudEvents.TypePrefix,
			MaxDepth:            cfg.MaxNestingDepth,
			MaxEvents:           cfg.MaxEventsPerRequest,
			MaxContextAttribute: cfg.MaxHeaderValueLength,
			MaxStringLength:     cfg.MaxValueLength,
			Redactor:            redactor,
		}),
	}, nil
}

// Start starts the HTTP server; a failure to serve later is reported as a
// fatal component status, as the OTLP receiver does.
func (r *eventsReceiver) Start(ctx context.Context, host component.Host) error {
	server, err := r.cfg.ServerConfig.ToServer(ctx, host.GetExtensions(), r.settings.TelemetrySettings, r,
		confighttp.WithErrorHandler(errorHandler))
	if err != nil {
		return err
	}
	ln, err := r.cfg.ServerConfig.ToListener(ctx)
	if err != nil {
		return err
	}
	server.Handler = lowerContentEncoding(server.Handler)
	server.ErrorLog = log.New(newServerErrorLog(r.settings.Logger, r.cfg.TLSErrorLogInterval), "", 0)
	r.server, r.addr = server, ln.Addr()
	r.settings.Logger.Info("Starting taskerevents receiver",
		zap.String("endpoint", ln.Addr().String()), zap.String("path", r.cfg.Path))
	r.serverWG.Go(func() {
		if err := server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		}
	})
	return nil
}

// Shutdown stops the server, letting requests in flight finish within ctx.
func (r *eventsReceiver) Shutdown(ctx context.Context) error {
	var err error
	if r.server != nil {
		err = r.server.Shutdown(ctx)
	}
	r.serverWG.Wait()
	return err
}

// ServeHTTP routes by exact path: the configured paths are plain strings,
// never patterns.
func (r *eventsReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch req.URL.Path {
	case r.cfg.Path:
		r.handleEvents(w, req)
	case r.cfg.HealthPath:
		r.handleHealth(w, req)
	default:
		writeError(w, http.StatusNotFound, "not found: POST events to "+r.cfg.Path)
	}
}

func (r *eventsReceiver) handleHealth(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method "+req.Method+" not allowed: use GET")
		return
	}
	writeJSON(w, http.StatusOK, healthBody)
}

var healthBody = []byte(`{"status":"ok"}`)

// handleEvents reads, decodes and normalizes one request, hands the records
// to the next consumer and answers only once it has accepted (or refused)
// them.
func (r *eventsReceiver) handleEvents(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "method "+req.Method+" not allowed: use POST")
		return
	}
	format, status, msg := requestFormat(req)
	if status != 0 {
		writeError(w, status, msg)
		return
	}
	if status, msg := r.checkHeaders(req.Header, format == decode.BinaryCloudEvent); status != 0 {
		writeError(w, status, msg)
		return
	}
	if format == decode.BinaryCloudEvent {
		if msg := binaryRequired(req.Header); msg != "" {
			writeError(w, http.StatusBadRequest, msg)
			return
		}
	}
	buf, status, msg := r.readBody(w, req)
	if status != 0 {
		writeError(w, status, msg)
		return
	}
	dreq := decode.Request{
		Format:  format,
		Body:    buf.Bytes(),
		Service: r.cfg.ServiceName,
	}
	copied := headerCopies{correlation: r.cfg.CorrelationHeader}
	if r.cfg.ServiceHeader != "" {
		if s := req.Header.Get(r.cfg.ServiceHeader); s != "" {
			dreq.Service, _ = r.redactor.Scrub(s)
			copied.service, copied.serviceBytes = r.cfg.ServiceHeader, len(dreq.Service)
		}
	}
	if format == decode.BinaryCloudEvent {
		dreq.Binary = binaryAttributes(req.Header)
	}
	correlationID, _ := r.redactor.Scrub(req.Header.Get(r.cfg.CorrelationHeader))
	copied.correlationBytes = len(correlationID)
	logs, n, err := r.decode(dreq, correlationID, copied)
	putBuffer(buf)

	ctx := r.obsrep.StartLogsOp(req.Context())
	if err != nil {
		r.obsrep.EndLogsOp(ctx, formatName(format), 1, err)
		status, msg := decodeErrorStatus(err)
		r.settings.Logger.Debug("Refused a request", zap.Int("status", status), zap.String("error", msg))
		writeError(w, status, msg)
		return
	}
	if n == 0 {
		r.obsrep.EndLogsOp(ctx, formatName(format), 0, nil)
		writeAccepted(w, 0)
		return
	}
	err = r.next.ConsumeLogs(ctx, logs)
	r.obsrep.EndLogsOp(ctx, formatName(format), n, err)
	if err != nil {
		status, retryAfter := consumerErrorStatus(err)
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		r.settings.Logger.Debug("The pipeline refused events", zap.Int("status", status), zap.Error(err))
		writeError(w, status, consumerErrorMessage(status, err))
		return
	}
	writeAccepted(w, n)
}

// decode turns a body into normalized event records. A panic while decoding
// (a bug met by some input) is turned into a refusal of that request: it must
// not take the collector down.
func (r *eventsReceiver) decode(dreq decode.Request, correlationID string, copied headerCopies) (logs plog.Logs, n int, err error) {
	defer func() {
		if p := recover(); p != nil {
			r.settings.Logger.Error("Panic while decoding a request; refused it", zap.Any("panic", p), zap.Stack("stack"))
			logs, n, err = plog.Logs{}, 0, &decode.Error{Index: -1, Reason: "the request body could not be decoded"}
		}
	}()
	logs, n, err = r.decoder.Decode(dreq)
	if err != nil || n == 0 {
		return logs, n, err
	}
	if err := copied.check(n, len(dreq.Body)); err != nil {
		return plog.Logs{}, 0, err
	}
	normalize(logs, &event.Normalizer{
		Namespace:      r.cfg.TraceNamespace,
		ReceivedAt:     pcommon.NewTimestampFromTime(time.Now()),
		CorrelationID:  correlationID,
		Correlations:   r.correlations,
		MaxValueLength: r.cfg.MaxValueLength,
	})
	return logs, n, nil
}

// normalize normalizes every record and fills in the request's correlation
// id where the event carries none. It runs once the whole body is decoded:
// two tight loops keep their code in the instruction cache, one loop doing
// both does not.
func normalize(logs plog.Logs, n *event.Normalizer) {
	rls := logs.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				n.Normalize(lr, lr.EventName())
			}
		}
	}
}
