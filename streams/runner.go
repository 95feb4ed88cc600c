package streams

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/schemas"
)

// Spec declares a stage. Name is also the consumer group and part of the
// transactional ID: declare it as a constant, because renaming a stage makes
// it consume every input again from the start.
type Spec struct {
	Name string
	// Version is the stage's logic version, recorded in lineage.
	Version string
	Inputs  []string
	Outputs []string
}

// Event is one decoded input record.
type Event[P proto.Message] struct {
	Envelope  *schemas.Envelope
	Payload   P
	Topic     string
	Partition int32
	Offset    int64
}

// Output is one payload a stage emits for an input event.
type Output[P proto.Message] struct {
	// Topic is one of Spec.Outputs; it may be empty when there is only one.
	Topic string
	// Key is the partition key; empty keeps the input's key.
	Key string
	// Time is the event time; zero keeps the input's time.
	Time    time.Time
	Payload P
}

// Func processes one input event. It must be deterministic for a given
// input and stage version. An error is retried with backoff unless it is
// wrapped with Permanent; a record that still fails goes to the DLQ.
type Func[I, O proto.Message] func(ctx context.Context, in Event[I]) ([]Output[O], error)

// Stage is a typed processing function plus its spec.
type Stage[I, O proto.Message] struct {
	Spec    Spec
	Process Func[I, O]
}

// RunnerConfig tunes the processor runtime.
type RunnerConfig struct {
	// Transactional commits consumed offsets atomically with outputs
	// (exactly-once). Off, outputs are flushed before offsets are
	// committed (at-least-once).
	Transactional bool `mapstructure:"transactional"`
	// InstanceID tells replicas of one stage apart; it makes the
	// transactional ID, which must be stable across restarts of one
	// replica and unique among live replicas. Empty uses the host name.
	InstanceID string `mapstructure:"instance_id"`
	// MaxAttempts is how many times a record is processed before it is
	// dead-lettered.
	MaxAttempts    int           `mapstructure:"max_attempts"`
	BackoffInitial time.Duration `mapstructure:"backoff_initial"`
	BackoffMax     time.Duration `mapstructure:"backoff_max"`
	// TransactionTimeout bounds one batch's transaction on the broker.
	TransactionTimeout time.Duration `mapstructure:"transaction_timeout"`
	// SessionTimeout is how long the group waits for a silent member;
	// it bounds how long a crashed replica's partitions stay unowned.
	SessionTimeout time.Duration `mapstructure:"session_timeout"`
	// MaxPollRecords caps the records in one batch (one transaction).
	MaxPollRecords int `mapstructure:"max_poll_records"`
	// Concurrency is how many partitions of a batch are processed at once;
	// records of one partition are always processed in order. 0 means one
	// per CPU but one, which is left to the client's compression and I/O:
	// franz-go compresses each broker's batches on one goroutine, and
	// starving it stalls the whole stage.
	Concurrency int `mapstructure:"concurrency"`
	// VerifyContentHash recomputes every input's content hash and
	// dead-letters a mismatch. Off, the runner trusts the bus: producers,
	// the bridge and the validator check hashes (and signatures, which a
	// hash alone cannot replace), and Kafka's CRCs cover the bytes in
	// between; the check costs a SHA-256 of every payload.
	VerifyContentHash bool `mapstructure:"verify_content_hash"`
	// ShutdownTimeout bounds aborting or committing the open batch and
	// leaving the group on shutdown.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
}

// DefaultRunnerConfig returns exactly-once processing with three attempts.
func DefaultRunnerConfig() RunnerConfig {
	return RunnerConfig{
		Transactional:      true,
		MaxAttempts:        3,
		BackoffInitial:     100 * time.Millisecond,
		BackoffMax:         5 * time.Second,
		TransactionTimeout: time.Minute,
		SessionTimeout:     10 * time.Second,
		MaxPollRecords:     5000,
		ShutdownTimeout:    10 * time.Second,
	}
}

