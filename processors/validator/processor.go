package validator

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/connectors/identity"
	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
	"github.com/fairstream/fairstream/streams"
)

// Name is the processor's name: its Kafka client role and metrics label.
const Name = "validator"

// Topics the processor writes (and reads back).
const (
	WindowsTopic       = "scores.windows.v1"
	VerdictsTopic      = "scores.verifications.v1"
	ContributionsTopic = "scores.contributions.v1"
	CheckpointsTopic   = "scores.checkpoints.v1"
	TicksTopic         = "scores.ticks.v1"
)

// pollTick bounds one poll, so that the idle watermark moves while the
// inputs are quiet.
const pollTick = 500 * time.Millisecond

// maxBatch commits the outputs once this many are waiting, whatever the
// commit interval.
const maxBatch = 5000

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

// WithClock sets the wall clock, which bounds the merge of caught-up
// partitions and moves the watermark while the inputs are quiet; for tests.
func WithClock(now func() time.Time) Option { return func(p *Processor) { p.now = now } }

// Processor runs a Scorer on the bus. It reads its inputs (the raw topics
// and the jobs) and its own verdicts merged in one deterministic order —
// by record timestamp, then topic, partition and offset — scores every
// record, re-fetches the sampled ones through the Refetchers (one per
// connector name), and writes, in Kafka transactions:
//
//   - each closed window to scores.windows.v1, signed by the validator's
//     key: one batch signature over the windows one watermark step
//     closes, with a Merkle proof per window (the same bytes on every
//     replay);
//   - what it made of each record to scores.contributions.v1;
//   - each verdict to scores.verifications.v1, which it reads back as an
//     input, so a replay scores the verdicts where the live run did and
//     never re-fetches a record twice;
//   - a checkpoint (scores.checkpoints.v1) saying which input record the
//     committed outputs go up to;
//   - while its inputs are quiet, a tick (scores.ticks.v1) that it reads
//     back to move the watermark: the watermark moves only with what the
//     log holds, so a replay closes and revises each window where the live
//     run did, and writes the same bytes.
//
// On start it rebuilds its state by replaying its inputs from their start
// and writes only what comes after the checkpoint. Run one Processor per
// validator ID: its transactional ID fences any other.
type Processor struct {
	kcfg  streams.Config
	cfg   Config
	id    *identity.Identity
	refs  map[string]Refetcher
	log   *slog.Logger
	reg   prometheus.Registerer
	sopts []streams.Option
	now   func() time.Time
	m     *procMetrics
	types *schemas.Registry

	mu     sync.Mutex
	cancel context.CancelFunc
	closed bool
}

// NewProcessor checks the configuration and returns a processor that signs
// with id and re-fetches through refs, keyed by connector name (a record
// of a source without one is unverifiable); nothing connects until Run.
func NewProcessor(kcfg streams.Config, cfg Config, id *identity.Identity, refs map[string]Refetcher, opts ...Option) (*Processor, error) {
	if err := kcfg.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("validator config: %w", err)
	}
	if id == nil {
		return nil, errors.New("validator: no identity to sign with")
	}
	cat := streams.DefaultCatalog()
	for _, t := range cfg.Inputs {
		if _, err := cat.Lookup(t); err != nil {
			return nil, fmt.Errorf("validator config: inputs: %w", err)
		}
		if strings.HasPrefix(t, "scores.") {
			return nil, fmt.Errorf("validator config: inputs: %s is the validator's own output", t)
		}
	}
	p := &Processor{kcfg: kcfg, cfg: cfg, id: id, refs: refs, log: slog.New(slog.DiscardHandler), now: time.Now, types: schemas.Builtin()}
	for _, o := range opts {
		o(p)
	}
	p.log = p.log.With("processor", Name, "validator", cfg.ValidatorID)
	p.m = newProcMetrics(p.reg)
	return p, nil
}

// Spec names the processor and its topics.
func (p *Processor) Spec() streams.Spec {
	return streams.Spec{Name: Name, Version: ScoringVersion,
		Inputs:  append(slices.Clone(p.cfg.Inputs), VerdictsTopic, TicksTopic),
		Outputs: []string{WindowsTopic, ContributionsTopic, VerdictsTopic, CheckpointsTopic, TicksTopic}}
}

