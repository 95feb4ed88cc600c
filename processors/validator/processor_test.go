package validator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/fairstream/fairstream/connectors/identity"
	"github.com/fairstream/fairstream/internal/testenv"
	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
	"github.com/fairstream/fairstream/streams"
	"github.com/fairstream/fairstream/streams/embedded"
)

func startBroker(t *testing.T) streams.Config {
	t.Helper()
	br, err := embedded.Start(t.Context(), embedded.Config{Listen: "127.0.0.1:0"}, streams.DefaultCatalog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(br.Close)
	kcfg := streams.DefaultConfig()
	kcfg.Brokers = []string{br.Addr()}
	return kcfg
}

// procWorld is a small log: an honest worker, a duplicator copying it and
// a fabricator, over three windows that ended a while ago.
type procWorld struct {
	truth                          *truth
	log                            []logEntry
	honest, duplicator, fabricator string
}

func newProcWorld(t *testing.T, start time.Time, offset int) *procWorld {
	return newTaggedWorld(t, start, offset, "")
}

// newTaggedWorld is newProcWorld with workers of keys of their own (tag
// names them).
func newTaggedWorld(t *testing.T, start time.Time, offset int, tag string) *procWorld {
	h, d, f := newWorker(t, "honest"+tag), newWorker(t, "duplicator"+tag), newWorker(t, "fabricator"+tag)
	w := &procWorld{truth: newTruth(), honest: h.id.Address(), duplicator: d.id.Address(), fabricator: f.id.Address()}
	var hr, dr, fr []tweetRec
	rh, rf := rand.New(rand.NewPCG(uint64(offset), 1)), rand.New(rand.NewPCG(uint64(offset), 2))
	for i := range 60 {
		at := start.Add(time.Duration(i) * 30 * time.Second)
		id := fmt.Sprint(1000 + offset + i)
		r := tweetRec{id: id, text: sentence(rh, 20), created: at.Add(-time.Second), event: at, ingest: at.Add(time.Second)}
		w.truth.put(r)
		hr = append(hr, r)
		c := r
		c.ingest = r.ingest.Add(5 * time.Second)
		dr = append(dr, c)
		fr = append(fr, tweetRec{id: fmt.Sprint(9000 + offset + i), text: sentence(rf, 20), created: at, event: at, ingest: at.Add(2 * time.Second)})
	}
	w.log = slices.Concat(h.publish(t, hr), d.publish(t, dr), f.publish(t, fr))
	sortLog(w.log)
	return w
}

func procConfig() Config {
	c := DefaultConfig()
	c.Seed = "processor test"
	c.SampleRate = 0.25
	c.AllowedLateness = 6 * time.Hour // verdicts come after the windows close
	c.MergeHold = 200 * time.Millisecond
	c.CommitInterval = 20 * time.Millisecond
	c.TickInterval = 100 * time.Millisecond
	c.InitialCredibility = 0.5
	return c
}

// produceLog writes the log to raw.twitter.v1 with each record's ingestion
// time as its timestamp.
func produceLog(t *testing.T, kcfg streams.Config, log []logEntry) {
	t.Helper()
	cl, err := streams.NewClient(kcfg, "test-producer")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for _, e := range log {
		b, err := schemas.MarshalEnvelope(e.env)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: "raw.twitter.v1", Key: []byte(e.env.GetKey()), Value: b, Timestamp: e.ingested})
	}
	if err := cl.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func validatorKey(t *testing.T) *identity.Identity {
	return newWorker(t, "the validator").id
}

