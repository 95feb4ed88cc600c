package analytics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/streams"
)

// SinkConfig tunes the window sink.
type SinkConfig struct {
	// Group is the Kafka consumer group; it defaults to SinkName. Keep it
	// fixed: a new group reads every topic again from the start.
	Group string `mapstructure:"group"`
	// BatchRows is the most rows one ClickHouse insert carries.
	BatchRows int `mapstructure:"batch_rows"`
	// FlushInterval is the longest a row waits for its batch to fill.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// RetryInitial and RetryMax bound the backoff between attempts of an
	// insert, a dead-letter write or a commit that failed: it doubles
	// from RetryInitial up to RetryMax, and retries until Run's context
	// ends.
	RetryInitial time.Duration `mapstructure:"retry_initial"`
	RetryMax     time.Duration `mapstructure:"retry_max"`
	// Validators are the addresses whose signed windows and contributions
	// the sink takes; a record signed by any other key, or not validly
	// signed, goes to the dead-letter topic. Empty takes any validly
	// signed record (fairstream dev fills in its own validator).
	Validators []string `mapstructure:"validators"`
	// Contributions also sinks scores.contributions.v1 into contributions.
	Contributions bool `mapstructure:"contributions"`
}

// DefaultSinkConfig returns batches of up to 50,000 rows flushed at least
// every second, retried from 100ms up to 30s apart.
func DefaultSinkConfig() SinkConfig {
	return SinkConfig{
		Group:         SinkName,
		BatchRows:     50_000,
		FlushInterval: time.Second,
		RetryInitial:  100 * time.Millisecond,
		RetryMax:      30 * time.Second,
		Contributions: true,
	}
}

// Validate reports invalid settings, naming their keys.
func (c SinkConfig) Validate() error {
	var errs []error
	if c.Group == "" {
		errs = append(errs, errors.New("group: must not be empty"))
	}
	if c.BatchRows < 1 {
		errs = append(errs, fmt.Errorf("batch_rows: must be >= 1, got %d", c.BatchRows))
	}
	if c.FlushInterval <= 0 {
		errs = append(errs, fmt.Errorf("flush_interval: must be > 0, got %s", c.FlushInterval))
	}
	if c.RetryInitial <= 0 {
		errs = append(errs, fmt.Errorf("retry_initial: must be > 0, got %s", c.RetryInitial))
	}
	if c.RetryMax < c.RetryInitial {
		errs = append(errs, fmt.Errorf("retry_max: must be >= retry_initial (%s), got %s", c.RetryInitial, c.RetryMax))
	}
	if _, err := NewSigners(c.Validators); err != nil {
		errs = append(errs, fmt.Errorf("validators: %w", err))
	}
	return errors.Join(errs...)
}

func (c SinkConfig) backoff(attempt int) time.Duration {
	d := c.RetryInitial
	for i := 0; i < attempt && d < c.RetryMax; i++ {
		d *= 2
	}
	return min(d, c.RetryMax)
}

// SinkOption adds to what NewSink builds.
type SinkOption func(*sinkOptions)

type sinkOptions struct {
	routes     []Route
	noDefault  bool
	registry   *schemas.Registry
	catalog    *streams.Catalog
	log        *slog.Logger
	streamOpts []streams.Option
}

// WithRoute adds a topic → table route, such as ContributionRoute for the
// validator's contribution topic.
func WithRoute(r Route) SinkOption {
	return func(o *sinkOptions) { o.routes = append(o.routes, r) }
}

// WithoutWindows leaves out the default route (scores.windows.v1 →
// worker_utility), for a sink of other routes only.
func WithoutWindows() SinkOption { return func(o *sinkOptions) { o.noDefault = true } }

// WithSinkRegistry decodes windows with r instead of schemas.Builtin().
func WithSinkRegistry(r *schemas.Registry) SinkOption {
	return func(o *sinkOptions) { o.registry = r }
}

// WithSinkLogger logs to l instead of slog.Default().
func WithSinkLogger(l *slog.Logger) SinkOption { return func(o *sinkOptions) { o.log = l } }

// WithStreamOptions passes options (metrics, catalog, kgo options) to the
// Kafka client; a streams.WithCatalog there also checks the routes'
// topics against that catalog instead of the default one.
func WithStreamOptions(opts ...streams.Option) SinkOption {
	return func(o *sinkOptions) { o.streamOpts = append(o.streamOpts, opts...) }
}

// WithSinkCatalog checks the routes' topics against c instead of
// streams.DefaultCatalog(); pass the same catalog to the client with
// WithStreamOptions(streams.WithCatalog(c)) if the client needs it.
func WithSinkCatalog(c *streams.Catalog) SinkOption { return func(o *sinkOptions) { o.catalog = c } }