// Validate reports invalid settings, naming their keys.
func (c RunnerConfig) Validate() error {
	var errs []error
	if c.MaxAttempts < 1 {
		errs = append(errs, fmt.Errorf("max_attempts: must be >= 1, got %d", c.MaxAttempts))
	}
	if c.BackoffInitial <= 0 || c.BackoffMax < c.BackoffInitial {
		errs = append(errs, fmt.Errorf("backoff_initial, backoff_max: need 0 < backoff_initial <= backoff_max, got %s and %s", c.BackoffInitial, c.BackoffMax))
	}
	if c.TransactionTimeout < time.Second || c.TransactionTimeout > 15*time.Minute {
		errs = append(errs, fmt.Errorf("transaction_timeout: must be between 1s and 15m, got %s", c.TransactionTimeout))
	}
	if c.Transactional && c.MaxAttempts > 1 && c.worstRetry() >= c.TransactionTimeout {
		errs = append(errs, fmt.Errorf("transaction_timeout: %s is shorter than the worst-case retry backoff of one record (%s); raise it or lower max_attempts/backoff_max", c.TransactionTimeout, c.worstRetry()))
	}
	if c.SessionTimeout < 6*time.Second || c.SessionTimeout > 5*time.Minute {
		errs = append(errs, fmt.Errorf("session_timeout: must be between 6s and 5m (the brokers' limits), got %s", c.SessionTimeout))
	}
	if c.MaxPollRecords < 1 {
		errs = append(errs, fmt.Errorf("max_poll_records: must be >= 1, got %d", c.MaxPollRecords))
	}
	if c.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("concurrency: must be >= 0 (0: one per CPU but one), got %d", c.Concurrency))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("shutdown_timeout: must be > 0, got %s", c.ShutdownTimeout))
	}
	if strings.ContainsAny(c.InstanceID, " \t\n/") {
		errs = append(errs, fmt.Errorf("instance_id: %q must not contain spaces or slashes", c.InstanceID))
	}
	return errors.Join(errs...)
}

func (c RunnerConfig) backoff(attempt int) time.Duration {
	d := c.BackoffInitial << min(attempt-1, 20)
	if d <= 0 || d > c.BackoffMax {
		d = c.BackoffMax
	}
	// Full jitter in [d/2, d): replicas retrying one failing dependency spread out.
	return d/2 + rand.N(d/2+1)
}

func (c RunnerConfig) worstRetry() time.Duration {
	var total time.Duration
	for a := 1; a < c.MaxAttempts; a++ {
		total += min(c.BackoffInitial<<min(a-1, 20), c.BackoffMax)
	}
	return total
}

// handler is a stage with its types erased: it turns one input record into
// output records, or reports why not.
type handler func(ctx context.Context, rec *kgo.Record) ([]*kgo.Record, *failure)

type failure struct {
	class    string
	err      error
	attempts int
	shutdown bool // ctx ended: abandon the batch, do not dead-letter
}

// Runner runs one stage: consume its inputs, process, produce its outputs,
// and commit, until its context ends. Create it with NewRunner.
type Runner struct {
	spec    Spec
	kcfg    Config
	cfg     RunnerConfig
	handle  handler
	opts    *options
	log     *slog.Logger
	metrics *stageMetrics

	mu      sync.Mutex
	running bool
	cancel  context.CancelFunc
	done    chan struct{}
	closed  bool
}

