# otelcol-tasker: build, run and test the distribution.
SHELL := /bin/bash
GO ?= go
export GOFLAGS := -buildvcs=false
export GOTOOLCHAIN := local

BIN        := bin/otelcol-tasker
OCB        := bin/ocb
MDATAGEN   := bin/mdatagen
STATICCHECK := bin/staticcheck
CONFIG     ?= config/otelcol-tasker.yaml
FUZZTIME   ?= 30s
# Minimizing a new input is capped at 100 runs: Go's default (60 s) can run
# past -fuzztime and fail the run with "context deadline exceeded".
FUZZFLAGS  := -fuzztime=$(FUZZTIME) -fuzzminimizetime=100x
# Go sources of the project's own module (what the binary is built from).
GO_SOURCES := $(shell find receiver processor exporter internal cmd -name '*.go' -not -name '*_test.go' 2>/dev/null)

.PHONY: all build run test unit-test rules-test deploy-test smoke-test fuzz faults-hostile lint generate taskersim e2e faults scale demo bench bench-quick bench-compare bench-micro clean

all: build

## build: the collector binary (cached: a no-op when nothing changed)
build: $(BIN)

$(OCB): tools/builder/go.mod tools/builder/go.sum
	$(GO) -C tools/builder build -o ../../$(OCB) go.opentelemetry.io/collector/cmd/builder

$(MDATAGEN): tools/mdatagen/go.mod tools/mdatagen/go.sum
	$(GO) -C tools/mdatagen build -o ../../$(MDATAGEN) go.opentelemetry.io/collector/cmd/mdatagen

$(STATICCHECK): tools/staticcheck/go.mod tools/staticcheck/go.sum
	$(GO) -C tools/staticcheck build -o ../../$(STATICCHECK) honnef.co/go/tools/cmd/staticcheck

# The builder writes the distribution's sources to _build/; they are only
# regenerated when the manifest changes.
_build/main.go: builder-config.yaml $(OCB)
	$(OCB) --config builder-config.yaml --skip-compilation
	@touch $@

$(BIN): _build/main.go go.mod go.sum $(GO_SOURCES)
	$(GO) -C _build build -trimpath -o ../$(BIN) .

## run: start the collector with the default configuration
run: $(BIN)
	@mkdir -p data
	$(BIN) --config $(CONFIG)

## test: every test (unit, Prometheus rules, deployment files, a smoke run of the default config)
test: unit-test rules-test deploy-test smoke-test

unit-test:
	$(GO) test -count=1 ./...

# The Prometheus rules (docs/ALERTS.md): promtool comes with Debian's
# prometheus package, installed once when missing (as for `make e2e`).
rules-test:
	@bash -c 'source scripts/lib.sh && ensure_prometheus'
	promtool check config --syntax-only docker/prometheus/prometheus.yml
	promtool check rules docker/prometheus/rules/*.yml
	promtool test rules docker/prometheus/tests/*.test.yml

# e2e/deploy also runs the compose configs with Debian's Prometheus.
deploy-test: $(BIN)
	@bash -c 'source scripts/lib.sh && ensure_prometheus'
	cd e2e && $(GO) test -count=1 ./deploy/...

smoke-test: $(BIN)
	cd e2e && $(GO) test -count=1 ./smoke/...

## fuzz: the receiver's fuzz targets (bodies, headers, CloudEvents attributes, credential scrubbing), each for FUZZTIME
fuzz:
	$(GO) test -run=^$$ -fuzz=^FuzzDecode$$ $(FUZZFLAGS) ./receiver/taskerevents/internal/decode/
	$(GO) test -run=^$$ -fuzz=^FuzzAgainstEncodingJSON$$ $(FUZZFLAGS) ./receiver/taskerevents/internal/decode/
	$(GO) test -run=^$$ -fuzz=^FuzzHeaders$$ $(FUZZFLAGS) ./receiver/taskerevents/
	$(GO) test -run=^$$ -fuzz=^FuzzScrub$$ $(FUZZFLAGS) ./internal/event/

## lint: gofmt, go vet and staticcheck on every module
# staticcheck runs on each module that has Go packages (tools/* hold only a
# go.mod), with every build tag the suites use (no file excludes another's
# tag), so that the tagged suites are checked too; every module is checked
# before the step fails, so one run lists all findings.
LINT_TAGS := e2e,faults,scale
lint: $(STATICCHECK)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd e2e && $(GO) vet ./... && $(GO) vet -tags e2e ./... && $(GO) vet -tags faults ./... && $(GO) vet -tags scale ./...
	@fail=0; for mod in $$(git ls-files '*go.mod' | xargs -n1 dirname); do \
	  if [ -z "$$(cd $$mod && $(GO) list ./... 2>/dev/null)" ]; then continue; fi; \
	  echo "staticcheck $$mod"; \
	  (cd $$mod && $(CURDIR)/$(STATICCHECK) -tags $(LINT_TAGS) ./...) || fail=1; \
	done; exit $$fail

## generate: re-run the builder and mdatagen (each component's go:generate line)
generate: $(OCB) $(MDATAGEN)
	$(OCB) --config builder-config.yaml --skip-compilation
	PATH="$(CURDIR)/bin:$$PATH" $(GO) generate ./receiver/... ./processor/... ./exporter/...

## faults-hostile: the hostile-input suite against the built collector (slow sender, big labels, amplification, secrets; about 20 s)
faults-hostile: $(BIN)
	cd e2e && $(GO) test -count=1 -tags faults -timeout 10m ./hostile/...

## taskersim: the workflow simulator
taskersim:
	$(GO) build -o bin/taskersim ./cmd/taskersim

## e2e: real Jaeger and Prometheus, the collector and the simulator, end to end
e2e: $(BIN)
	./scripts/e2e.sh

## faults: the fault suite: SIGKILL and SIGTERM restarts under load, the backend
## down for 30 s, a workload sent twice, late events (scripts/faults.sh, < 2 min)
faults: $(BIN)
	./scripts/faults.sh
	@# The hostile-input suite joins here once its target exists.
	@if $(MAKE) -n faults-hostile >/dev/null 2>&1; then $(MAKE) --no-print-directory faults-hostile; fi

## scale: the two-tier topology (sidecars, load balancing, 3 routers) as real
## processes on free loopback ports, checked against the simulator
scale: $(BIN) taskersim
	./scripts/scale.sh

## demo: the stack with a minute of simulated traffic, left running
demo: $(BIN)
	./scripts/demo.sh

## bench: side-by-side pipeline benchmarks; rewrites docs/BENCHMARKS.md
bench: $(BIN)
	./scripts/bench.sh

## bench-quick: the same harness in about a minute (to check it, not to quote)
bench-quick: $(BIN)
	./scripts/bench.sh --quick

## bench-compare: A and D's CPU per event against earlier commits, BASE="<commit> ...", binaries alternated
bench-compare: $(BIN)
	./scripts/bench-compare.sh $(BASE)

## bench-micro: only the components' Go microbenchmarks, into docs/BENCHMARKS.md
bench-micro:
	./scripts/bench.sh --micro

clean:
	rm -rf _build bin