// runProcessor runs a processor until stop returns true for what
// scores.windows.v1 holds, then stops it and returns the windows' records.
func runProcessor(t *testing.T, kcfg streams.Config, cfg Config, ref Refetcher, stop func([]windowRec) bool, regs ...*prometheus.Registry) []windowRec {
	t.Helper()
	reg := prometheus.NewRegistry()
	if len(regs) > 0 {
		reg = regs[0]
	}
	p, err := NewProcessor(kcfg, cfg, validatorKey(t), map[string]Refetcher{"twitter": ref}, WithMetrics(reg))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var runErr error
	wg.Go(func() { runErr = p.Run(t.Context()) })
	defer func() {
		p.Close()
		wg.Wait()
		if runErr != nil {
			t.Fatalf("Run: %v", runErr)
		}
	}()
	deadline := time.Now().Add(time.Minute)
	for {
		ws := readWindows(t, kcfg)
		if stop(ws) {
			return ws
		}
		if time.Now().After(deadline) {
			for _, r := range ws {
				t.Logf("%s rev %d records %d sampled %d verified %d mismatched %d unverif %d", r.key, r.w.GetRevision(), r.w.GetRecords(), r.w.GetSampled(), r.w.GetVerified(), r.w.GetMismatched(), r.w.GetUnverifiable())
			}
			t.Fatalf("gave up after a minute with %d window records", len(ws))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type windowRec struct {
	key   string
	value []byte
	env   *schemas.Envelope
	w     *fairstreampb.WorkerWindow
}

func readWindows(t *testing.T, kcfg streams.Config) []windowRec {
	t.Helper()
	var out []windowRec
	err := streams.ReadToEnd(t.Context(), kcfg, WindowsTopic, func(rec *kgo.Record) error {
		env, err := schemas.UnmarshalEnvelope(rec.Value)
		if err != nil {
			return err
		}
		w := &fairstreampb.WorkerWindow{}
		if err := schemas.Builtin().DecodeInto(env, w); err != nil {
			return err
		}
		out = append(out, windowRec{key: string(rec.Key), value: rec.Value, env: env, w: w})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(out, func(a, b windowRec) int {
		if c := compareStrings(a.key, b.key); c != 0 {
			return c
		}
		return int(a.w.GetRevision() - b.w.GetRevision())
	})
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// settled: every worker's three windows are out and every sample has its
// verdict in the latest revision.
func settled(ws []windowRec) bool {
	latest := map[string]*fairstreampb.WorkerWindow{}
	for _, r := range ws {
		latest[r.key] = r.w
	}
	if len(latest) < 9 {
		return false
	}
	for _, w := range latest {
		if w.GetSampled() != w.GetVerified()+w.GetMismatched()+w.GetUnverifiable() {
			return false
		}
	}
	return true
}

func latestWindows(ws []windowRec) map[string]*fairstreampb.WorkerWindow {
	out := map[string]*fairstreampb.WorkerWindow{}
	for _, r := range ws {
		out[r.key] = r.w
	}
	return out
}

func TestProcessorScoresTheLog(t *testing.T) {
	kcfg := startBroker(t)
	start := time.Now().Add(-2 * time.Hour).Truncate(10 * time.Minute)
	w := newProcWorld(t, start, 0)
	produceLog(t, kcfg, w.log)
	ws := runProcessor(t, kcfg, procConfig(), w.truth, settled)

	byWorker := map[string]*total{}
	for _, win := range latestWindows(ws) {
		tt := byWorker[win.GetWorker()]
		if tt == nil {
			tt = &total{}
			byWorker[win.GetWorker()] = tt
		}
		tt.records += win.GetRecords()
		tt.unique += win.GetUniqueRecords()
		tt.utility += win.GetUtility()
		tt.verified += win.GetVerified()
		tt.mismatched += win.GetMismatched()
	}
	h, d, f := byWorker[w.honest], byWorker[w.duplicator], byWorker[w.fabricator]
	if h == nil || d == nil || f == nil {
		t.Fatalf("windows per worker: %v", byWorker)
	}
	t.Logf("honest %+v; duplicator %+v; fabricator %+v", *h, *d, *f)
	if h.records != 60 || h.unique != 60 || h.utility <= 0 || h.verified == 0 || h.mismatched != 0 {
		t.Errorf("honest worker: %+v", *h)
	}
	if d.records != 60 || d.unique != 0 || d.utility != 0 {
		t.Errorf("duplicator: %+v", *d)
	}
	if f.mismatched == 0 || f.verified != 0 || f.utility >= h.utility*0.05 {
		t.Errorf("fabricator: %+v", *f)
	}
	// Every window is signed by the validator.
	for _, r := range ws {
		if err := identity.Verify(r.env); err != nil || r.env.GetWorker() != validatorKey(t).Address() {
			t.Fatalf("window %s revision %d: signer %s: %v", r.key, r.w.GetRevision(), r.env.GetWorker(), err)
		}
		if r.key != WindowKey(r.w) {
			t.Fatalf("window keyed %q, want %q", r.key, WindowKey(r.w))
		}
	}

	// A record per contribution (180), and one more per sample (its verdict).
	var contribs, sampled, verdicts int
	err := streams.ReadToEnd(t.Context(), kcfg, ContributionsTopic, func(rec *kgo.Record) error {
		env, err := schemas.UnmarshalEnvelope(rec.Value)
		if err != nil {
			return err
		}
		if err := identity.NewVerifier(16).Verify(env); err != nil {
			return err
		}
		c := &fairstreampb.Contribution{}
		if err := schemas.Builtin().DecodeInto(env, c); err != nil {
			return err
		}
		switch c.GetRevision() {
		case 0:
			contribs++
			if c.GetVerification() == "sampled" {
				sampled++
			}
		case 1:
			verdicts++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if contribs != 180 || sampled == 0 || verdicts != sampled {
		t.Errorf("contributions: %d records, %d sampled, %d with a verdict; want 180, some, all", contribs, sampled, verdicts)
	}
}

// TestProcessorReplayIsByteIdentical copies a validator's whole input log —
// the raw records, its verdicts and its ticks, timestamps and partitions
// kept — to a new broker, and checks that a new processor there writes the
// same window records, byte for byte.
func TestProcessorReplayIsByteIdentical(t *testing.T) {
	a := startBroker(t)
	start := time.Now().Add(-2 * time.Hour).Truncate(10 * time.Minute)
	w := newProcWorld(t, start, 0)
	produceLog(t, a, w.log)
	first := runProcessor(t, a, procConfig(), w.truth, settled)

	b := startBroker(t)
	copied := copyTopics(t, a, b, "raw.twitter.v1", VerdictsTopic, TicksTopic)
	t.Logf("copied %d input records; the first run wrote %d window records", copied, len(first))
	// The refetcher is never called: every verdict is on the log.
	never := failing{errors.New("re-fetched a record whose verdict is on the log")}
	second := runProcessor(t, b, procConfig(), never, func(ws []windowRec) bool { return len(ws) >= len(first) })
	if len(second) != len(first) {
		t.Fatalf("the replay wrote %d window records, the live run %d", len(second), len(first))
	}
	for i := range first {
		if first[i].key != second[i].key || !bytes.Equal(first[i].value, second[i].value) {
			t.Fatalf("window record %d differs: %s rev %d (%d bytes) vs %s rev %d (%d bytes)", i,
				first[i].key, first[i].w.GetRevision(), len(first[i].value), second[i].key, second[i].w.GetRevision(), len(second[i].value))
		}
	}
}

// copyTopics copies every committed record of topics from one broker to
// another, keeping partitions, keys and timestamps.
func copyTopics(t *testing.T, from, to streams.Config, topics ...string) int {
	t.Helper()
	cl, err := streams.NewClient(to, "copy", streams.WithKgoOpts(kgo.RecordPartitioner(kgo.ManualPartitioner())))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	n := 0
	for _, topic := range topics {
		var recs []*kgo.Record
		err := streams.ReadToEnd(t.Context(), from, topic, func(r *kgo.Record) error {
			recs = append(recs, &kgo.Record{Topic: r.Topic, Partition: r.Partition, Key: r.Key, Value: r.Value, Headers: r.Headers, Timestamp: r.Timestamp})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := cl.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		n += len(recs)
	}
	return n
}

// TestProcessorRestartWritesNothingTwice stops the processor, adds a
// second log, and runs it again: it rebuilds its state by replay and
// writes only what comes after its checkpoint.
func TestProcessorRestartWritesNothingTwice(t *testing.T) {
	kcfg := startBroker(t)
	start := time.Now().Add(-3 * time.Hour).Truncate(10 * time.Minute)
	w1 := newProcWorld(t, start, 0)
	produceLog(t, kcfg, w1.log)
	first := runProcessor(t, kcfg, procConfig(), w1.truth, settled)

	w2 := newProcWorld(t, start.Add(time.Hour), 100)
	for id, c := range w2.truth.tweets {
		w1.truth.tweets[id] = c
	}
	produceLog(t, kcfg, w2.log)
	all := runProcessor(t, kcfg, procConfig(), w1.truth, func(ws []windowRec) bool {
		return len(latestWindows(ws)) >= 18 && settled(ws)
	})
	seen := map[string]bool{}
	for _, r := range all {
		k := fmt.Sprintf("%s#%d", r.key, r.w.GetRevision())
		if seen[k] {
			t.Fatalf("window %s written twice", k)
		}
		seen[k] = true
	}
	for _, r := range first {
		if !seen[fmt.Sprintf("%s#%d", r.key, r.w.GetRevision())] {
			t.Fatalf("window %s#%d lost", r.key, r.w.GetRevision())
		}
	}
	ids := map[string]int{}
	err := streams.ReadToEnd(t.Context(), kcfg, ContributionsTopic, func(rec *kgo.Record) error {
		env, err := schemas.UnmarshalEnvelope(rec.Value)
		if err != nil {
			return err
		}
		ids[env.GetId()]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for id, n := range ids {
		if n > 1 {
			t.Fatalf("contribution %s written %d times", id, n)
		}
	}
	t.Logf("%d window records before the restart, %d after; %d contribution records", len(first), len(all), len(ids))
}

func TestNewProcessorRejectsBadConfig(t *testing.T) {
	kcfg := streams.DefaultConfig()
	kcfg.Brokers = []string{"127.0.0.1:1"}
	cfg := DefaultConfig()
	cfg.Inputs = []string{"raw.nope.v1"}
	if _, err := NewProcessor(kcfg, cfg, validatorKey(t), nil); err == nil {
		t.Fatal("an unknown input topic was accepted")
	}
	cfg.Inputs = []string{WindowsTopic}
	if _, err := NewProcessor(kcfg, cfg, validatorKey(t), nil); err == nil {
		t.Fatal("the validator's own output was accepted as an input")
	}
	if _, err := NewProcessor(kcfg, DefaultConfig(), nil, nil); err == nil {
		t.Fatal("a processor without a key was accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p, err := NewProcessor(kcfg, DefaultConfig(), validatorKey(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(ctx); err != nil {
		t.Fatalf("Run with a cancelled context: %v", err)
	}
}

// slow re-fetches through truth, taking its time.
type slow struct{ *truth }

func (s slow) Refetch(ctx context.Context, env *schemas.Envelope) (Content, error) {
	select {
	case <-time.After(20 * time.Millisecond):
	case <-ctx.Done():
	}
	return s.truth.Refetch(ctx, env)
}

// TestProcessorQueueFullIsUnverifiable: with more samples than the
// re-fetch queue holds, the overflow is unverifiable at once (a validator
// fault, which costs the worker nothing) and nothing blocks.
func TestProcessorQueueFullIsUnverifiable(t *testing.T) {
	kcfg := startBroker(t)
	w := newProcWorld(t, time.Now().Add(-2*time.Hour).Truncate(10*time.Minute), 0)
	produceLog(t, kcfg, w.log)
	cfg := procConfig()
	cfg.SampleRate = 1
	cfg.RefetchWorkers, cfg.RefetchQueue = 1, 2
	ws := runProcessor(t, kcfg, cfg, slow{w.truth}, settled)
	var sampled, unverif, verified int64
	for _, win := range latestWindows(ws) {
		sampled += win.GetSampled()
		unverif += win.GetUnverifiable()
		verified += win.GetVerified()
	}
	t.Logf("%d samples: %d verified, %d unverifiable", sampled, verified, unverif)
	if sampled != 180 || unverif == 0 || verified == 0 {
		t.Fatalf("%d samples, %d verified, %d unverifiable; want 180, some, some", sampled, verified, unverif)
	}
	for _, win := range latestWindows(ws) {
		if win.GetWorker() == w.honest && win.GetMismatched() != 0 {
			t.Errorf("an honest window counts %d mismatches", win.GetMismatched())
		}
	}
}

// TestProcessorCountsLateRecords: a record that reaches the bus after its
// window's allowed lateness is counted in the late metric and not scored;
// it stays in the log.
func TestProcessorCountsLateRecords(t *testing.T) {
	kcfg := startBroker(t)
	start := time.Now().Add(-2 * time.Hour).Truncate(10 * time.Minute)
	w := newProcWorld(t, start, 0)
	// The honest worker publishes one more post two hours after its time
	// at the source: its window closed long ago.
	h := newWorker(t, "honest")
	late := h.publish(t, []tweetRec{{id: "5555", text: "a post that reached the bus two hours late with enough words",
		created: start, event: start, ingest: start.Add(2 * time.Hour)}})
	log := append(slices.Clone(w.log), late...)
	sortLog(log)
	produceLog(t, kcfg, log)
	cfg := procConfig()
	cfg.AllowedLateness = 10 * time.Minute
	reg := prometheus.NewRegistry()
	ws := runProcessor(t, kcfg, cfg, w.truth, func(ws []windowRec) bool { return len(latestWindows(ws)) >= 9 }, reg)
	var records int64
	for _, win := range latestWindows(ws) {
		if win.GetWorker() == w.honest {
			records += win.GetRecords()
		}
	}
	if records != 60 {
		t.Errorf("the honest worker's windows count %d records, want 60 (the late one left out)", records)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var lateCount float64
	for _, mf := range mfs {
		if mf.GetName() != "fairstream_validator_events_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == "late" {
					lateCount = m.GetCounter().GetValue()
				}
			}
		}
	}
	if lateCount != 1 {
		t.Errorf("fairstream_validator_events_total{outcome=\"late\"} = %v, want 1", lateCount)
	}
}

// TestProcessorOnKafka runs the processor against the Apache Kafka broker
// (FAIRSTREAM_KAFKA_BROKERS): real transactions, last stable offsets and
// transaction markers. The broker keeps what earlier runs wrote, so this
// run's workers, records and validator ID are its own, and the windows of
// other workers are left aside.
func TestProcessorOnKafka(t *testing.T) {
	brokers := testenv.Require(t, "kafka", "FAIRSTREAM_KAFKA_BROKERS")
	kcfg := streams.DefaultConfig()
	kcfg.Brokers = strings.Split(brokers, ",")
	kcfg.ReplicationFactor = 1
	cl, err := streams.NewClient(kcfg, "validator-test-admin")
	if err != nil {
		t.Fatal(err)
	}
	_, err = streams.EnsureTopics(t.Context(), kadm.NewClient(cl), 1, streams.DefaultCatalog().Topics()...)
	cl.Close()
	if err != nil {
		t.Fatal(err)
	}
	run := time.Now().UnixNano()
	tag := fmt.Sprintf("-kafka-%d", run)
	start := time.Now().Add(-2 * time.Hour).Truncate(10 * time.Minute)
	w := newTaggedWorld(t, start, int(run%1_000_000)*1000, tag)
	produceLog(t, kcfg, w.log)
	cfg := procConfig()
	cfg.ValidatorID = "test" + tag
	cfg.MergeHold = time.Second
	mine := func(ws []windowRec) []windowRec {
		var out []windowRec
		for _, r := range ws {
			if g := r.w.GetWorker(); (g == w.honest || g == w.duplicator || g == w.fabricator) && r.w.GetValidator() == cfg.ValidatorID {
				out = append(out, r)
			}
		}
		return out
	}
	ws := mine(runProcessor(t, kcfg, cfg, w.truth, func(ws []windowRec) bool { return settled(mine(ws)) }))
	byWorker := map[string]*total{}
	for _, win := range latestWindows(ws) {
		tt := byWorker[win.GetWorker()]
		if tt == nil {
			tt = &total{}
			byWorker[win.GetWorker()] = tt
		}
		tt.records += win.GetRecords()
		tt.unique += win.GetUniqueRecords()
		tt.utility += win.GetUtility()
		tt.mismatched += win.GetMismatched()
	}
	h, d, f := byWorker[w.honest], byWorker[w.duplicator], byWorker[w.fabricator]
	if h == nil || d == nil || f == nil {
		t.Fatalf("windows per worker: %v", byWorker)
	}
	t.Logf("on Kafka: honest %+v; duplicator %+v; fabricator %+v", *h, *d, *f)
	if h.records != 60 || h.unique != 60 || h.utility <= 0 || d.unique != 0 || d.utility != 0 || f.mismatched == 0 || f.utility != 0 {
		t.Errorf("scores on Kafka: honest %+v, duplicator %+v, fabricator %+v", *h, *d, *f)
	}
	// A restart replays everything and writes no window twice.
	again := mine(runProcessor(t, kcfg, cfg, w.truth, func(ws []windowRec) bool { return settled(mine(ws)) }))
	if len(again) != len(ws) {
		t.Errorf("after a restart %d window records of this run, before %d", len(again), len(ws))
	}
}

// TestProcessorRefusesAnotherKeysCheckpoint: a validator whose key is not
// the one that wrote its ID's checkpoint stops and says what to do, rather
// than take over another validator's outputs.
func TestProcessorRefusesAnotherKeysCheckpoint(t *testing.T) {
	kcfg := startBroker(t)
	w := newProcWorld(t, time.Now().Add(-2*time.Hour).Truncate(10*time.Minute), 0)
	produceLog(t, kcfg, w.log)
	runProcessor(t, kcfg, procConfig(), w.truth, settled)
	p, err := NewProcessor(kcfg, procConfig(), newWorker(t, "another validator").id, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	err = p.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "validator.validator_id") {
		t.Fatalf("Run with another key: %v", err)
	}
	t.Log(err)
}

// TestProcessorForgeryWritesNoContribution: a record whose signature does
// not verify is counted (invalid) but writes no contribution row, which
// would otherwise replace the row of the record whose event ID it copies.
func TestProcessorForgeryWritesNoContribution(t *testing.T) {
	kcfg := startBroker(t)
	w := newProcWorld(t, time.Now().Add(-2*time.Hour).Truncate(10*time.Minute), 0)
	victim := w.log[0]
	forged := proto.CloneOf(victim.env)
	forged.Payload = append(slices.Clone(forged.Payload), 0) // the content hash no longer matches
	log := append(slices.Clone(w.log), logEntry{env: forged, ingested: victim.ingested.Add(time.Second)})
	sortLog(log)
	produceLog(t, kcfg, log)
	runProcessor(t, kcfg, procConfig(), w.truth, settled)
	rows := 0
	err := streams.ReadToEnd(t.Context(), kcfg, ContributionsTopic, func(rec *kgo.Record) error {
		if string(rec.Key) != victim.env.GetId() {
			return nil
		}
		env, err := schemas.UnmarshalEnvelope(rec.Value)
		if err != nil {
			return err
		}
		c := &fairstreampb.Contribution{}
		if err := schemas.Builtin().DecodeInto(env, c); err != nil {
			return err
		}
		if !c.GetValid() {
			t.Errorf("a contribution row of the forgery: %v", c)
		}
		rows++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rows == 0 {
		t.Fatal("the victim's contribution is missing")
	}
}