// NewRunner checks the stage against the catalog and the registry — every
// input topic must carry I's event type and every output topic O's — and
// returns a runner for it. Nothing connects until Run.
func NewRunner[I, O proto.Message](kcfg Config, cfg RunnerConfig, stage Stage[I, O], opts ...Option) (*Runner, error) {
	if err := kcfg.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := newOptions(opts)
	spec := stage.Spec
	if spec.Name == "" || strings.ContainsAny(spec.Name, " /") {
		return nil, fmt.Errorf("stage name %q: must be non-empty, without spaces or slashes", spec.Name)
	}
	if len(spec.Inputs) == 0 || len(spec.Outputs) == 0 || stage.Process == nil {
		return nil, fmt.Errorf("stage %s: needs input topics, output topics and a Process func", spec.Name)
	}
	inType, err := schemas.TypeFor[I](o.registry)
	if err != nil {
		return nil, fmt.Errorf("stage %s input: %w", spec.Name, err)
	}
	outType, err := schemas.TypeFor[O](o.registry)
	if err != nil {
		return nil, fmt.Errorf("stage %s output: %w", spec.Name, err)
	}
	check := func(role, want string, topics []string) error {
		for _, name := range topics {
			t, err := o.catalog.Lookup(name)
			if err != nil {
				return fmt.Errorf("stage %s %s: %w", spec.Name, role, err)
			}
			if t.PayloadType != want {
				return fmt.Errorf("stage %s %s: topic %s carries %q, the stage's %s type is %s", spec.Name, role, name, t.PayloadType, role, want)
			}
		}
		return nil
	}
	if err := check("input", inType, spec.Inputs); err != nil {
		return nil, err
	}
	if err := check("output", outType, spec.Outputs); err != nil {
		return nil, err
	}
	r := &Runner{
		spec:    spec,
		kcfg:    kcfg,
		cfg:     cfg,
		opts:    o,
		log:     o.logger.With("stage", spec.Name),
		metrics: o.metrics.forStage(spec.Name),
	}
	r.handle = typedHandler(r, stage, inType, outType)
	return r, nil
}

// Spec returns the stage's spec.
func (r *Runner) Spec() Spec { return r.spec }

// typedHandler decodes the input, calls the stage with retries, and encodes
// its outputs as derived envelopes.
func typedHandler[I, O proto.Message](r *Runner, stage Stage[I, O], inType, outType string) handler {
	reg := r.opts.registry
	var zero I
	newIn := func() I { return zero.ProtoReflect().New().Interface().(I) }
	spec := stage.Spec
	maxRecord := r.kcfg.Producer.BatchMaxBytes - recordOverhead
	// Every output carries the same type header; records share it.
	typeHeader := []kgo.RecordHeader{{Key: HeaderType, Value: []byte(outType)}}
	return func(ctx context.Context, rec *kgo.Record) ([]*kgo.Record, *failure) {
		env, err := schemas.UnmarshalEnvelope(rec.Value)
		if err != nil {
			return nil, &failure{class: ClassDecode, err: err}
		}
		in := newIn()
		decode := reg.DecodeIntoTrusted
		if r.cfg.VerifyContentHash {
			decode = reg.DecodeInto
		}
		if err := decode(env, in); err != nil {
			return nil, &failure{class: ClassDecode, err: err}
		}
		ev := Event[I]{Envelope: env, Payload: in, Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset}

		var outs []Output[O]
		for attempt := 1; ; attempt++ {
			outs, err = callStage(ctx, stage.Process, ev)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return nil, &failure{shutdown: true, err: ctx.Err()}
			}
			var pe panicError
			if errors.As(err, &pe) {
				return nil, &failure{class: ClassPanic, err: err, attempts: attempt}
			}
			if errors.Is(err, ErrPermanent) || attempt >= r.cfg.MaxAttempts {
				return nil, &failure{class: ClassProcess, err: err, attempts: attempt}
			}
			r.metrics.retries.Inc()
			wait := r.cfg.backoff(attempt)
			r.log.Warn("processing failed, retrying", "topic", rec.Topic, "partition", rec.Partition, "offset", rec.Offset,
				"attempt", attempt, "max_attempts", r.cfg.MaxAttempts, "backoff", wait, "err", err)
			select {
			case <-ctx.Done():
				return nil, &failure{shutdown: true, err: ctx.Err()}
			case <-time.After(wait):
			}
		}

		recs := make([]*kgo.Record, 0, len(outs))
		for i, out := range outs {
			topic := out.Topic
			if topic == "" && len(spec.Outputs) == 1 {
				topic = spec.Outputs[0]
			}
			if !slices.Contains(spec.Outputs, topic) {
				return nil, &failure{class: ClassOutput, attempts: 1,
					err: fmt.Errorf("stage returned output %d for topic %q, which is not one of its outputs %v", i, out.Topic, spec.Outputs)}
			}
			orec, err := derive(env, spec.Name, i, topic, typeHeader, out.Key, out.Time, out.Payload)
			if err != nil {
				return nil, &failure{class: ClassOutput, err: err, attempts: 1}
			}
			// An output the broker would refuse would abort every
			// transaction it is in, for ever: dead-letter its input now.
			if size := recordSize(orec); size > maxRecord {
				return nil, &failure{class: ClassOutput, attempts: 1,
					err: fmt.Errorf("output %d is %d bytes, over the %d-byte limit (kafka.producer.batch_max_bytes)", i, size, maxRecord)}
			}
			recs = append(recs, orec)
		}
		return recs, nil
	}
}

