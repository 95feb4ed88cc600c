package trends

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
	"github.com/fairstream/fairstream/streams"
)

// maxFuture: a published time further than this after its envelope's time
// is not believed, and the envelope's time is used instead, so that one
// wrong clock cannot push the watermark past every live event.
const maxFuture = time.Hour

// pollTick bounds one poll, so that the idle watermark is checked while the
// input is quiet.
const pollTick = time.Second

// Option configures a Processor.
type Option func(*Processor)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(p *Processor) { p.log = l } }

// WithMetrics registers the processor's metrics with reg.
func WithMetrics(reg prometheus.Registerer) Option { return func(p *Processor) { p.reg = reg } }

// WithStreamsOptions passes options to the processor's Kafka clients.
func WithStreamsOptions(opts ...streams.Option) Option {
	return func(p *Processor) { p.sopts = append(p.sopts, opts...) }
}

// WithClock sets the wall clock, which decides where the replay starts when
// nothing was emitted yet and when the input counts as idle; for tests.
func WithClock(now func() time.Time) Option { return func(p *Processor) { p.now = now } }

// Processor reads every partition of docs.structured.v1 and writes trend
// snapshots to trends.twitter.v1. Run one instance per source and window
// (replicas would each compute and write the same snapshots).
type Processor struct {
	kcfg    streams.Config
	cfg     Config
	log     *slog.Logger
	reg     prometheus.Registerer
	sopts   []streams.Option
	now     func() time.Time
	schemas *schemas.Registry
	m       *metrics

	mu     sync.Mutex
	cancel context.CancelFunc
	closed bool
}

// New checks the configuration and returns a processor; nothing connects
// until Run.
func New(kcfg streams.Config, cfg Config, opts ...Option) (*Processor, error) {
	if err := kcfg.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("trends: %w", err)
	}
	if t, err := streams.DefaultCatalog().Lookup(cfg.Topic()); err != nil || t.PayloadType != "trends.snapshot/v1" {
		return nil, fmt.Errorf("trends: source %q: its topic %s is not a trends topic of the catalog (trends.twitter.v1 is)", cfg.Source, cfg.Topic())
	}
	p := &Processor{kcfg: kcfg, cfg: cfg, log: slog.New(slog.DiscardHandler), now: time.Now, schemas: schemas.Builtin()}
	for _, o := range opts {
		o(p)
	}
	p.log = p.log.With("processor", Name, "key", cfg.Key())
	p.m = newMetrics(p.reg)
	return p, nil
}

// Spec names the processor, its version and its topics.
func (p *Processor) Spec() streams.Spec {
	return streams.Spec{Name: Name, Version: Version, Inputs: []string{Input}, Outputs: []string{p.cfg.Topic()}}
}

// Close stops a running Run (which then returns nil) and keeps any later
// Run from starting. It is safe to call more than once.
func (p *Processor) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.cancel != nil {
		p.cancel()
	}
}