// Sink consumes topics into ClickHouse tables: each Route maps one
// topic's records to rows of one table. It reads as a consumer group,
// writes each batch with one Backend.Insert per table (explicit columns),
// sends records its Mapper rejects to the topic's dead-letter twin, and
// commits the batch's offsets only once ClickHouse acknowledged every
// insert and Kafka every dead letter. When ClickHouse is down it retries
// with backoff, committing nothing, so nothing is lost; on a restart the
// uncommitted records are written again, which the tables absorb: each is
// a ReplacingMergeTree keyed and versioned by values from the record, so
// a replay leaves the same rows (read with FINAL or argMax).
//
// Reading the next batch overlaps with writing the current one; at most
// two batches are in memory.
type Sink struct {
	cfg     SinkConfig
	backend Backend
	routes  []Route
	byTopic map[string]int
	cl      *kgo.Client
	log     *slog.Logger
	once    sync.Once
	mappers [][]Mapper // per goroutine, per route
	mapped  []mapped   // scratch, reused across polls
}

// NewSink returns a sink reading kcfg's cluster into backend. Without
// options it sinks scores.windows.v1 into worker_utility.
func NewSink(kcfg streams.Config, backend Backend, cfg SinkConfig, opts ...SinkOption) (*Sink, error) {
	if err := kcfg.Validate(); err != nil {
		return nil, fmt.Errorf("analytics sink: kafka: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("analytics sink: %w", err)
	}
	if backend == nil {
		return nil, errors.New("analytics sink: no backend")
	}
	o := &sinkOptions{}
	for _, opt := range opts {
		opt(o)
	}
	if o.log == nil {
		o.log = slog.Default()
	}
	if o.catalog == nil {
		o.catalog = streams.DefaultCatalog()
	}
	var routes []Route
	if !o.noDefault {
		signers, err := NewSigners(cfg.Validators)
		if err != nil {
			return nil, fmt.Errorf("analytics sink: validators: %w", err)
		}
		routes = append(routes, WindowRoute(o.registry, signers))
		if cfg.Contributions {
			// Each route has a Signers of its own: a Mapper is for one
			// goroutine, and the batch-root cache is per route.
			csigners, _ := NewSigners(cfg.Validators)
			routes = append(routes, ContributionsRoute(o.registry, csigners))
		}
		if signers.Any() {
			o.log.Warn("analytics sink: analytics.sink.validators is empty: windows signed by any key are taken")
		}
	}
	routes = append(routes, o.routes...)
	if len(routes) == 0 {
		return nil, errors.New("analytics sink: no routes")
	}
	s := &Sink{cfg: cfg, backend: backend, routes: routes, byTopic: map[string]int{}, log: o.log.With("stage", SinkName)}
	// A Mapper is for one goroutine: with a NewMap on every route, the
	// sink maps on GOMAXPROCS goroutines, each with mappers of its own.
	workers := runtime.GOMAXPROCS(0)
	for _, r := range routes {
		if r.NewMap == nil {
			workers = 1
		}
	}
	s.mappers = make([][]Mapper, workers)
	for w := range s.mappers {
		s.mappers[w] = make([]Mapper, len(routes))
		for i, r := range routes {
			if w == 0 {
				s.mappers[w][i] = r.Map
			} else {
				s.mappers[w][i] = r.NewMap()
			}
		}
	}
	var topics []string
	for i, r := range routes {
		if r.Map == nil || len(r.Columns) == 0 {
			return nil, fmt.Errorf("analytics sink: route %s → %s: needs columns and a mapper", r.Topic, r.Table)
		}
		if _, err := insertPrefix(r.Table, r.Columns); err != nil {
			return nil, fmt.Errorf("analytics sink: route %s: %w", r.Topic, err)
		}
		if _, err := o.catalog.Lookup(r.Topic); err != nil {
			return nil, fmt.Errorf("analytics sink: route %s → %s: %w", r.Topic, r.Table, err)
		}
		if _, dup := s.byTopic[r.Topic]; dup {
			return nil, fmt.Errorf("analytics sink: topic %s routed twice", r.Topic)
		}
		s.byTopic[r.Topic] = i
		topics = append(topics, r.Topic)
	}
	sopts := append([]streams.Option{streams.WithLogger(o.log)}, o.streamOpts...)
	sopts = append(sopts, streams.WithKgoOpts(
		kgo.ConsumeTopics(topics...),
		kgo.ConsumerGroup(cfg.Group),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequiredAcks(kgo.AllISRAcks()),
	))
	cl, err := streams.NewClient(kcfg, SinkName, sopts...)
	if err != nil {
		return nil, fmt.Errorf("analytics sink: %w", err)
	}
	s.cl = cl
	return s, nil
}

// Spec declares the sink as a stage: its name (also the default group)
// and the topics it reads. It writes no topic but the inputs' DLQs.
func (s *Sink) Spec() streams.Spec {
	inputs := make([]string, len(s.routes))
	for i, r := range s.routes {
		inputs[i] = r.Topic
	}
	return streams.Spec{Name: SinkName, Version: "1", Inputs: inputs, Outputs: []string{}}
}

// Close leaves the group and closes the Kafka client; the backend stays
// open (it belongs to the caller). Safe to call more than once; call it
// after Run returned.
func (s *Sink) Close() { s.once.Do(s.cl.Close) }

// batch is what one flush writes and commits.
type batch struct {
	rows  [][][]any       // per route
	recs  [][]*kgo.Record // per route, the record of each row
	dlq   []*kgo.Record
	last  map[string]map[int32]*kgo.Record
	n     int // rows
	count int // records
}

func (s *Sink) newBatch() *batch {
	return &batch{rows: make([][][]any, len(s.routes)), recs: make([][]*kgo.Record, len(s.routes)), last: map[string]map[int32]*kgo.Record{}}
}

func (b *batch) mark(rec *kgo.Record) {
	p := b.last[rec.Topic]
	if p == nil {
		p = map[int32]*kgo.Record{}
		b.last[rec.Topic] = p
	}
	p[rec.Partition] = rec
	b.count++
}

// Run consumes until ctx ends or the client is closed, and returns nil
// when ctx ended and an error otherwise. Rows read but not yet committed
// when it returns are read again by the next run.
func (s *Sink) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	flushes := make(chan *batch, 1)
	writeErr := make(chan error, 1)
	go func() {
		defer close(writeErr)
		for b := range flushes {
			if err := s.write(ctx, b); err != nil {
				writeErr <- err
				cancel()
				return
			}
		}
	}()
	err := s.read(ctx, flushes)
	close(flushes)
	if werr := <-writeErr; werr != nil && ctx.Err() == nil {
		err = werr
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// read polls, maps and hands full (or old enough) batches to the writer.
func (s *Sink) read(ctx context.Context, flushes chan<- *batch) error {
	cur := s.newBatch()
	var deadline time.Time
	for {
		pollCtx, cancelPoll := ctx, context.CancelFunc(func() {})
		if cur.count > 0 {
			pollCtx, cancelPoll = context.WithDeadline(ctx, deadline)
		}
		fetches := s.cl.PollRecords(pollCtx, s.cfg.BatchRows-cur.n)
		cancelPoll()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if fetches.IsClientClosed() {
			return streams.ErrClosed
		}
		fetches.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				s.log.Warn("fetch", "topic", topic, "partition", p, "err", err)
			}
		})
		recs := fetches.Records()
		mapped := s.mapAll(recs)
		for k, rec := range recs {
			if cur.count == 0 {
				deadline = time.Now().Add(s.cfg.FlushInterval)
			}
			cur.mark(rec)
			m := &mapped[k]
			switch {
			case m.route < 0:
			case m.err != nil:
				cur.dlq = append(cur.dlq, deadLetter(rec, streams.ClassDecode, m.err.Error()))
			default:
				cur.rows[m.route] = append(cur.rows[m.route], m.row)
				cur.recs[m.route] = append(cur.recs[m.route], rec)
				cur.n++
			}
		}
		clear(mapped)
		s.mapped = mapped[:0]
		if cur.count > 0 && (cur.n >= s.cfg.BatchRows || !time.Now().Before(deadline)) {
			select {
			case flushes <- cur:
			case <-ctx.Done():
				return ctx.Err()
			}
			cur = s.newBatch()
		}
	}
}