// derive builds the record of the index-th output a stage makes from in.
// Everything in its envelope comes from the input and the stage, so a
// replay of the log produces byte-identical outputs.
func derive(in *schemas.Envelope, stage string, index int, topic string, headers []kgo.RecordHeader, key string, t time.Time, m proto.Message) (*kgo.Record, error) {
	ts := in.GetTime()
	if !t.IsZero() {
		ts = timestamppb.New(t)
	}
	if key == "" {
		key = in.GetKey()
	}
	env := &schemas.Envelope{
		Id:            schemas.DeriveID(in.GetId(), stage, index, ts.AsTime()),
		Type:          string(headers[0].Value),
		Source:        stage,
		Time:          ts,
		Ingested:      in.GetIngested(),
		Key:           key,
		CausationId:   in.GetId(),
		CorrelationId: in.GetCorrelationId(),
	}
	value, err := schemas.SealEnvelope(env, m)
	if err != nil {
		return nil, err
	}
	rec := &kgo.Record{Topic: topic, Value: value, Headers: headers}
	if key != "" {
		rec.Key = []byte(key)
	}
	return rec, nil
}

// recordOverhead is a generous bound on a record's framing in a batch.
const recordOverhead = 512

func recordSize(r *kgo.Record) int {
	n := len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

type panicError struct{ msg string }

func (p panicError) Error() string { return p.msg }

// callStage runs the stage function, turning a panic into an error.
func callStage[I, O proto.Message](ctx context.Context, fn Func[I, O], ev Event[I]) (outs []Output[O], err error) {
	defer func() {
		if v := recover(); v != nil {
			err = panicError{fmt.Sprintf("stage panicked: %v\n%s", v, debug.Stack())}
		}
	}()
	return fn(ctx, ev)
}

// Run consumes, processes and commits until ctx ends or a fatal error. On
// return the open batch is committed (if it was fully processed) or aborted,
// the group is left and the client closed. Run may be called once.
func (r *Runner) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.closed || r.running {
		r.mu.Unlock()
		if r.closed {
			return ErrClosed
		}
		return errors.New("runner: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	r.running, r.cancel, r.done = true, cancel, make(chan struct{})
	r.mu.Unlock()
	defer func() {
		cancel()
		close(r.done)
	}()
	if r.cfg.Transactional {
		return r.runTransactional(ctx)
	}
	return r.runAtLeastOnce(ctx)
}

// Close stops a running Run and waits for it to return. It is idempotent and
// safe before, during and after Run.
func (r *Runner) Close() {
	r.mu.Lock()
	r.closed = true
	cancel, done := r.cancel, r.done
	r.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (r *Runner) instanceID() string {
	if r.cfg.InstanceID != "" {
		return r.cfg.InstanceID
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		return "local"
	}
	return host
}

func (r *Runner) consumerOpts() ([]kgo.Opt, error) {
	kopts, err := r.kcfg.clientOpts(r.spec.Name, r.opts)
	if err != nil {
		return nil, err
	}
	kopts = append(kopts, r.kcfg.Producer.producerOpts()...)
	kopts = append(kopts,
		kgo.ConsumerGroup(r.spec.Name),
		kgo.ConsumeTopics(r.spec.Inputs...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(r.cfg.SessionTimeout),
		kgo.DisableAutoCommit(),
	)
	return kopts, nil
}

// batch holds what one poll produced.
type batch struct {
	in, dlq, skipped map[string]int
	out              map[string]int
	n                int
	// done lists the records fully handled (outputs or dead letter handed
	// to produce), in partition order.
	done []*kgo.Record
}

func newBatch() *batch {
	return &batch{in: map[string]int{}, dlq: map[string]int{}, skipped: map[string]int{}, out: map[string]int{}}
}

func (b *batch) merge(o *batch) {
	for t, n := range o.in {
		b.in[t] += n
	}
	for t, n := range o.dlq {
		b.dlq[t] += n
	}
	for t, n := range o.skipped {
		b.skipped[t] += n
	}
	for t, n := range o.out {
		b.out[t] += n
	}
	b.n += o.n
	b.done = append(b.done, o.done...)
}

func (b *batch) report(m *stageMetrics) {
	for t, n := range b.in {
		m.record(t, "processed", n)
	}
	for t, n := range b.skipped {
		m.record(t, "skipped", n)
	}
	for t, n := range b.dlq {
		m.record(t, "dlq", n)
	}
	for t, n := range b.out {
		m.output(t, n)
	}
	m.batchRecords.Observe(float64(b.n))
}

// processBatch runs every record of fetches through the handler and hands
// the outputs and dead letters to produce, which must be safe for
// concurrent use. Partitions are processed concurrently (up to
// cfg.Concurrency), each in offset order, so outputs keep their input's
// order per partition. It returns the batch and false if ctx ended before
// every record was handled; the caller then abandons the rest.
func (r *Runner) processBatch(ctx context.Context, fetches kgo.Fetches, produce func(*kgo.Record)) (*batch, bool) {
	var parts [][]*kgo.Record
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) > 0 {
			parts = append(parts, p.Records)
		}
	})
	workers := r.cfg.Concurrency
	if workers == 0 {
		workers = max(1, runtime.GOMAXPROCS(0)-1)
	}
	workers = min(workers, len(parts))
	if workers <= 1 {
		b := newBatch()
		for _, recs := range parts {
			if !r.processRecords(ctx, recs, b, produce) {
				return b, false
			}
		}
		return b, true
	}

	results := make([]*batch, len(parts))
	var (
		next    atomic.Int64
		stopped atomic.Bool
		wg      sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(parts) || stopped.Load() {
					return
				}
				results[i] = newBatch()
				if !r.processRecords(ctx, parts[i], results[i], produce) {
					stopped.Store(true)
					return
				}
			}
		}()
	}
	wg.Wait()
	b := newBatch()
	for _, res := range results {
		if res != nil {
			b.merge(res)
		}
	}
	return b, !stopped.Load()
}