// Run rebuilds the state from the input, then counts live documents and
// writes snapshots until ctx ends or Close is called; it then returns nil.
// It returns an error if Kafka cannot be reached or a snapshot cannot be
// written: run it again and it resumes where the output topic stops.
func (p *Processor) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.cancel = cancel
	p.mu.Unlock()
	err := p.run(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (p *Processor) run(ctx context.Context) error {
	prod, err := streams.NewProducer(p.kcfg, Name, p.sopts...)
	if err != nil {
		return err
	}
	defer prod.Close()
	if err := streams.WaitReady(ctx, prod.Client(), p.kcfg, p.log); err != nil {
		return fmt.Errorf("trends: %w", err)
	}
	agg, err := NewAggregator(p.cfg)
	if err != nil {
		return err
	}
	snaps, err := p.readSnapshots(ctx)
	if err != nil {
		return fmt.Errorf("trends: read %s: %w", p.cfg.Topic(), err)
	}
	agg.Resume(snaps)

	// Replay the input from the record time of the oldest event time the
	// next window's counts and baseline need.
	from := agg.ResumedThrough()
	if from.IsZero() {
		from = p.now()
	}
	c := p.cfg
	from = from.Add(-(c.Window + c.Baseline + c.Window + 2*c.AllowedLateness + c.ReplayMargin))
	starts, ends, err := p.offsets(ctx, from)
	if err != nil {
		return err
	}
	assign := map[int32]kgo.Offset{}
	pending := map[int32]int64{} // partitions still replaying -> end offset
	for part, s := range starts {
		assign[part] = kgo.NewOffset().At(s)
		if e := ends[part]; e > s {
			pending[part] = e
		}
	}
	p.log.Info("trends: replaying", "from", from.Format(time.RFC3339), "resumed_through", agg.ResumedThrough(), "partitions", len(starts), "replaying", len(pending))
	cl, err := streams.NewClient(p.kcfg, Name, append(p.sopts, streams.WithKgoOpts(
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{Input: assign}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	))...)
	if err != nil {
		return err
	}
	defer cl.Close()

	l := &loop{p: p, agg: agg, prod: prod, maxP: map[int32]int64{}, lagging: map[int32]bool{}}
	for part := range pending {
		l.lagging[part] = true
	}
	if len(pending) == 0 {
		agg.EndReplay()
	}
	l.lastRecord = p.now()
	for {
		pctx, pcancel := context.WithTimeout(ctx, pollTick)
		fetches := cl.PollFetches(pctx)
		pcancel()
		if ctx.Err() != nil {
			return nil
		}
		if fetches.IsClientClosed() {
			return streams.ErrClosed
		}
		// Partitions with records in this poll hold the watermark back
		// until their records are counted.
		fetches.EachPartition(func(ft kgo.FetchTopicPartition) {
			if ft.Err == nil && len(ft.Records) > 0 {
				l.lagging[ft.Partition] = true
			}
		})
		var ferr error
		fetches.EachPartition(func(ft kgo.FetchTopicPartition) {
			if ferr != nil {
				return
			}
			if ft.Err != nil {
				if !errors.Is(ft.Err, context.DeadlineExceeded) && !errors.Is(ft.Err, context.Canceled) {
					p.log.Warn("trends: fetch error; retrying", "partition", ft.Partition, "err", ft.Err)
				}
				return
			}
			for _, rec := range ft.Records {
				if end, ok := pending[rec.Partition]; ok && rec.Offset+1 >= end {
					delete(pending, rec.Partition)
					if len(pending) == 0 {
						agg.EndReplay()
						p.log.Info("trends: replay done; live", "watermark", agg.Watermark())
					}
				}
				if rec.Attrs.IsControl() {
					continue
				}
				if ferr = l.record(ctx, rec); ferr != nil {
					return
				}
			}
			if n := len(ft.Records); n > 0 {
				l.lagging[ft.Partition] = ft.Records[n-1].Offset+1 < ft.LastStableOffset
				// What was held back for this partition may be due now.
				ferr = l.advance(ctx, l.watermark())
			}
		})
		if ferr != nil {
			return ferr
		}
		if err := l.idle(ctx, len(pending) == 0); err != nil {
			return err
		}
	}
}

// readSnapshots returns the snapshots of this processor's key still on the
// output topic.
func (p *Processor) readSnapshots(ctx context.Context) ([]*fairstreampb.TrendSnapshot, error) {
	var snaps []*fairstreampb.TrendSnapshot
	key := p.cfg.Key()
	err := streams.ReadToEnd(ctx, p.kcfg, p.cfg.Topic(), func(rec *kgo.Record) error {
		if string(rec.Key) != key {
			return nil
		}
		env, err := schemas.UnmarshalEnvelope(rec.Value)
		if err != nil {
			p.log.Warn("trends: undecodable snapshot skipped", "offset", rec.Offset, "err", err)
			return nil
		}
		s := &fairstreampb.TrendSnapshot{}
		if err := p.schemas.DecodeIntoTrusted(env, s); err != nil {
			p.log.Warn("trends: undecodable snapshot skipped", "offset", rec.Offset, "err", err)
			return nil
		}
		snaps = append(snaps, s)
		return nil
	}, p.sopts...)
	return snaps, err
}

// offsets returns, per partition of the input, the first offset written at
// or after from and the last stable offset now.
func (p *Processor) offsets(ctx context.Context, from time.Time) (starts, ends map[int32]int64, err error) {
	cl, err := streams.NewClient(p.kcfg, Name+"-admin", p.sopts...)
	if err != nil {
		return nil, nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	after, err := adm.ListOffsetsAfterMilli(ctx, from.UnixMilli(), Input)
	if err == nil {
		err = after.Error()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("trends: offsets of %s after %s: %w", Input, from.Format(time.RFC3339), err)
	}
	last, err := adm.ListCommittedOffsets(ctx, Input)
	if err == nil {
		err = last.Error()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("trends: end offsets of %s: %w", Input, err)
	}
	starts, ends = map[int32]int64{}, map[int32]int64{}
	after.Each(func(o kadm.ListedOffset) { starts[o.Partition] = o.Offset })
	last.Each(func(o kadm.ListedOffset) { ends[o.Partition] = o.Offset })
	if len(starts) == 0 {
		return nil, nil, fmt.Errorf("trends: %s has no partitions: %w", Input, streams.ErrUnknownTopic)
	}
	return starts, ends, nil
}

// loop is the state of one Run.
type loop struct {
	p          *Processor
	agg        *Aggregator
	prod       *streams.Producer
	maxP       map[int32]int64 // newest event time per partition
	lagging    map[int32]bool  // partitions with records not read yet
	lastRecord time.Time       // wall-clock time of the last record
}

func (l *loop) record(ctx context.Context, rec *kgo.Record) error {
	p := l.p
	l.lastRecord = p.now()
	env, err := schemas.UnmarshalEnvelope(rec.Value)
	if err != nil {
		p.skip("decode", rec, err)
		return nil
	}
	doc := &fairstreampb.Document{}
	if err := p.schemas.DecodeIntoTrusted(env, doc); err != nil {
		p.skip("decode", rec, err)
		return nil
	}
	if doc.GetSource() != p.cfg.Source {
		return nil
	}
	t := eventTime(env, doc, rec)
	if tn := t.UnixNano(); tn > l.maxP[rec.Partition] {
		l.maxP[rec.Partition] = tn
	}
	if l.agg.Add(doc, t) {
		p.m.documents.Inc()
	} else {
		p.m.late.Inc()
	}
	return l.advance(ctx, l.watermark())
}

// watermark is the event watermark of the slowest partition that still
// has records to read (none while such a partition has not yet delivered
// one), else of the newest event.
func (l *loop) watermark() time.Time {
	wm := l.agg.EventWatermark()
	if wm.IsZero() {
		return wm
	}
	late := l.p.cfg.AllowedLateness
	for part, lag := range l.lagging {
		if !lag {
			continue
		}
		m, ok := l.maxP[part]
		if !ok {
			return time.Time{}
		}
		if w := time.Unix(0, m).Add(-late); w.Before(wm) {
			wm = w
		}
	}
	return wm
}

// idle advances the watermark with the wall clock once the input has been
// quiet for idle_advance.
func (l *loop) idle(ctx context.Context, live bool) error {
	c := l.p.cfg
	if c.IdleAdvance <= 0 || !live || l.agg.MaxEventTime().IsZero() {
		return nil
	}
	for _, lag := range l.lagging {
		if lag {
			return nil
		}
	}
	quiet := l.p.now().Sub(l.lastRecord)
	if quiet < c.IdleAdvance {
		return nil
	}
	return l.advance(ctx, l.agg.EventWatermark().Add(quiet))
}

func (l *loop) advance(ctx context.Context, wm time.Time) error {
	if wm.IsZero() {
		return nil
	}
	snaps := l.agg.Advance(wm)
	if w := l.agg.Watermark(); !w.IsZero() {
		l.p.m.watermark.Set(float64(w.UnixNano()) / 1e9)
	}
	key := l.p.cfg.Key()
	for _, s := range snaps {
		end := s.GetWindowEnd().AsTime()
		env, err := l.p.schemas.Wrap(s, schemas.Meta{
			ID:     schemas.DeriveID(key, Name, int(s.GetRevision()), end),
			Source: Name, Time: end, Key: key,
		})
		if err != nil {
			return fmt.Errorf("trends: wrap snapshot: %w", err)
		}
		if err := l.prod.Produce(ctx, l.p.cfg.Topic(), env); err != nil {
			return fmt.Errorf("trends: %w", err)
		}
		l.p.m.snapshots.Inc()
		l.p.log.Debug("trends: snapshot", "window_end", end, "revision", s.GetRevision(), "documents", s.GetDocuments(), "terms", len(s.GetTerms()))
	}
	return nil
}

// eventTime is the document's published time, else the envelope's time,
// else the record's timestamp. A published time more than maxFuture after
// the envelope's time is not believed.
func eventTime(env *schemas.Envelope, doc *fairstreampb.Document, rec *kgo.Record) time.Time {
	var envT time.Time
	if ts := env.GetTime(); ts != nil && ts.IsValid() {
		envT = ts.AsTime()
	}
	if pub := doc.GetPublished(); pub != nil && pub.IsValid() && (pub.GetSeconds() != 0 || pub.GetNanos() != 0) {
		t := pub.AsTime()
		if envT.IsZero() || !t.After(envT.Add(maxFuture)) {
			return t
		}
	}
	if !envT.IsZero() {
		return envT
	}
	return rec.Timestamp
}

func (p *Processor) skip(reason string, rec *kgo.Record, err error) {
	p.m.skipped.WithLabelValues(reason).Inc()
	p.log.Warn("trends: record skipped", "reason", reason, "partition", rec.Partition, "offset", rec.Offset, "err", err)
}

type metrics struct {
	documents prometheus.Counter
	late      prometheus.Counter
	snapshots prometheus.Counter
	skipped   *prometheus.CounterVec
	watermark prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{
		documents: streams.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fairstream_trends_documents_total", Help: "Documents counted in trend windows."})),
		late: streams.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fairstream_trends_late_dropped_total", Help: "Documents later than the allowed lateness, left out of the trends (never out of the log)."})),
		snapshots: streams.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fairstream_trends_snapshots_total", Help: "Trend snapshots written, revisions included."})),
		skipped: streams.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fairstream_trends_skipped_total", Help: "Input records that do not decode as documents, by reason."}, []string{"reason"})),
		watermark: streams.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "fairstream_trends_watermark_seconds", Help: "The trends watermark, as Unix seconds of event time."})),
	}
}