// Address is the validator's address, which signs its outputs.
func (p *Processor) Address() string { return p.id.Address() }

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

// Run replays the inputs to rebuild the state, then scores live records
// until ctx ends or Close is called; it then returns nil. It returns an
// error if Kafka cannot be reached or outputs cannot be committed: run it
// again and it resumes from its checkpoint.
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

// pos is a record's place in the merged input order.
type pos struct {
	ms    int64
	topic string
	part  int32
	off   int64
}

func recPos(r *kgo.Record) pos {
	return pos{ms: r.Timestamp.UnixMilli(), topic: r.Topic, part: r.Partition, off: r.Offset}
}

func (a pos) compare(b pos) int {
	return cmp.Or(cmp.Compare(a.ms, b.ms), strings.Compare(a.topic, b.topic), cmp.Compare(a.part, b.part), cmp.Compare(a.off, b.off))
}

func (p *Processor) run(ctx context.Context) error {
	txn, err := streams.NewTxnProducer(p.kcfg, Name, "fairstream-validator-"+p.cfg.ValidatorID, p.sopts...)
	if err != nil {
		return err
	}
	defer txn.Close()
	if err := streams.WaitReady(ctx, txn.Client(), p.kcfg, p.log); err != nil {
		return fmt.Errorf("validator: %w", err)
	}
	ckpt, err := p.readCheckpoint(ctx)
	if err != nil {
		return fmt.Errorf("validator: read %s: %w", CheckpointsTopic, err)
	}
	scorer, err := New(p.cfg, p.types, nil)
	if err != nil {
		return err
	}
	topics := append(slices.Clone(p.cfg.Inputs), VerdictsTopic, TicksTopic)
	m, assign, err := p.partitions(ctx, topics)
	if err != nil {
		return err
	}
	cl, err := streams.NewClient(p.kcfg, Name, append(slices.Clone(p.sopts), streams.WithKgoOpts(
		kgo.ConsumePartitions(assign),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	))...)
	if err != nil {
		return err
	}
	defer cl.Close()

	l := &vloop{p: p, s: scorer, txn: txn, m: m, pending: map[string]*pendingSample{}, lastCommit: p.now(), lastLog: p.now()}
	if ckpt != nil {
		l.ckpt = &pos{ms: ckpt.GetPositionTime().AsTime().UnixMilli(), topic: ckpt.GetPositionTopic(), part: ckpt.GetPositionPartition(), off: ckpt.GetPositionOffset()}
		p.log.Info("validator: replaying the inputs to rebuild the scores; outputs resume after the checkpoint",
			"checkpoint", ckpt.GetPositionTopic()+fmt.Sprintf("/%d@%d", ckpt.GetPositionPartition(), ckpt.GetPositionOffset()),
			"checkpoint_time", ckpt.GetPositionTime().AsTime().UTC().Format(time.RFC3339), "records", ckpt.GetRecords())
	} else {
		p.log.Info("validator: no checkpoint; scoring the inputs from their start", "partitions", len(m.parts))
	}
	p.m.replaying.Set(1)

	reqs := make(chan refetchReq, p.cfg.RefetchQueue)
	l.verdicts = make(chan Verification, p.cfg.RefetchQueue+p.cfg.RefetchWorkers)
	l.reqs = reqs
	var wg sync.WaitGroup
	rctx, rcancel := context.WithCancel(ctx)
	for range p.cfg.RefetchWorkers {
		wg.Go(func() { p.refetchWorker(rctx, reqs, l.verdicts) })
	}
	defer func() {
		rcancel()
		close(reqs)
		wg.Wait()
	}()

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
		fetches.EachPartition(func(ft kgo.FetchTopicPartition) {
			if ft.Err != nil {
				if !errors.Is(ft.Err, context.DeadlineExceeded) && !errors.Is(ft.Err, context.Canceled) {
					p.log.Warn("validator: fetch error; retrying", "topic", ft.Topic, "partition", ft.Partition, "err", ft.Err)
				}
				return
			}
			m.add(ft)
		})
		m.pause(cl, p.cfg.MaxBuffered)
		now := p.now()
		bound := now.Add(-p.cfg.MergeHold)
		for {
			rec := m.next(bound)
			if rec == nil {
				break
			}
			if err := l.record(ctx, rec); err != nil {
				return err
			}
		}
		m.pause(cl, p.cfg.MaxBuffered)
		if m.idle() {
			if err := l.caughtUp(ctx, bound); err != nil {
				return err
			}
		}
		l.drainVerdicts()
		if err := l.commit(ctx, false); err != nil {
			return err
		}
		l.progress(now)
	}
}