// processRecords handles one partition's records in order.
func (r *Runner) processRecords(ctx context.Context, recs []*kgo.Record, b *batch, produce func(*kgo.Record)) bool {
	start := time.Now()
	for _, rec := range recs {
		outs, f := r.handle(ctx, rec)
		now := time.Now()
		r.metrics.processSecs.Observe(now.Sub(start).Seconds())
		start = now
		switch {
		case f != nil && f.shutdown:
			return false
		case f != nil:
			r.log.Error("record dead-lettered", "topic", rec.Topic, "partition", rec.Partition, "offset", rec.Offset,
				"class", f.class, "attempts", f.attempts, "reason", f.err)
			produce(deadLetter(rec, r.spec.Name, f.class, f.err.Error(), f.attempts))
			b.dlq[rec.Topic]++
		case len(outs) == 0:
			b.skipped[rec.Topic]++
		default:
			for _, o := range outs {
				produce(o)
				b.out[o.Topic]++
			}
			b.in[rec.Topic]++
		}
		b.n++
		b.done = append(b.done, rec)
	}
	return true
}

// checkFetchErrors logs fetch errors the client retries and returns one it
// cannot get past (authorization).
func (r *Runner) checkFetchErrors(fetches kgo.Fetches) error {
	for _, fe := range fetches.Errors() {
		switch {
		case errors.Is(fe.Err, kgo.ErrClientClosed), errors.Is(fe.Err, context.Canceled), errors.Is(fe.Err, context.DeadlineExceeded):
		case errors.Is(fe.Err, kerr.TopicAuthorizationFailed), errors.Is(fe.Err, kerr.GroupAuthorizationFailed),
			errors.Is(fe.Err, kerr.TransactionalIDAuthorizationFailed):
			return fmt.Errorf("stage %s: topic %s: %w", r.spec.Name, fe.Topic, fe.Err)
		default:
			r.log.Warn("fetch error; the client retries it", "topic", fe.Topic, "partition", fe.Partition, "err", fe.Err)
		}
	}
	return nil
}

