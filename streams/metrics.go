package streams

import (
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kprom"
)

// Metrics holds the Prometheus metrics of every stream component in a
// process: the stage counters and histograms below, and franz-go's client
// metrics (kprom) for each client, labelled by client_id. Create one per
// process and share it with WithMetrics.
type Metrics struct {
	reg prometheus.Registerer

	mu   sync.Mutex
	live map[string]bool // client IDs of the clients open now

	records      *prometheus.CounterVec
	outputs      *prometheus.CounterVec
	retries      *prometheus.CounterVec
	transactions *prometheus.CounterVec
	processSecs  *prometheus.HistogramVec
	commitSecs   *prometheus.HistogramVec
	batchRecords *prometheus.HistogramVec
	produced     *prometheus.CounterVec
}

// NewMetrics registers the stream metrics with reg. A nil reg keeps them in
// a private registry nobody scrapes (tests, benchmarks).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{reg: reg}
	r := reg
	if r == nil {
		r = prometheus.NewRegistry()
	}
	const ns, sub = "fairstream", "stage"
	m.records = newCounter(r, prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "records_total",
		Help: "Input records handled, by stage, topic and outcome (processed, skipped, dlq)."}, "stage", "topic", "outcome")
	m.outputs = newCounter(r, prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "outputs_total",
		Help: "Output records produced, by stage and topic."}, "stage", "topic")
	m.retries = newCounter(r, prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "retries_total",
		Help: "Processing attempts that failed and were retried."}, "stage")
	m.transactions = newCounter(r, prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "transactions_total",
		Help: "Batches ended, by result (committed, aborted)."}, "stage", "result")
	m.processSecs = newHistogram(r, prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "process_seconds",
		Help: "Time to process one input record and hand its outputs to the producer, retries included.", Buckets: prometheus.ExponentialBuckets(1e-6, 4, 12)}, "stage")
	m.commitSecs = newHistogram(r, prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "commit_seconds",
		Help: "Time to flush a batch's outputs and commit it.", Buckets: prometheus.ExponentialBuckets(1e-4, 3, 12)}, "stage")
	m.batchRecords = newHistogram(r, prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "batch_records",
		Help: "Input records per batch (transaction).", Buckets: prometheus.ExponentialBuckets(1, 4, 10)}, "stage")
	m.produced = newCounter(r, prometheus.CounterOpts{Namespace: ns, Subsystem: "producer", Name: "records_total",
		Help: "Records written by producers, by topic and result (ok, error)."}, "topic", "result")
	return m
}

func newCounter(r prometheus.Registerer, o prometheus.CounterOpts, labels ...string) *prometheus.CounterVec {
	v := prometheus.NewCounterVec(o, labels)
	return Register(r, v)
}

func newHistogram(r prometheus.Registerer, o prometheus.HistogramOpts, labels ...string) *prometheus.HistogramVec {
	v := prometheus.NewHistogramVec(o, labels)
	return Register(r, v)
}

// Register registers c with r and returns it, or the collector already
// registered under its name, so that two components (or two runs of one)
// can share a registry. A nil r registers nothing. A clash of names with
// another kind of collector is a programming error: it panics.
func Register[C prometheus.Collector](r prometheus.Registerer, c C) C {
	if r == nil {
		return c
	}
	if err := r.Register(c); err != nil {
		if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}

// claimClientID returns id, or id with a "-N" suffix when a client with id
// is open, and a hook that frees it when the client closes. kprom labels a
// client's metrics with its ID, and two clients with one ID would clash.
func (m *Metrics) claimClientID(id string) (string, kgo.Hook) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.live == nil {
		m.live = map[string]bool{}
	}
	got := id
	for n := 2; m.live[got]; n++ {
		got = fmt.Sprintf("%s-%d", id, n)
	}
	m.live[got] = true
	return got, releaseID{m: m, id: got}
}

// releaseID frees a claimed client ID when its client closes.
type releaseID struct {
	m  *Metrics
	id string
}

func (r releaseID) OnClientClosed(*kgo.Client) {
	r.m.mu.Lock()
	delete(r.m.live, r.id)
	r.m.mu.Unlock()
}

// kafkaHook returns a fresh kprom hook for one client, or nil when metrics
// are not exported.
func (m *Metrics) kafkaHook() kgo.Hook {
	if m.reg == nil {
		return nil
	}
	return kprom.NewMetrics("fairstream", kprom.Subsystem("kafka"), kprom.Registerer(m.reg), kprom.WithClientLabel())
}

// stageMetrics are one stage's pre-resolved series, off the hot path.
type stageMetrics struct {
	retries      prometheus.Counter
	committed    prometheus.Counter
	aborted      prometheus.Counter
	processSecs  prometheus.Observer
	commitSecs   prometheus.Observer
	batchRecords prometheus.Observer
	m            *Metrics
	stage        string
}

func (m *Metrics) forStage(stage string) *stageMetrics {
	return &stageMetrics{
		retries:      m.retries.WithLabelValues(stage),
		committed:    m.transactions.WithLabelValues(stage, "committed"),
		aborted:      m.transactions.WithLabelValues(stage, "aborted"),
		processSecs:  m.processSecs.WithLabelValues(stage),
		commitSecs:   m.commitSecs.WithLabelValues(stage),
		batchRecords: m.batchRecords.WithLabelValues(stage),
		m:            m,
		stage:        stage,
	}
}

func (s *stageMetrics) record(topic, outcome string, n int) {
	if n > 0 {
		s.m.records.WithLabelValues(s.stage, topic, outcome).Add(float64(n))
	}
}

func (s *stageMetrics) output(topic string, n int) {
	if n > 0 {
		s.m.outputs.WithLabelValues(s.stage, topic).Add(float64(n))
	}
}