// readCheckpoint returns this validator's last checkpoint, or nil.
func (p *Processor) readCheckpoint(ctx context.Context) (*fairstreampb.ValidatorCheckpoint, error) {
	var last *fairstreampb.ValidatorCheckpoint
	err := streams.ReadToEnd(ctx, p.kcfg, CheckpointsTopic, func(rec *kgo.Record) error {
		if string(rec.Key) != p.cfg.ValidatorID {
			return nil
		}
		env, err := schemas.UnmarshalEnvelope(rec.Value)
		if err != nil {
			return fmt.Errorf("checkpoint at offset %d: %w", rec.Offset, err)
		}
		if err := identity.Verify(env); err != nil {
			p.log.Warn("validator: a checkpoint that does not verify is ignored", "offset", rec.Offset, "err", err)
			return nil
		}
		if env.GetWorker() != p.id.Address() {
			return fmt.Errorf("the checkpoint at offset %d of %s was written by %s, not by this validator's key %s: the key changed, or "+
				"two validators share the ID %q; restore the key that wrote it, or give this validator another validator.validator_id "+
				"(FAIRSTREAM_VALIDATOR_VALIDATOR_ID)", rec.Offset, CheckpointsTopic, env.GetWorker(), p.id.Address(), p.cfg.ValidatorID)
		}
		c := &fairstreampb.ValidatorCheckpoint{}
		if err := p.types.DecodeInto(env, c); err != nil {
			return fmt.Errorf("checkpoint at offset %d: %w", rec.Offset, err)
		}
		last = c
		return nil
	}, p.sopts...)
	if err != nil {
		return nil, err
	}
	if last != nil && last.GetScoringVersion() != ScoringVersion {
		p.log.Warn("validator: the checkpoint was written by another scoring version; windows written before it stay as they are",
			"checkpoint_version", last.GetScoringVersion(), "version", ScoringVersion)
	}
	return last, nil
}

// partitions lists the inputs' partitions with their start and end offsets.
func (p *Processor) partitions(ctx context.Context, topics []string) (*merger, map[string]map[int32]kgo.Offset, error) {
	cl, err := streams.NewClient(p.kcfg, Name+"-admin", p.sopts...)
	if err != nil {
		return nil, nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("validator: start offsets of %v: %w", topics, err)
	}
	ends, err := adm.ListCommittedOffsets(ctx, topics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("validator: end offsets of %v: %w", topics, err)
	}
	m := &merger{parts: map[tp]*partState{}}
	assign := map[string]map[int32]kgo.Offset{}
	starts.Each(func(o kadm.ListedOffset) {
		e, _ := ends.Lookup(o.Topic, o.Partition)
		ps := &partState{next: o.Offset, end: e.Offset}
		ps.caughtUp = ps.next >= ps.end
		m.parts[tp{o.Topic, o.Partition}] = ps
		if assign[o.Topic] == nil {
			assign[o.Topic] = map[int32]kgo.Offset{}
		}
		assign[o.Topic][o.Partition] = kgo.NewOffset().At(o.Offset)
	})
	for _, t := range topics {
		if assign[t] == nil {
			return nil, nil, fmt.Errorf("validator: input %s has no partitions: %w", t, streams.ErrUnknownTopic)
		}
	}
	return m, assign, nil
}

type tp struct {
	topic string
	part  int32
}

