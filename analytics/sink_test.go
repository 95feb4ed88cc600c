package analytics_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/analytics"
	"github.com/fairstream/fairstream/connectors/identity"
	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
	"github.com/fairstream/fairstream/streams"
	"github.com/fairstream/fairstream/streams/embedded"
)

// flaky is a Backend whose inserts fail while it is down, as a ClickHouse
// server that stopped answering would; it counts failed attempts and rows
// written.
type flaky struct {
	analytics.Backend
	down     atomic.Bool
	failures chan struct{}
	rows     atomic.Int64
}

var errDown = errors.New("flaky: connection refused")

func (f *flaky) Insert(ctx context.Context, table string, columns []string, rows [][]any) error {
	if f.down.Load() {
		select {
		case f.failures <- struct{}{}:
		default:
		}
		return errDown
	}
	if err := f.Backend.Insert(ctx, table, columns, rows); err != nil {
		return err
	}
	f.rows.Add(int64(len(rows)))
	return nil
}

// startBroker starts the embedded (kfake) broker with the default catalog.
func startBroker(t testing.TB) (streams.Config, *kgo.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	br, err := embedded.Start(ctx, embedded.Config{Listen: "127.0.0.1:0"}, streams.DefaultCatalog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(br.Close)
	kcfg := streams.DefaultConfig()
	kcfg.Brokers = []string{br.Addr()}
	cl, err := streams.NewClient(kcfg, "test", streams.WithKgoOpts(kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kcfg, cl
}

var windowBase = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

// window returns a deterministic window of worker w, number i, revision rev.
func window(w, i, rev int) *fairstreampb.WorkerWindow {
	start := windowBase.Add(time.Duration(i) * 10 * time.Minute)
	rec := int64(100 + 7*w + i)
	return &fairstreampb.WorkerWindow{
		Worker:      fmt.Sprintf("0x%040x", 0xa0+w),
		WindowStart: timestamppb.New(start), WindowEnd: timestamppb.New(start.Add(10 * time.Minute)),
		Revision: int32(rev), Records: rec, Bytes: rec * 512, ValidRecords: rec - 1, UniqueRecords: rec - 3,
		ExactDuplicates: 2, NearDuplicates: int64(rev), Freshness: float64(rec) * 0.75, JobsFulfilled: int64(i % 3),
		JobLatencySeconds: 1.5, ProcessingAccepted: int64(w), Sampled: 10, Verified: int64(8 + rev%2), Mismatched: int64(w % 2),
		Unverifiable: 1, Credibility: 0.9 + float64(w)/100, Utility: float64(rec)*0.1 + float64(rev),
		Validator: "validator-1", ScoringVersion: "v1",
	}
}

// testKey returns the key named name, the same in every run.
func testKey(t testing.TB, name string) *identity.Identity {
	t.Helper()
	seed := sha256.Sum256([]byte("fairstream/analytics/test/" + name))
	id, err := identity.FromHex(hex.EncodeToString(seed[:]))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// windowRecord wraps w as the validator would publish it, signed by the
// test validator's key.
func windowRecord(t testing.TB, w *fairstreampb.WorkerWindow) *kgo.Record {
	t.Helper()
	return signedWindowRecord(t, w, testKey(t, "validator"))
}

func signedWindowRecord(t testing.TB, w *fairstreampb.WorkerWindow, key *identity.Identity) *kgo.Record {
	t.Helper()
	env, err := schemas.Builtin().Wrap(w, schemas.Meta{Source: "validator", Time: w.GetWindowEnd().AsTime(), Ingested: w.GetWindowEnd().AsTime()})
	if err != nil {
		t.Fatal(err)
	}
	if err := key.Sign(env); err != nil {
		t.Fatal(err)
	}
	b, err := schemas.MarshalEnvelope(env)
	if err != nil {
		t.Fatal(err)
	}
	rkey := w.GetWorker() + "/" + w.GetWindowStart().AsTime().Format(time.RFC3339)
	return &kgo.Record{Topic: analytics.WindowsTopic, Key: []byte(rkey), Value: b,
		Headers: []kgo.RecordHeader{{Key: streams.HeaderType, Value: []byte(env.GetType())}}}
}

// committedAll waits until group has committed the end offset of every
// partition of topics.
func committedAll(ctx context.Context, t testing.TB, adm *kadm.Client, group string, topics ...string) {
	t.Helper()
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		t.Fatal(err)
	}
	for {
		done := true
		offs, err := adm.FetchOffsets(ctx, group)
		if err == nil {
			ends.Each(func(e kadm.ListedOffset) {
				if o, ok := offs.Lookup(e.Topic, e.Partition); !ok || o.At < e.Offset {
					done = false
				}
			})
		}
		if err == nil && done {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("group %s did not commit every record of %v: %v", group, topics, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// quiet keeps the sink's retry warnings out of the test output.
func quiet() []analytics.SinkOption {
	log := slog.New(slog.DiscardHandler)
	return []analytics.SinkOption{analytics.WithSinkLogger(log), analytics.WithStreamOptions(streams.WithLogger(log))}
}

// TestSink runs the window sink on each backend.
func TestSink(t *testing.T) {
	t.Run("clickhouse", func(t *testing.T) { testSink(t, openServer(t)) })
	t.Run("chdb", func(t *testing.T) { testSink(t, openChDB(t)) })
}

// testSink: windows (with late revisions, an undecodable record and one of
// another type) go through the sink while ClickHouse is down: nothing is
// committed; once it is back, every window is in worker_utility FINAL
// exactly once at its latest revision, the two bad records are in the DLQ
// with their reasons, and a replay by a second group changes nothing.
func testSink(t *testing.T, backend analytics.Backend) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := analytics.Migrate(ctx, backend, analytics.Migrations()); err != nil {
		t.Fatal(err)
	}
	kcfg, cl := startBroker(t)
	adm := kadm.NewClient(cl)

	const workers, windows = 6, 20
	want := map[string][]any{}
	var recs []*kgo.Record
	for w := range workers {
		for i := range windows {
			for rev := 1; rev <= 1+(w+i)%3; rev++ { // up to two late revisions
				win := window(w, i, rev)
				rec := windowRecord(t, win)
				recs = append(recs, rec)
				env, _ := schemas.UnmarshalEnvelope(rec.Value)
				row, err := analytics.WindowRow(env, win)
				if err != nil {
					t.Fatal(err)
				}
				want[string(rec.Key)] = row
			}
		}
	}
	// An undecodable record and a record of another type, mid-stream.
	other, err := schemas.Builtin().Wrap(&fairstreampb.RawWebPage{Url: "https://example.org/"}, schemas.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	otherBytes, _ := schemas.MarshalEnvelope(other)
	// A window signed by a key that is not a trusted validator, one whose
	// payload was changed after signing, and one of a worker that is not
	// an address.
	stranger := signedWindowRecord(t, window(0, 0, 9), testKey(t, "stranger"))
	stranger.Key = []byte("stranger")
	forged := windowRecord(t, window(1, 0, 9))
	fenv, _ := schemas.UnmarshalEnvelope(forged.Value)
	fenv.Payload = append([]byte(nil), fenv.Payload...)
	fenv.Payload[len(fenv.Payload)-1] ^= 1
	fenv.ContentHash = schemas.ContentHash(fenv.Payload) // the hash matches; the signature does not
	forged.Value, _ = schemas.MarshalEnvelope(fenv)
	forged.Key = []byte("forged")
	noWorker := window(2, 0, 9)
	noWorker.Worker = "worker-2"
	unknown := windowRecord(t, noWorker)
	unknown.Key = []byte("unknown-worker")
	bad := []*kgo.Record{
		{Topic: analytics.WindowsTopic, Key: []byte("garbage"), Value: []byte("not an envelope")},
		{Topic: analytics.WindowsTopic, Key: []byte("other"), Value: otherBytes},
		stranger, forged, unknown,
	}
	recs = append(recs[:50], append(bad, recs[50:]...)...)
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	f := &flaky{Backend: backend, failures: make(chan struct{})}
	f.down.Store(true)
	contribs := contributionRecords(t, 40)
	if err := cl.ProduceSync(ctx, contribs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cfg := analytics.DefaultSinkConfig()
	cfg.BatchRows = 64
	cfg.FlushInterval = 10 * time.Millisecond
	cfg.RetryInitial, cfg.RetryMax = time.Millisecond, 5*time.Millisecond
	cfg.Validators = []string{testKey(t, "validator").Address()}
	sink, err := analytics.NewSink(kcfg, f, cfg, quiet()...)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	if spec := sink.Spec(); spec.Name != "analytics-sink" || len(spec.Inputs) != 2 || spec.Inputs[0] != "scores.windows.v1" ||
		spec.Inputs[1] != "scores.contributions.v1" || len(spec.Outputs) != 0 {
		t.Errorf("Spec() = %+v", spec)
	}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var runErr error
	wg.Go(func() { runErr = sink.Run(runCtx) })

	// ClickHouse is down: the sink retries the same batch and commits nothing.
	for range 5 {
		select {
		case <-f.failures:
		case <-ctx.Done():
			t.Fatal("the sink never tried to insert")
		}
	}
	offs, err := adm.FetchOffsets(ctx, cfg.Group)
	if err != nil {
		t.Fatal(err)
	}
	offs.Each(func(o kadm.OffsetResponse) {
		if o.At >= 0 {
			t.Errorf("committed %s[%d]@%d while ClickHouse was down", o.Topic, o.Partition, o.At)
		}
	})
	if n := f.rows.Load(); n != 0 {
		t.Fatalf("%d rows written while down", n)
	}

	f.down.Store(false)
	committedAll(ctx, t, adm, cfg.Group, analytics.WindowsTopic, analytics.ContributionsTopic)
	stop()
	wg.Wait()
	if runErr != nil {
		t.Errorf("Run: %v", runErr)
	}
	if n := f.rows.Load(); n != int64(len(recs)-len(bad)+len(contribs)) {
		t.Errorf("the sink wrote %d rows, want %d (one per window and contribution record)", n, len(recs)-len(bad)+len(contribs))
	}
	checkWindows(ctx, t, backend, want)
	res0, err := backend.Query(ctx, "SELECT verification, count() AS n FROM contributions FINAL GROUP BY verification ORDER BY verification")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(res0.Rows); got != "[[unsampled 20] [verified 10] [mismatched 5] [sampled 5]]" {
		t.Errorf("contributions by verification: %s", got)
	}

	// The DLQ holds the two bad records with their reasons.
	var dead []*kgo.Record
	if err := streams.ReadToEnd(ctx, kcfg, analytics.WindowsTopic+streams.DLQSuffix, func(r *kgo.Record) error {
		dead = append(dead, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(dead) != len(bad) {
		t.Fatalf("DLQ holds %d records, want %d", len(dead), len(bad))
	}
	badByKey := map[string]*kgo.Record{}
	for _, r := range bad {
		badByKey[string(r.Key)] = r
	}
	for i, r := range dead {
		if b := badByKey[string(r.Key)]; b == nil || string(r.Value) != string(b.Value) {
			t.Errorf("DLQ record %d: key %q is not one of the bad records (or its value changed)", i, r.Key)
		}
		delete(badByKey, string(r.Key))
		if streams.Header(r, streams.HeaderDLQReason) == "" || streams.Header(r, streams.HeaderDLQClass) != streams.ClassDecode ||
			streams.Header(r, streams.HeaderDLQStage) != analytics.SinkName || streams.Header(r, streams.HeaderDLQTopic) != analytics.WindowsTopic {
			t.Errorf("DLQ record %d headers: %v", i, r.Headers)
		}
		t.Logf("DLQ %s: %s", r.Key, streams.Header(r, streams.HeaderDLQReason))
	}

	// A replay (a new group reads everything again) inserts every row again
	// and changes nothing a reader sees.
	cfg.Group = "analytics-sink-replay"
	replay, err := analytics.NewSink(kcfg, backend, cfg, quiet()...)
	if err != nil {
		t.Fatal(err)
	}
	defer replay.Close()
	runCtx, stop = context.WithCancel(ctx)
	wg.Go(func() { runErr = replay.Run(runCtx) })
	committedAll(ctx, t, adm, cfg.Group, analytics.WindowsTopic)
	stop()
	wg.Wait()
	if runErr != nil {
		t.Errorf("replay Run: %v", runErr)
	}
	res, err := backend.Query(ctx, "SELECT count() AS n FROM worker_utility")
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Rows[0][0].(uint64); got < uint64(len(want)) {
		t.Errorf("worker_utility holds %d rows before merging, want at least %d", got, len(want))
	}
	checkWindows(ctx, t, backend, want)
	if err := backend.Exec(ctx, "OPTIMIZE TABLE worker_utility FINAL"); err != nil {
		t.Fatal(err)
	}
	res, err = backend.Query(ctx, "SELECT count() AS n FROM worker_utility")
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Rows[0][0].(uint64); got != uint64(len(want)) {
		t.Errorf("worker_utility holds %d rows after OPTIMIZE FINAL, want %d", got, len(want))
	}
}

// checkWindows compares worker_utility FINAL, and the argMax reading of the
// unmerged table, with the latest revision of every window.
func checkWindows(ctx context.Context, t *testing.T, b analytics.Backend, want map[string][]any) {
	t.Helper()
	res, err := b.Query(ctx, "SELECT "+joinCols(analytics.WorkerUtilityColumns)+" FROM worker_utility FINAL ORDER BY worker, window_start")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != len(want) {
		t.Errorf("worker_utility FINAL has %d rows, want %d", len(res.Rows), len(want))
	}
	seen := map[string]bool{}
	for _, r := range res.Rows {
		key := r[0].(string) + "/" + r[1].(time.Time).Format(time.RFC3339)
		if seen[key] {
			t.Errorf("%s twice in FINAL", key)
		}
		seen[key] = true
		w, ok := want[key]
		if !ok {
			t.Errorf("unexpected window %s", key)
			continue
		}
		for j, c := range analytics.WorkerUtilityColumns {
			if !sameValue(r[j], w[j]) {
				t.Errorf("%s: %s = %v, want %v", key, c, r[j], w[j])
			}
		}
	}
	res, err = b.Query(ctx, `SELECT worker, window_start, max(revision) AS latest, argMax(utility, revision) AS latest_utility
FROM worker_utility GROUP BY worker, window_start`)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != len(want) {
		t.Errorf("argMax reading: %d windows, want %d", len(res.Rows), len(want))
	}
	for _, r := range res.Rows {
		key := r[0].(string) + "/" + r[1].(time.Time).Format(time.RFC3339)
		if w := want[key]; w == nil || r[2] != uint64(w[3].(uint32)) || r[3] != w[19] {
			t.Errorf("argMax reading of %s: revision %v utility %v, want %v", key, r[2], r[3], w)
		}
	}
}

// sameValue compares a value read back with the Go value inserted.
func sameValue(got, want any) bool {
	switch w := want.(type) {
	case time.Time:
		g, ok := got.(time.Time)
		return ok && g.Equal(w.Truncate(time.Second))
	case uint32:
		return got == uint64(w)
	case int64, float64, string:
		return got == w
	}
	return fmt.Sprint(got) == fmt.Sprint(want)
}

func joinCols(cols []string) string {
	s := ""
	for i, c := range cols {
		if i > 0 {
			s += ", "
		}
		s += c
	}
	return s
}

// TestSinkConfigValidate names each invalid key.
func TestSinkConfigValidate(t *testing.T) {
	if err := analytics.DefaultSinkConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	c := analytics.SinkConfig{RetryInitial: time.Second, RetryMax: time.Millisecond}
	err := c.Validate()
	for _, key := range []string{"group", "batch_rows", "flush_interval", "retry_max"} {
		if err == nil || !containsKey(err.Error(), key) {
			t.Errorf("want an error naming %s, got %v", key, err)
		}
	}
}

func containsKey(s, key string) bool {
	for i := 0; i+len(key) <= len(s); i++ {
		if s[i:i+len(key)] == key && (i == 0 || s[i-1] == '\n') {
			return true
		}
	}
	return false
}

// TestNewSinkRejectsUnknownTopic: a route to a topic the catalog lacks is
// an error naming it.
func TestNewSinkRejectsUnknownTopic(t *testing.T) {
	r := analytics.ContributionRoute("no.such.topic.v1", func(*kgo.Record) (analytics.Contribution, error) {
		return analytics.Contribution{}, nil
	})
	_, err := analytics.NewSink(streams.DefaultConfig(), &flaky{}, analytics.DefaultSinkConfig(), analytics.WithRoute(r))
	if !errors.Is(err, streams.ErrUnknownTopic) {
		t.Fatalf("got %v, want ErrUnknownTopic", err)
	}
}

// contributionRecords returns n contributions as the validator writes
// them (batch-signed), in four verification states: half unsampled, a
// quarter sampled then verified (two revisions), an eighth sampled then
// mismatched, an eighth still waiting for a verdict.
func contributionRecords(t testing.TB, n int) []*kgo.Record {
	t.Helper()
	var envs []*schemas.Envelope
	for i := range n {
		c := &fairstreampb.Contribution{
			EventId: fmt.Sprintf("01JPAY3S7MZ4Q1V2X3Y4Z5%04d", i), Worker: fmt.Sprintf("0x%040x", 0xa0+i%3), Source: "twitter",
			EventType: "raw.tweet/v1", EventTime: timestamppb.New(windowBase.Add(time.Duration(i) * time.Second)),
			Ingested: timestamppb.New(windowBase.Add(time.Duration(i+1) * time.Second)), Bytes: int64(100 + i),
			ContentHash: []byte{byte(i)}, Valid: true, Unique: i%2 == 0, Duplicate: "none", Verification: "unsampled",
			WindowStart: timestamppb.New(windowBase), Validator: "validator-1",
		}
		if i%2 == 0 {
			c.Duplicate = "exact"
		}
		revs := []*fairstreampb.Contribution{c}
		switch {
		case i%2 == 0:
		case i%4 == 1:
			c.Verification = "sampled"
			v := proto.CloneOf(c)
			v.Revision, v.Verification = 1, "verified"
			revs = append(revs, v)
		case i%8 == 3:
			c.Verification = "sampled"
			v := proto.CloneOf(c)
			v.Revision, v.Verification = 1, "mismatch"
			revs = append(revs, v)
		default:
			c.Verification = "sampled"
		}
		for _, r := range revs {
			env, err := schemas.Builtin().Wrap(r, schemas.Meta{Source: "validator", Key: r.GetEventId(), Time: windowBase})
			if err != nil {
				t.Fatal(err)
			}
			envs = append(envs, env)
		}
	}
	if err := testKey(t, "validator").SignBatch(envs); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for _, env := range envs {
		b, err := schemas.MarshalEnvelope(env)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: analytics.ContributionsTopic, Key: []byte(env.GetKey()), Value: b})
	}
	return recs
}