// mapped is what a Mapper made of one record.
type mapped struct {
	route int // -1: no route for its topic
	row   []any
	err   error
}

// parallelMin is the fewest records worth mapping on several goroutines.
const parallelMin = 512

// mapAll maps recs, in order, on as many goroutines as the sink has
// mappers (every route with NewMap: GOMAXPROCS), each on a contiguous
// share.
func (s *Sink) mapAll(recs []*kgo.Record) []mapped {
	out := s.mapped[:0]
	if cap(out) < len(recs) {
		out = make([]mapped, len(recs))
	}
	out = out[:len(recs)]
	run := func(w int, lo, hi int) {
		for k := lo; k < hi; k++ {
			rec := recs[k]
			i, ok := s.byTopic[rec.Topic]
			if !ok {
				out[k] = mapped{route: -1}
				continue
			}
			row, err := s.mappers[w][i](rec)
			out[k] = mapped{route: i, row: row, err: err}
		}
	}
	workers := len(s.mappers)
	if workers == 1 || len(recs) < parallelMin {
		run(0, 0, len(recs))
		return out
	}
	var wg sync.WaitGroup
	share := (len(recs) + workers - 1) / workers
	for w := range workers {
		lo, hi := w*share, min((w+1)*share, len(recs))
		if lo >= hi {
			break
		}
		wg.Go(func() { run(w, lo, hi) })
	}
	wg.Wait()
	return out
}