func (r *Runner) runTransactional(ctx context.Context) error {
	kopts, err := r.consumerOpts()
	if err != nil {
		return err
	}
	txnID := fmt.Sprintf("%s.%s.%s", r.kcfg.ClientID, r.spec.Name, r.instanceID())
	kopts = append(kopts,
		kgo.TransactionalID(txnID),
		kgo.TransactionTimeout(r.cfg.TransactionTimeout),
	)
	sess, err := kgo.NewGroupTransactSession(append(kopts, r.opts.kgoOpts...)...)
	if err != nil {
		return fmt.Errorf("stage %s: kafka client: %w", r.spec.Name, err)
	}
	defer r.closeClient(sess.Close)
	if err := WaitReady(ctx, sess.Client(), r.kcfg, r.log); err != nil {
		return fmt.Errorf("stage %s: %w", r.spec.Name, err)
	}
	r.log.Info("stage running", "inputs", r.spec.Inputs, "outputs", r.spec.Outputs, "group", r.spec.Name,
		"transactional_id", txnID, "mode", "exactly-once")

	for {
		fetches := sess.PollRecords(ctx, r.cfg.MaxPollRecords)
		if ctx.Err() != nil {
			return nil
		}
		if fetches.IsClientClosed() {
			return fmt.Errorf("stage %s: client closed", r.spec.Name)
		}
		if err := r.checkFetchErrors(fetches); err != nil {
			return err
		}
		if fetches.NumRecords() == 0 {
			continue
		}
		if err := sess.Begin(); err != nil {
			return fmt.Errorf("stage %s: begin transaction: %w", r.spec.Name, err)
		}
		var (
			perrMu sync.Mutex
			perr   error
		)
		promise := func(rec *kgo.Record, err error) {
			if err != nil {
				perrMu.Lock()
				if perr == nil {
					perr = fmt.Errorf("produce to %s: %w", rec.Topic, err)
				}
				perrMu.Unlock()
			}
		}
		// Outputs are produced on a context that outlives a shutdown
		// signal: a fully processed batch still commits, and End aborts
		// the buffered records of one that is not.
		pctx := context.WithoutCancel(ctx)
		b, complete := r.processBatch(ctx, fetches, func(rec *kgo.Record) { sess.Produce(pctx, rec, promise) })

		start := time.Now()
		// The batch ends on its own clock: once every record is processed
		// a shutdown still commits it ("finish the open transaction").
		endCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.TransactionTimeout)
		try := kgo.TryCommit
		if !complete {
			try = kgo.TryAbort
			cancel()
			endCtx, cancel = context.WithTimeout(context.WithoutCancel(ctx), r.cfg.ShutdownTimeout)
		} else if err := sess.Client().Flush(endCtx); err != nil {
			try = kgo.TryAbort
			promise(&kgo.Record{}, err)
		}
		perrMu.Lock()
		if perr != nil {
			try = kgo.TryAbort
		}
		perrMu.Unlock()
		committed, err := sess.End(endCtx, try)
		cancel()
		r.metrics.commitSecs.Observe(time.Since(start).Seconds())
		if committed {
			r.metrics.committed.Inc()
			b.report(r.metrics)
		} else {
			r.metrics.aborted.Inc()
		}
		switch {
		case err != nil:
			return fmt.Errorf("stage %s: end transaction: %w", r.spec.Name, err)
		case !complete:
			r.log.Info("shutdown: open transaction aborted; its records will be processed again", "records", fetches.NumRecords())
			return nil
		case perr != nil:
			r.log.Warn("transaction aborted after a produce error; its records will be processed again", "err", perr)
		case !committed:
			r.log.Info("transaction aborted by a rebalance; its records will be processed again", "records", fetches.NumRecords())
		}
	}
}