type partState struct {
	q        []*kgo.Record
	next     int64 // the offset after the last one fetched
	end      int64 // the last stable offset when last heard of
	caughtUp bool
	paused   bool
}

// merger releases the records of every input partition in one order: by
// (timestamp, topic, partition, offset). A record is released once every
// other partition either has a later record waiting or has nothing left to
// read and is taken to hold nothing older than the bound.
type merger struct {
	parts map[tp]*partState
}

func (m *merger) add(ft kgo.FetchTopicPartition) {
	ps := m.parts[tp{ft.Topic, ft.Partition}]
	if ps == nil {
		return
	}
	for _, r := range ft.Records {
		ps.next = r.Offset + 1
		if r.Attrs.IsControl() {
			continue
		}
		ps.q = append(ps.q, r)
	}
	if ft.LastStableOffset > ps.end {
		ps.end = ft.LastStableOffset
	}
	ps.caughtUp = ps.next >= ps.end
}

// next returns the next record in merge order, or nil if it is not known
// yet.
func (m *merger) next(bound time.Time) *kgo.Record {
	var best *partState
	var bp pos
	for _, ps := range m.parts {
		if len(ps.q) == 0 {
			continue
		}
		if rp := recPos(ps.q[0]); best == nil || rp.compare(bp) < 0 {
			best, bp = ps, rp
		}
	}
	if best == nil {
		return nil
	}
	for _, ps := range m.parts {
		if len(ps.q) > 0 {
			continue
		}
		if !ps.caughtUp || bp.ms > bound.UnixMilli() {
			return nil
		}
	}
	r := best.q[0]
	best.q[0] = nil
	best.q = best.q[1:]
	return r
}

// idle reports whether every partition is read to its end and released.
func (m *merger) idle() bool {
	for _, ps := range m.parts {
		if len(ps.q) > 0 || !ps.caughtUp {
			return false
		}
	}
	return true
}

// pause stops fetching partitions too far ahead of the merge and resumes
// the others.
func (m *merger) pause(cl *kgo.Client, limit int) {
	var stop, resume map[string][]int32
	for k, ps := range m.parts {
		switch {
		case !ps.paused && len(ps.q) >= limit:
			if stop == nil {
				stop = map[string][]int32{}
			}
			stop[k.topic] = append(stop[k.topic], k.part)
			ps.paused = true
		case ps.paused && len(ps.q) < limit/2:
			if resume == nil {
				resume = map[string][]int32{}
			}
			resume[k.topic] = append(resume[k.topic], k.part)
			ps.paused = false
		}
	}
	if stop != nil {
		cl.PauseFetchPartitions(stop)
	}
	if resume != nil {
		cl.ResumeFetchPartitions(resume)
	}
}

func (m *merger) buffered() int {
	n := 0
	for _, ps := range m.parts {
		n += len(ps.q)
	}
	return n
}

// pendingSample is a sampled record waiting for its verdict.
type pendingSample struct {
	env      *schemas.Envelope
	contrib  *fairstreampb.Contribution
	ingested time.Time
	queued   bool // handed to the re-fetchers
}

type refetchReq struct {
	env *schemas.Envelope
}

// outRec is an output waiting for the next commit. An output's bytes
// (signature included) must not depend on when it was committed, where
// that matters: the windows one Advance call emits share one batch
// signature (the call, and so the batch, is the same on every replay) and
// verdicts are signed one by one; the contributions and ticks of a commit
// share one batch signature.
type outRec struct {
	topic string
	env   *schemas.Envelope
	group int // sign: -1 on its own, 0 with the commit's, >0 with its Advance call's
}

// vloop is the state of one Run.
type vloop struct {
	p   *Processor
	s   *Scorer
	txn *streams.TxnProducer
	m   *merger

	ckpt     *pos      // outputs up to here are on the log already
	last     *pos      // the last record scored
	wm       time.Time // the last watermark given to the scorer
	read     int64     // records scored
	groups   int       // Advance calls that emitted windows
	tickSent time.Time // the last tick written

	replayDone bool
	pending    map[string]*pendingSample // by event ID
	reqs       chan<- refetchReq
	verdicts   chan Verification
	immediate  []Verification // verdicts given without a re-fetch (queue full)

	batch      []outRec
	lastCommit time.Time
	lastLog    time.Time
	lastEvents int64 // the scorer's events when progress was last logged
}