// write inserts a batch's rows, dead-letters its rejects and commits its
// offsets, each retried until it succeeds or ctx ends.
func (s *Sink) write(ctx context.Context, b *batch) error {
	for i, r := range s.routes {
		if len(b.rows[i]) == 0 {
			continue
		}
		rejects, err := s.insert(ctx, r, b.rows[i], b.recs[i])
		if err != nil {
			return err
		}
		b.dlq = append(b.dlq, rejects...)
	}
	if len(b.dlq) > 0 {
		err := s.retry(ctx, "dead-letter "+strconv.Itoa(len(b.dlq))+" records", func() error {
			return s.cl.ProduceSync(ctx, b.dlq...).FirstErr()
		})
		if err != nil {
			return err
		}
		s.log.Warn("records rejected to the DLQ", "count", len(b.dlq), "first_reason", streams.Header(b.dlq[0], streams.HeaderDLQReason))
	}
	var last []*kgo.Record
	for _, ps := range b.last {
		for _, rec := range ps {
			last = append(last, rec)
		}
	}
	// A commit that keeps failing (the group rebalanced and the partitions
	// moved) is given up after a few attempts: the rows are in ClickHouse,
	// and whoever reads the partitions next writes them again, harmlessly.
	attempt := 0
	err := s.retry(ctx, "commit offsets", func() error {
		err := s.cl.CommitRecords(ctx, last...)
		if attempt++; err != nil && attempt >= commitAttempts {
			s.log.Warn("offsets not committed; their records will be read again", "err", err)
			return nil
		}
		return err
	})
	return err
}

// commitAttempts bounds the attempts to commit one batch's offsets.
const commitAttempts = 5

// insert writes rows into r.Table, retrying until ClickHouse takes them.
// Rows ClickHouse refuses as values (ErrValue: nothing was written) are
// isolated by halving the batch and returned as dead letters.
func (s *Sink) insert(ctx context.Context, r Route, rows [][]any, recs []*kgo.Record) ([]*kgo.Record, error) {
	var valueErr error
	err := s.retry(ctx, "insert into "+r.Table, func() error {
		err := s.backend.Insert(ctx, r.Table, r.Columns, rows)
		if errors.Is(err, ErrValue) {
			valueErr = err
			return nil
		}
		return err
	})
	if err != nil || valueErr == nil {
		return nil, err
	}
	if len(rows) == 1 {
		return []*kgo.Record{deadLetter(recs[0], streams.ClassProcess, valueErr.Error())}, nil
	}
	h := len(rows) / 2
	a, err := s.insert(ctx, r, rows[:h], recs[:h])
	if err != nil {
		return nil, err
	}
	b, err := s.insert(ctx, r, rows[h:], recs[h:])
	return append(a, b...), err
}

// retry calls fn until it succeeds or ctx ends, backing off in between.
func (s *Sink) retry(ctx context.Context, what string, fn func() error) error {
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil {
			if attempt > 0 {
				s.log.Info("recovered", "op", what, "attempts", attempt+1)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait := s.cfg.backoff(attempt)
		s.log.Warn("retrying", "op", what, "attempt", attempt+1, "in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// deadLetter returns rec for its topic's dead-letter twin, with the
// streams package's dlq.* headers.
func deadLetter(rec *kgo.Record, class, reason string) *kgo.Record {
	if len(reason) > 4096 {
		reason = strings.ToValidUTF8(reason[:4096], "") + " …(truncated)"
	}
	headers := make([]kgo.RecordHeader, 0, len(rec.Headers)+7)
	headers = append(headers, rec.Headers...)
	headers = append(headers,
		kgo.RecordHeader{Key: streams.HeaderDLQReason, Value: []byte(reason)},
		kgo.RecordHeader{Key: streams.HeaderDLQClass, Value: []byte(class)},
		kgo.RecordHeader{Key: streams.HeaderDLQStage, Value: []byte(SinkName)},
		kgo.RecordHeader{Key: streams.HeaderDLQAttempts, Value: []byte("1")},
		kgo.RecordHeader{Key: streams.HeaderDLQTopic, Value: []byte(rec.Topic)},
		kgo.RecordHeader{Key: streams.HeaderDLQPartition, Value: []byte(strconv.Itoa(int(rec.Partition)))},
		kgo.RecordHeader{Key: streams.HeaderDLQOffset, Value: []byte(strconv.FormatInt(rec.Offset, 10))},
	)
	return &kgo.Record{Topic: rec.Topic + streams.DLQSuffix, Key: rec.Key, Value: rec.Value, Headers: headers}
}