func (r *Runner) runAtLeastOnce(ctx context.Context) error {
	kopts, err := r.consumerOpts()
	if err != nil {
		return err
	}
	kopts = append(kopts, kgo.BlockRebalanceOnPoll())
	cl, err := kgo.NewClient(append(kopts, r.opts.kgoOpts...)...)
	if err != nil {
		return fmt.Errorf("stage %s: kafka client: %w", r.spec.Name, err)
	}
	defer r.closeClient(cl.Close)
	if err := WaitReady(ctx, cl, r.kcfg, r.log); err != nil {
		return fmt.Errorf("stage %s: %w", r.spec.Name, err)
	}
	r.log.Info("stage running", "inputs", r.spec.Inputs, "outputs", r.spec.Outputs, "group", r.spec.Name, "mode", "at-least-once")

	for {
		fetches := cl.PollRecords(ctx, r.cfg.MaxPollRecords)
		if ctx.Err() != nil {
			cl.AllowRebalance()
			return nil
		}
		if fetches.IsClientClosed() {
			return fmt.Errorf("stage %s: client closed", r.spec.Name)
		}
		if err := r.checkFetchErrors(fetches); err != nil {
			cl.AllowRebalance()
			return err
		}
		if fetches.NumRecords() == 0 {
			cl.AllowRebalance()
			continue
		}
		var (
			perrMu sync.Mutex
			perr   error
		)
		pctx := context.WithoutCancel(ctx)
		b, complete := r.processBatch(ctx, fetches, func(rec *kgo.Record) {
			cl.Produce(pctx, rec, func(rec *kgo.Record, err error) {
				if err != nil {
					perrMu.Lock()
					if perr == nil {
						perr = fmt.Errorf("produce to %s: %w", rec.Topic, err)
					}
					perrMu.Unlock()
				}
			})
		})

		// Commit only what is durable: the outputs of every record in
		// done are flushed before its offset is committed.
		start := time.Now()
		timeout := r.cfg.TransactionTimeout
		if !complete {
			timeout = r.cfg.ShutdownTimeout
		}
		endCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		err := cl.Flush(endCtx)
		perrMu.Lock()
		if err == nil {
			err = perr
		}
		perrMu.Unlock()
		if err == nil && len(b.done) > 0 {
			err = cl.CommitRecords(endCtx, b.done...)
		}
		cancel()
		r.metrics.commitSecs.Observe(time.Since(start).Seconds())
		cl.AllowRebalance()
		if err != nil {
			r.metrics.aborted.Inc()
			// Offsets stay where they were: the batch is processed
			// again after a restart, so nothing is lost.
			return fmt.Errorf("stage %s: batch not committed: %w", r.spec.Name, err)
		}
		r.metrics.committed.Inc()
		b.report(r.metrics)
		if !complete {
			r.log.Info("shutdown: committed the records processed so far", "records", len(b.done))
			return nil
		}
	}
}

// closeClient leaves the group and closes the client within ShutdownTimeout.
func (r *Runner) closeClient(closeFn func()) {
	done := make(chan struct{})
	go func() {
		closeFn()
		close(done)
	}()
	select {
	case <-done:
		r.log.Info("stage stopped; left the group")
	case <-time.After(r.cfg.ShutdownTimeout):
		r.log.Warn("stage stop timed out leaving the group", "timeout", r.cfg.ShutdownTimeout)
	}
}