// replaying reports whether the outputs of the record at p are on the log.
func (l *vloop) replaying(p pos) bool { return l.ckpt != nil && p.compare(*l.ckpt) <= 0 }

func (l *vloop) record(ctx context.Context, rec *kgo.Record) error {
	p := l.p
	rp := recPos(rec)
	if rec.Topic == TicksTopic && string(rec.Key) != p.cfg.ValidatorID {
		return nil // another validator's clock
	}
	replay := l.replaying(rp)
	if !replay {
		l.ckpt = nil
	}
	l.last = &rp
	l.read++
	l.advance(rec.Timestamp, replay)

	env, err := schemas.UnmarshalEnvelope(rec.Value)
	if err != nil {
		p.m.skipped.WithLabelValues("decode").Inc()
		p.log.Warn("validator: undecodable record skipped", "topic", rec.Topic, "partition", rec.Partition, "offset", rec.Offset, "err", err)
		return nil
	}
	switch rec.Topic {
	case VerdictsTopic:
		return l.verdict(env, replay)
	case TicksTopic:
		return nil // it moved the watermark
	}
	a := l.s.Add(env, rec.Timestamp)
	switch {
	case env.GetWorker() == "" || env.GetType() == jobType:
		p.m.events.WithLabelValues("unattributed").Inc()
		return nil
	case a.Late:
		p.m.events.WithLabelValues("late").Inc()
	case a.Err != nil:
		p.m.events.WithLabelValues("invalid").Inc()
	default:
		p.m.events.WithLabelValues("valid").Inc()
	}
	if !strings.HasPrefix(env.GetType(), "raw.") {
		return nil // job statuses count in windows, not as contributions
	}
	if errors.Is(a.Err, identity.ErrBadSignature) {
		// Not the claimed worker's, and its event ID may be another
		// record's: a contribution row would overwrite that record's.
		return nil
	}
	c := &fairstreampb.Contribution{
		EventId: env.GetId(), Worker: env.GetWorker(), Source: env.GetSource(), EventType: env.GetType(),
		EventTime: env.GetTime(), Ingested: timestamppb.New(rec.Timestamp), Bytes: int64(len(env.GetPayload())),
		ContentHash: env.GetContentHash(), Valid: a.Err == nil, Unique: a.Unique, Duplicate: a.Duplicate,
		Verification: "unsampled", WindowStart: timestamppb.New(a.Window), Validator: p.cfg.ValidatorID, Late: a.Late,
	}
	if a.Err != nil {
		c.InvalidReason = a.Err.Error()
	}
	if a.Sample {
		c.Verification = "sampled"
		ps := &pendingSample{env: env, contrib: c, ingested: rec.Timestamp}
		l.pending[env.GetId()] = ps
		p.m.pending.Set(float64(len(l.pending)))
		if !replay {
			l.enqueue(ps)
		}
	}
	if replay {
		return nil
	}
	return l.output(ContributionsTopic, c, env.GetId(), int(c.GetRevision()), rec.Timestamp, false)
}

