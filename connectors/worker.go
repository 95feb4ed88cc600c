package connectors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/connectors/identity"
	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
	"github.com/fairstream/fairstream/streams"
)

// Topics the runtime writes and reads besides the sources' own.
const (
	CursorTopic = "connectors.cursors.v1"
	ErrorTopic  = "connectors.errors.v1"
	JobTopic    = "jobs.v1"
	StatusTopic = "jobs.status.v1"
)

// Job states on jobs.status.v1.
const (
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// Config tunes the worker runtime, shared by every connector.
type Config struct {
	// InstanceID makes the transactional ID; it must be stable across a
	// worker's restarts. Empty uses the host name. Run one instance of a
	// connector per worker key.
	InstanceID string `mapstructure:"instance_id"`
	// PollInterval is how long a stream that is caught up waits before it
	// is fetched again.
	PollInterval time.Duration `mapstructure:"poll_interval"`
	// BackoffInitial and BackoffMax bound the jittered backoff of a stream
	// whose fetches fail.
	BackoffInitial time.Duration `mapstructure:"backoff_initial"`
	BackoffMax     time.Duration `mapstructure:"backoff_max"`
	// CommitTimeout bounds writing one page's transaction.
	CommitTimeout time.Duration `mapstructure:"commit_timeout"`
	// Jobs takes the connector's data requests from jobs.v1.
	Jobs bool       `mapstructure:"jobs"`
	HTTP HTTPConfig `mapstructure:"http"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		PollInterval:   time.Minute,
		BackoffInitial: 2 * time.Second,
		BackoffMax:     5 * time.Minute,
		CommitTimeout:  30 * time.Second,
		Jobs:           true,
		HTTP:           DefaultHTTPConfig(),
	}
}

// Validate reports invalid settings, naming their keys.
func (c Config) Validate() error {
	var errs []error
	if c.PollInterval <= 0 {
		errs = append(errs, fmt.Errorf("poll_interval: must be > 0, got %s", c.PollInterval))
	}
	if c.BackoffInitial <= 0 || c.BackoffMax < c.BackoffInitial {
		errs = append(errs, fmt.Errorf("backoff_initial, backoff_max: need 0 < backoff_initial <= backoff_max, got %s and %s", c.BackoffInitial, c.BackoffMax))
	}
	if c.CommitTimeout <= 0 {
		errs = append(errs, fmt.Errorf("commit_timeout: must be > 0, got %s", c.CommitTimeout))
	}
	if strings.ContainsAny(c.InstanceID, " \t\n/") {
		errs = append(errs, fmt.Errorf("instance_id: %q must not contain spaces or slashes", c.InstanceID))
	}
	errs = append(errs, streams.PrefixErr("http.", c.HTTP.Validate()))
	return errors.Join(errs...)
}

// Option configures a Worker.
type Option func(*Worker)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(w *Worker) { w.log = l } }

// WithStreamsOptions passes options to the worker's Kafka clients.
func WithStreamsOptions(opts ...streams.Option) Option {
	return func(w *Worker) { w.sopts = append(w.sopts, opts...) }
}

// WithMetrics registers the worker's metrics with reg.
func WithMetrics(reg prometheus.Registerer) Option { return func(w *Worker) { w.reg = reg } }

// WithoutSigning leaves events unsigned: for benchmarks that measure what
// signing costs. Unsigned events fail validation and earn nothing.
func WithoutSigning() Option { return func(w *Worker) { w.sign = false } }

// OnCommit calls fn after each page is committed, with the stream and the
// number of events; for tests.
func OnCommit(fn func(stream string, events int)) Option { return func(w *Worker) { w.onCommit = fn } }

// Worker runs one Source: it fetches its streams, signs their events and
// writes them, with the streams' cursors, in Kafka transactions.
type Worker struct {
	src      Source
	id       *identity.Identity
	kcfg     streams.Config
	cfg      Config
	log      *slog.Logger
	sopts    []streams.Option
	reg      prometheus.Registerer
	sign     bool
	onCommit func(string, int)
	schemas  *schemas.Registry
	metrics  *workerMetrics

	prod   *streams.TxnProducer
	active map[string]*streamState
	seen   map[string]bool // job IDs taken
}

type streamState struct {
	Stream
	pos      Position
	events   int64
	next     time.Time
	failures int
}

// NewWorker checks the configuration and returns a worker for src; nothing
// connects until Run.
func NewWorker(kcfg streams.Config, cfg Config, src Source, id *identity.Identity, opts ...Option) (*Worker, error) {
	if err := kcfg.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if id == nil {
		return nil, errors.New("connector worker: no identity (worker key)")
	}
	w := &Worker{src: src, id: id, kcfg: kcfg, cfg: cfg, sign: true, schemas: schemas.Builtin(),
		log: slog.New(slog.DiscardHandler), active: map[string]*streamState{}, seen: map[string]bool{}}
	for _, o := range opts {
		o(w)
	}
	w.log = w.log.With("connector", src.Name())
	w.metrics = newWorkerMetrics(w.reg, src.Name())
	return w, nil
}

// Name is the source's name (the connector's).
func (w *Worker) Name() string { return w.src.Name() }

// Worker is the worker ID that signs the events: the key's address.
func (w *Worker) Worker() string { return w.id.Address() }

func (w *Worker) instance() string {
	if w.cfg.InstanceID != "" {
		return w.cfg.InstanceID
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "local"
}

func cursorKey(connector, stream string) string { return connector + "/" + stream }

// Run fetches and writes until ctx ends (it then returns nil) or the source
// refuses the credentials (an error wrapping ErrAuth).
func (w *Worker) Run(ctx context.Context) error {
	name := w.src.Name()
	txnID := fmt.Sprintf("%s.connector.%s.%s", w.kcfg.ClientID, name, w.instance())
	prod, err := streams.NewTxnProducer(w.kcfg, "connector-"+name, txnID, w.sopts...)
	if err != nil {
		return err
	}
	w.prod = prod
	defer prod.Close()
	if err := streams.WaitReady(ctx, prod.Client(), w.kcfg, w.log); err != nil {
		return fmt.Errorf("connector %s: %w", name, err)
	}
	cursors, err := w.loadCursors(ctx)
	if err != nil {
		return fmt.Errorf("connector %s: read cursors: %w", name, err)
	}
	for _, s := range w.src.Streams() {
		w.add(s, cursors)
	}
	jobs := make(chan *fairstreampb.Job)
	if w.cfg.Jobs {
		go w.readJobs(ctx, jobs)
	}
	w.log.Info("connector running", "worker", w.id.Address(), "streams", len(w.active), "transactional_id", txnID, "jobs", w.cfg.Jobs)

	for {
		if ctx.Err() != nil {
			w.log.Info("connector stopped")
			return nil
		}
		st := w.due()
		wait := time.Hour // nothing to fetch: wait for a job
		if st != nil {
			wait = time.Until(st.next)
		}
		if wait <= 0 {
			if err := w.step(ctx, st); err != nil {
				return err
			}
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			w.log.Info("connector stopped")
			return nil
		case job := <-jobs:
			w.takeJob(ctx, job, cursors)
		case <-t.C:
		}
		t.Stop()
	}
}

// Drain fetches every page of s from the start and writes each, signed, in
// its transaction, as Run does, but without reading or advancing s's saved
// cursor. It returns the events written. It is for benchmarks, which replay
// one fixture many times; Close releases what it opened.
func (w *Worker) Drain(ctx context.Context, s Stream) (int, error) {
	if w.prod == nil {
		name := w.src.Name()
		prod, err := streams.NewTxnProducer(w.kcfg, "connector-"+name, fmt.Sprintf("%s.connector.%s.%s.drain", w.kcfg.ClientID, name, w.instance()), w.sopts...)
		if err != nil {
			return 0, err
		}
		w.prod = prod
	}
	pos, n := Position{}, 0
	for {
		page, err := w.src.Fetch(ctx, s, pos)
		if err != nil {
			return n, err
		}
		next := page.Next
		if next == nil {
			next = pos
		}
		recs, err := w.records(s, page.Events, next, page.Done, int64(n), "", "")
		if err != nil {
			return n, err
		}
		if err := w.commit(ctx, recs); err != nil {
			return n, err
		}
		n += len(page.Events)
		pos = next
		if !page.More || page.Done {
			return n, nil
		}
	}
}

// Close releases what Drain opened; Run closes its own.
func (w *Worker) Close() {
	if w.prod != nil {
		w.prod.Close()
	}
}

// due returns the active stream to fetch next, or nil.
func (w *Worker) due() *streamState {
	var best *streamState
	for _, st := range w.active {
		if best == nil || st.next.Before(best.next) || (st.next.Equal(best.next) && st.ID < best.ID) {
			best = st
		}
	}
	return best
}

func (w *Worker) add(s Stream, cursors map[string]*fairstreampb.Cursor) {
	c := cursors[s.ID]
	if c.GetDone() {
		return
	}
	st := &streamState{Stream: s, pos: Position(c.GetPosition()).Clone(), events: c.GetEvents()}
	if st.pos == nil {
		st.pos = Position{}
	}
	w.active[s.ID] = st
}

// loadCursors reads back the latest cursor of every stream of this
// connector.
func (w *Worker) loadCursors(ctx context.Context) (map[string]*fairstreampb.Cursor, error) {
	name := w.src.Name()
	out := map[string]*fairstreampb.Cursor{}
	err := streams.ReadToEnd(ctx, w.kcfg, CursorTopic, func(r *kgo.Record) error {
		if !strings.HasPrefix(string(r.Key), name+"/") {
			return nil
		}
		env, err := schemas.UnmarshalEnvelope(r.Value)
		if err != nil {
			return nil // not ours to judge: skip what does not decode
		}
		c := new(fairstreampb.Cursor)
		if err := w.schemas.DecodeInto(env, c); err != nil || c.GetConnector() != name {
			return nil
		}
		out[c.GetStream()] = c
		return nil
	}, w.sopts...)
	return out, err
}

// readJobs sends this connector's jobs, the backlog then new ones, to jobs.
func (w *Worker) readJobs(ctx context.Context, jobs chan<- *fairstreampb.Job) {
	c, err := streams.NewConsumer(w.kcfg, "connector-"+w.src.Name()+"-jobs", streams.ConsumerOptions{Topics: []string{JobTopic}, From: streams.Earliest}, w.sopts...)
	if err != nil {
		w.log.Error("cannot read jobs", "err", err)
		return
	}
	defer c.Close()
	for {
		recs, err := c.Poll(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			w.log.Warn("reading jobs", "err", err)
		}
		for _, r := range recs {
			env, err := schemas.UnmarshalEnvelope(r.Value)
			if err != nil {
				continue
			}
			job := new(fairstreampb.Job)
			if err := w.schemas.DecodeInto(env, job); err != nil || job.GetConnector() != w.src.Name() {
				continue
			}
			select {
			case jobs <- job:
			case <-ctx.Done():
				return
			}
		}
	}
}

func (w *Worker) takeJob(ctx context.Context, job *fairstreampb.Job, cursors map[string]*fairstreampb.Cursor) {
	if w.seen[job.GetId()] {
		return
	}
	w.seen[job.GetId()] = true
	s, err := w.src.StreamForJob(job)
	if err == nil && job.GetDeadline() != nil && time.Now().After(job.GetDeadline().AsTime()) {
		err = fmt.Errorf("the job's deadline %s has passed", job.GetDeadline().AsTime().UTC().Format(time.RFC3339))
	}
	id := "job:" + job.GetId()
	if err == nil {
		s.ID, s.JobID = id, job.GetId()
		if job.GetMaxEvents() > 0 && (s.MaxEvents == 0 || job.GetMaxEvents() < s.MaxEvents) {
			s.MaxEvents = job.GetMaxEvents()
		}
		if cursors[id].GetDone() {
			return
		}
		w.log.Info("job taken", "job", job.GetId(), "kind", job.GetKind())
		w.add(s, cursors)
		return
	}
	if cursors[id].GetDone() {
		return // refused before; said so then
	}
	w.log.Warn("job refused", "job", job.GetId(), "kind", job.GetKind(), "err", err)
	recs, rerr := w.records(Stream{ID: id, JobID: job.GetId()}, nil, Position{}, true, 0, JobFailed, err.Error())
	if rerr == nil {
		rerr = w.commit(ctx, recs)
	}
	if rerr != nil {
		w.log.Error("cannot record the refused job", "job", job.GetId(), "err", rerr)
	}
}

// step fetches one page of st and writes it.
func (w *Worker) step(ctx context.Context, st *streamState) error {
	start := time.Now()
	page, err := w.src.Fetch(ctx, st.Stream, st.pos.Clone())
	w.metrics.fetchSecs.Observe(time.Since(start).Seconds())
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return w.failed(ctx, st, err)
	}
	if st.MaxEvents > 0 && st.events+int64(len(page.Events)) >= st.MaxEvents {
		page.Events = page.Events[:st.MaxEvents-st.events]
		page.Done = true
	}
	state := ""
	if st.JobID != "" {
		state = JobRunning
		if page.Done {
			state = JobDone
		}
	}
	next := page.Next
	if next == nil {
		next = st.pos
	}
	recs, err := w.records(st.Stream, page.Events, next, page.Done, st.events, state, "")
	if err != nil {
		// An event the catalog refuses is a connector bug; say so loudly
		// and back off rather than skipping data.
		return w.failed(ctx, st, fmt.Errorf("connector produced an invalid event: %w", err))
	}
	if err := w.commit(ctx, recs); err != nil {
		w.metrics.errors.WithLabelValues("commit").Inc()
		wait := w.backoff(st.failures + 1)
		st.failures++
		st.next = time.Now().Add(wait)
		w.log.Warn("could not write the page; the cursor stays where it was and the page is fetched again",
			"stream", st.ID, "events", len(page.Events), "retry_in", wait.Round(time.Millisecond), "err", err)
		return nil
	}
	st.pos, st.failures = next, 0
	st.events += int64(len(page.Events))
	w.metrics.pages.Inc()
	for _, e := range page.Events {
		w.metrics.events.WithLabelValues(e.Topic).Inc()
	}
	if w.onCommit != nil {
		w.onCommit(st.ID, len(page.Events))
	}
	switch {
	case page.Done:
		w.log.Info("stream done", "stream", st.ID, "events", st.events)
		delete(w.active, st.ID)
	case page.More:
		st.next = time.Now()
	default:
		st.next = time.Now().Add(w.cfg.PollInterval)
	}
	return nil
}

// failed handles a fetch error: stop on refused credentials, wait out a
// rate limit, record an unusable response, back off anything else.
func (w *Worker) failed(ctx context.Context, st *streamState, err error) error {
	if errors.Is(err, ErrAuth) {
		w.metrics.errors.WithLabelValues("auth").Inc()
		return fmt.Errorf("connector %s, stream %s: %w", w.src.Name(), st.ID, err)
	}
	var rl *RateLimitError
	if errors.As(err, &rl) {
		w.metrics.errors.WithLabelValues("rate_limit").Inc()
		st.next = rl.Until
		w.log.Warn("rate limited; the stream waits", "stream", st.ID, "until", rl.Until.UTC().Format(time.RFC3339))
		return nil
	}
	if errors.Is(err, ErrPermanent) && st.JobID != "" {
		w.metrics.errors.WithLabelValues("permanent").Inc()
		w.log.Warn("job failed", "stream", st.ID, "job", st.JobID, "err", err)
		recs, rerr := w.records(st.Stream, nil, st.pos, true, st.events, JobFailed, err.Error())
		if rerr == nil {
			rerr = w.commit(ctx, recs)
		}
		if rerr != nil {
			w.log.Error("cannot record the failed job; it is tried again", "job", st.JobID, "err", rerr)
			st.next = time.Now().Add(w.backoff(st.failures + 1))
			return nil
		}
		delete(w.active, st.ID)
		return nil
	}
	st.failures++
	wait := w.backoff(st.failures)
	if errors.Is(err, ErrPermanent) {
		wait = w.cfg.BackoffMax // a configured stream the source refuses: try rarely
	}
	st.next = time.Now().Add(wait)
	var re *ResponseError
	if errors.As(err, &re) {
		w.metrics.errors.WithLabelValues("response").Inc()
		w.log.Warn("unusable response; recorded, backing off", "stream", st.ID, "url", re.URL, "status", re.StatusCode,
			"retry_in", wait.Round(time.Millisecond), "err", re.Err)
		ce := &fairstreampb.ConnectorError{Connector: w.src.Name(), Stream: st.ID, Url: re.URL, StatusCode: int32(re.StatusCode),
			ContentType: re.ContentType, Error: re.Err.Error(), Snippet: re.Snippet, Attempt: int32(st.failures), Worker: w.id.Address()}
		rec, rerr := w.record(ErrorTopic, w.src.Name(), time.Now(), st.JobID, ce)
		if rerr == nil {
			rerr = w.commit(ctx, []*kgo.Record{rec})
		}
		if rerr != nil {
			w.log.Error("cannot record the unusable response", "err", rerr)
		}
		return nil
	}
	w.metrics.errors.WithLabelValues("fetch").Inc()
	w.log.Warn("fetch failed, backing off", "stream", st.ID, "attempt", st.failures, "retry_in", wait.Round(time.Millisecond), "err", err)
	return nil
}

func (w *Worker) backoff(failures int) time.Duration {
	d := w.cfg.BackoffInitial << min(failures-1, 20)
	if d <= 0 || d > w.cfg.BackoffMax {
		d = w.cfg.BackoffMax
	}
	return d/2 + rand.N(d/2+1)
}

// records builds a page's transaction: its events, the stream's cursor and,
// for a job, its status, signed together as one batch (one signature, a
// Merkle proof per event: see identity.SignBatch).
func (w *Worker) records(s Stream, events []Event, next Position, done bool, before int64, jobState, jobErr string) ([]*kgo.Record, error) {
	now := time.Now()
	topics := make([]string, 0, len(events)+2)
	envs := make([]*schemas.Envelope, 0, len(events)+2)
	add := func(topic, key string, t time.Time, m proto.Message) error {
		env, err := w.wrap(key, t, s.JobID, m)
		if err != nil {
			return err
		}
		topics, envs = append(topics, topic), append(envs, env)
		return nil
	}
	for _, e := range events {
		t := e.Time
		if t.IsZero() {
			t = now
		}
		if err := add(e.Topic, e.Key, t, e.Payload); err != nil {
			return nil, err
		}
	}
	total := before + int64(len(events))
	cur := &fairstreampb.Cursor{Connector: w.src.Name(), Stream: s.ID, Position: next, Done: done,
		Events: total, Updated: timestamppb.New(now)}
	if err := add(CursorTopic, cursorKey(w.src.Name(), s.ID), now, cur); err != nil {
		return nil, err
	}
	if jobState != "" {
		js := &fairstreampb.JobStatus{JobId: s.JobID, Connector: w.src.Name(), State: jobState, Events: total,
			Error: jobErr, Worker: w.id.Address(), Updated: timestamppb.New(now)}
		if err := add(StatusTopic, s.JobID, now, js); err != nil {
			return nil, err
		}
	}
	if w.sign {
		if err := w.id.SignBatch(envs); err != nil {
			return nil, err
		}
	}
	recs := make([]*kgo.Record, len(envs))
	for i, env := range envs {
		r, err := w.prod.Record(topics[i], env)
		if err != nil {
			return nil, err
		}
		recs[i] = r
	}
	return recs, nil
}

// wrap builds one event's envelope, unsigned.
func (w *Worker) wrap(key string, t time.Time, correlation string, m proto.Message) (*schemas.Envelope, error) {
	return w.schemas.Wrap(m, schemas.Meta{Source: w.src.Name(), Worker: w.id.Address(), Time: t, Key: key, CorrelationID: correlation})
}

// record wraps, signs and checks one event written on its own.
func (w *Worker) record(topic, key string, t time.Time, correlation string, m proto.Message) (*kgo.Record, error) {
	env, err := w.wrap(key, t, correlation, m)
	if err != nil {
		return nil, err
	}
	if w.sign {
		if err := w.id.Sign(env); err != nil {
			return nil, err
		}
	}
	return w.prod.Record(topic, env)
}

// commit writes recs in one transaction, finishing it even if ctx ends
// meanwhile (within CommitTimeout).
func (w *Worker) commit(ctx context.Context, recs []*kgo.Record) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.CommitTimeout)
	defer cancel()
	start := time.Now()
	err := w.prod.Commit(cctx, recs)
	w.metrics.commitSecs.Observe(time.Since(start).Seconds())
	return err
}

type workerMetrics struct {
	events     *prometheus.CounterVec
	errors     *prometheus.CounterVec
	pages      prometheus.Counter
	fetchSecs  prometheus.Observer
	commitSecs prometheus.Observer
}

func newWorkerMetrics(reg prometheus.Registerer, name string) *workerMetrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	labels := prometheus.Labels{"connector": name}
	events := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "fairstream", Subsystem: "connector", Name: "events_total",
		Help: "Events written, by topic.", ConstLabels: labels}, []string{"topic"})
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "fairstream", Subsystem: "connector", Name: "errors_total",
		Help: "Failures by kind: auth, rate_limit, response, fetch, commit.", ConstLabels: labels}, []string{"kind"})
	pages := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "fairstream", Subsystem: "connector", Name: "pages_total",
		Help: "Pages committed.", ConstLabels: labels})
	fetch := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "fairstream", Subsystem: "connector", Name: "fetch_seconds",
		Help: "Time to fetch one page, retries included.", ConstLabels: labels, Buckets: prometheus.ExponentialBuckets(0.001, 3, 12)})
	commit := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "fairstream", Subsystem: "connector", Name: "commit_seconds",
		Help: "Time to write one page's transaction.", ConstLabels: labels, Buckets: prometheus.ExponentialBuckets(0.0005, 3, 12)})
	for _, c := range []prometheus.Collector{events, errs, pages, fetch, commit} {
		_ = reg.Register(c) // a second worker of the same connector shares nothing: its collectors are simply not exported
	}
	return &workerMetrics{events: events, errors: errs, pages: pages, fetchSecs: fetch, commitSecs: commit}
}