// verdict scores a verdict read back from the log.
func (l *vloop) verdict(env *schemas.Envelope, replay bool) error {
	p := l.p
	if env.GetWorker() != p.id.Address() {
		return nil // another validator's
	}
	if err := identity.Verify(env); err != nil {
		p.m.skipped.WithLabelValues("signature").Inc()
		p.log.Warn("validator: verdict with a bad signature skipped", "id", env.GetId(), "err", err)
		return nil
	}
	v := &fairstreampb.Verdict{}
	if err := p.types.DecodeIntoTrusted(env, v); err != nil {
		p.m.skipped.WithLabelValues("decode").Inc()
		return nil
	}
	ps := l.pending[v.GetEventId()]
	if ps == nil {
		// Not a sample of this run's log (a second verdict on one
		// record, or a record gone with retention): it does not count.
		p.m.skipped.WithLabelValues("verdict_without_sample").Inc()
		return nil
	}
	delete(l.pending, v.GetEventId())
	p.m.pending.Set(float64(len(l.pending)))
	ver := Verification{Worker: v.GetWorker(), EventID: v.GetEventId(), Time: v.GetEventTime().AsTime(), Reason: v.GetReason()}
	switch v.GetResult() {
	case Verified.String():
		ver.Result = Verified
	case Mismatch.String():
		ver.Result = Mismatch
	default:
		ver.Result = Unverifiable
	}
	l.s.AddVerification(ver)
	p.m.verdicts.WithLabelValues(ver.Result.String()).Inc()
	if replay {
		return nil
	}
	c := proto.CloneOf(ps.contrib)
	c.Revision = 1
	c.Verification = ver.Result.String()
	return l.output(ContributionsTopic, c, c.GetEventId(), 1, ps.ingested, false)
}

// enqueue hands a sample to the re-fetchers; a full queue makes it
// unverifiable at once.
func (l *vloop) enqueue(ps *pendingSample) {
	if ps.queued {
		return
	}
	ps.queued = true
	select {
	case l.reqs <- refetchReq{env: ps.env}:
	default:
		l.p.m.queueFull.Inc()
		l.immediate = append(l.immediate, Verification{Worker: ps.env.GetWorker(), EventID: ps.env.GetId(), Time: ps.env.GetTime().AsTime(),
			Result: Unverifiable, Reason: "validator fault: the re-fetch queue is full"})
	}
}

// advance moves the scorer's watermark and writes the windows it closes,
// unless their outputs are on the log already.
func (l *vloop) advance(wm time.Time, replay bool) {
	if wm.IsZero() || !wm.After(l.wm) {
		return
	}
	l.wm = wm
	ws := l.s.Advance(wm)
	if replay || len(ws) == 0 {
		return
	}
	l.groups++
	for _, w := range ws {
		l.p.m.windows.Inc()
		env, err := Envelope(l.p.types, l.p.cfg.ValidatorID, w)
		if err != nil {
			l.p.log.Error("validator: window not written", "key", WindowKey(w), "err", err)
			continue
		}
		l.batch = append(l.batch, outRec{topic: WindowsTopic, env: env, group: l.groups})
	}
	l.p.m.watermark.Set(float64(wm.UnixNano()) / 1e9)
}

// output wraps m for topic, keyed by key, with an ID derived from (key,
// revision) and times t, and adds it to the batch; single: it is signed on
// its own.
func (l *vloop) output(topic string, m proto.Message, key string, revision int, t time.Time, single bool) error {
	group := 0
	if single {
		group = -1
	}
	kind := topic[strings.IndexByte(topic, '.')+1:]
	env, err := l.p.types.Wrap(m, schemas.Meta{
		ID:     schemas.DeriveID(key, kind+"/"+l.p.cfg.ValidatorID, revision, t),
		Source: Name, Time: t, Ingested: t, Key: key,
	})
	if err != nil {
		return fmt.Errorf("validator: wrap %s: %w", topic, err)
	}
	l.batch = append(l.batch, outRec{topic: topic, env: env, group: group})
	return nil
}

// caughtUp runs when every input is read to its end: the replay is over
// (samples left without a verdict are re-fetched now) and the watermark
// follows the wall clock.
func (l *vloop) caughtUp(ctx context.Context, bound time.Time) error {
	if !l.replayDone {
		l.replayDone = true
		for _, ps := range l.sortedPending() {
			l.enqueue(ps)
		}
		l.p.m.replaying.Set(0)
		l.p.log.Info("validator: replay done; scoring live", "records", l.read, "watermark", l.wm.UTC().Format(time.RFC3339), "samples_to_refetch", len(l.pending))
	}
	// Time passes: a tick moves the watermark once it is read back.
	if l.s.Stats().Events > 0 && bound.Sub(l.wm) >= l.p.cfg.TickInterval && bound.Sub(l.tickSent) >= l.p.cfg.TickInterval {
		t := &fairstreampb.ValidatorTick{Validator: l.p.cfg.ValidatorID, Watermark: timestamppb.New(bound)}
		if err := l.output(TicksTopic, t, l.p.cfg.ValidatorID, 0, bound, true); err != nil {
			return err
		}
		l.tickSent = bound
		return l.commit(ctx, true)
	}
	return nil
}

func (l *vloop) sortedPending() []*pendingSample {
	out := make([]*pendingSample, 0, len(l.pending))
	for _, ps := range l.pending {
		out = append(out, ps)
	}
	slices.SortFunc(out, func(a, b *pendingSample) int { return strings.Compare(a.env.GetId(), b.env.GetId()) })
	return out
}

// drainVerdicts writes the verdicts the re-fetchers returned; they are
// scored when read back.
func (l *vloop) drainVerdicts() {
	for len(l.immediate) > 0 {
		v := l.immediate[0]
		l.immediate = l.immediate[1:]
		l.writeVerdict(v)
	}
	for {
		select {
		case v := <-l.verdicts:
			l.writeVerdict(v)
		default:
			return
		}
	}
}

// writeVerdict adds a verdict to the outputs; it is scored when read back.
func (l *vloop) writeVerdict(v Verification) {
	d := &fairstreampb.Verdict{EventId: v.EventID, Worker: v.Worker, EventTime: timestamppb.New(v.Time),
		Result: v.Result.String(), Reason: v.Reason, Validator: l.p.cfg.ValidatorID}
	if ps := l.pending[v.EventID]; ps != nil {
		d.Source = ps.env.GetSource()
	}
	if err := l.output(VerdictsTopic, d, v.EventID, 0, v.Time, true); err != nil {
		l.p.log.Error("validator: verdict not written", "id", v.EventID, "err", err)
	}
}

// commit writes the batch and the checkpoint in one transaction, once the
// commit interval has passed or the batch is large.
func (l *vloop) commit(ctx context.Context, force bool) error {
	if len(l.batch) == 0 {
		return nil
	}
	now := l.p.now()
	if !force && len(l.batch) < maxBatch && now.Sub(l.lastCommit) < l.p.cfg.CommitInterval {
		return nil
	}
	groups := map[int][]*schemas.Envelope{}
	for _, o := range l.batch {
		if o.group < 0 {
			if err := l.p.id.Sign(o.env); err != nil {
				return err
			}
			continue
		}
		groups[o.group] = append(groups[o.group], o.env)
	}
	for _, envs := range groups {
		if err := l.p.id.SignBatch(envs); err != nil {
			return fmt.Errorf("validator: sign %d outputs: %w", len(envs), err)
		}
	}
	recs := make([]*kgo.Record, 0, len(l.batch)+1)
	for _, o := range l.batch {
		rec, err := l.txn.Record(o.topic, o.env)
		if err != nil {
			return fmt.Errorf("validator: %w", err)
		}
		if o.topic == TicksTopic {
			rec.Timestamp = o.env.GetTime().AsTime() // its place in the merge
		}
		recs = append(recs, rec)
	}
	if l.last != nil {
		c := &fairstreampb.ValidatorCheckpoint{
			Validator: l.p.cfg.ValidatorID, PositionTime: timestamppb.New(time.UnixMilli(l.last.ms)),
			PositionTopic: l.last.topic, PositionPartition: l.last.part, PositionOffset: l.last.off,
			Watermark: timestamppb.New(l.wm), Records: l.read, ScoringVersion: ScoringVersion,
		}
		env, err := l.p.types.Wrap(c, schemas.Meta{Source: Name, Time: now, Key: l.p.cfg.ValidatorID})
		if err != nil {
			return err
		}
		if err := l.p.id.Sign(env); err != nil {
			return err
		}
		rec, err := l.txn.Record(CheckpointsTopic, env)
		if err != nil {
			return err
		}
		recs = append(recs, rec)
	}
	start := time.Now()
	if err := l.txn.Commit(ctx, recs); err != nil {
		return fmt.Errorf("validator: commit %d outputs: %w", len(recs), err)
	}
	l.p.m.commitSeconds.Observe(time.Since(start).Seconds())
	l.p.m.outputs.Add(float64(len(l.batch)))
	clear(l.batch)
	l.batch = l.batch[:0]
	l.lastCommit = now
	return nil
}

// progress logs every 10 seconds while records come (or the replay
// runs); a quiet validator stays quiet.
func (l *vloop) progress(now time.Time) {
	st := l.s.Stats()
	if now.Sub(l.lastLog) < 10*time.Second || (l.replayDone && st.Events == l.lastEvents) {
		return
	}
	l.lastLog, l.lastEvents = now, st.Events
	state := "live"
	if !l.replayDone {
		state = "replaying"
	}
	l.p.log.Info("validator: progress", "state", state, "records", l.read, "watermark", l.wm.UTC().Format(time.RFC3339),
		"invalid", st.Invalid, "late", st.LateDropped, "indexed", st.Indexed, "buffered", l.m.buffered(), "samples_pending", len(l.pending))
}

// refetchWorker re-fetches samples until ctx ends.
func (p *Processor) refetchWorker(ctx context.Context, reqs <-chan refetchReq, out chan<- Verification) {
	for {
		select {
		case <-ctx.Done():
			return
		case r, ok := <-reqs:
			if !ok {
				return
			}
			v := p.verify(ctx, r.env)
			select {
			case out <- v:
			case <-ctx.Done():
				return
			}
		}
	}
}

func (p *Processor) verify(ctx context.Context, env *schemas.Envelope) Verification {
	ref := p.refs[env.GetSource()]
	if ref == nil {
		return Verification{Worker: env.GetWorker(), EventID: env.GetId(), Time: env.GetTime().AsTime(), Result: Unverifiable,
			Reason: fmt.Sprintf("validator fault: no %s connector configured to re-fetch with", env.GetSource())}
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.RefetchTimeout)
	defer cancel()
	v := Verify(ctx, ref, p.types, env)
	if v.Result != Verified {
		p.log.Info("validator: sampled record not verified", "worker", v.Worker, "id", v.EventID, "result", v.Result.String(), "reason", v.Reason)
	}
	return v
}

type procMetrics struct {
	events        *prometheus.CounterVec
	skipped       *prometheus.CounterVec
	verdicts      *prometheus.CounterVec
	windows       prometheus.Counter
	outputs       prometheus.Counter
	queueFull     prometheus.Counter
	pending       prometheus.Gauge
	replaying     prometheus.Gauge
	watermark     prometheus.Gauge
	commitSeconds prometheus.Histogram
}

func newProcMetrics(reg prometheus.Registerer) *procMetrics {
	return &procMetrics{
		events: streams.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fairstream_validator_events_total", Help: "Input records scored, by outcome: valid, invalid (schema or signature), late (after the allowed lateness: kept in the log, not scored), unattributed (no worker)."}, []string{"outcome"})),
		skipped: streams.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fairstream_validator_skipped_total", Help: "Input records that could not be read at all, by reason."}, []string{"reason"})),
		verdicts: streams.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fairstream_validator_verdicts_total", Help: "Re-fetch verdicts scored, by result."}, []string{"result"})),
		windows: streams.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fairstream_validator_windows_total", Help: "Worker windows written, revisions included."})),
		outputs: streams.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fairstream_validator_outputs_total", Help: "Records committed to the validator's output topics (checkpoints excluded)."})),
		queueFull: streams.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fairstream_validator_refetch_queue_full_total", Help: "Samples made unverifiable because the re-fetch queue was full."})),
		pending: streams.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "fairstream_validator_samples_pending", Help: "Sampled records waiting for their verdict."})),
		replaying: streams.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "fairstream_validator_replaying", Help: "1 while the validator replays its inputs to rebuild its state."})),
		watermark: streams.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "fairstream_validator_watermark_seconds", Help: "The scorer's watermark, as Unix seconds."})),
		commitSeconds: streams.Register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "fairstream_validator_commit_seconds", Help: "Time to commit one transaction of outputs.", Buckets: prometheus.DefBuckets})),
	}
}
