package streamtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
	"github.com/fairstream/fairstream/streams"
)

// Run runs the conformance suite against the cluster cfg reaches. Call it
// first in a test function (see the package doc).
func Run(t *testing.T, cfg streams.Config) {
	if spec := os.Getenv(childEnv); spec != "" {
		runChild(t, spec) // does not return
	}
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, streams.Config)
	}{
		{"RoundTrip", testRoundTrip},
		{"Batches", testBatches},
		{"RedeliveryAfterAbortedTransaction", testRedeliveryAfterAbort},
		{"NoRedeliveryAfterCommitAndRestart/transactional", func(t *testing.T, c streams.Config) { testNoRedelivery(t, c, true) }},
		{"NoRedeliveryAfterCommitAndRestart/at-least-once", func(t *testing.T, c streams.Config) { testNoRedelivery(t, c, false) }},
		{"ExactlyOnceAcrossCrash", testExactlyOnceAcrossCrash},
		{"DeadLetters/transactional", func(t *testing.T, c streams.Config) { testDeadLetters(t, c, true) }},
		{"DeadLetters/at-least-once", func(t *testing.T, c streams.Config) { testDeadLetters(t, c, false) }},
		{"RetryThenSucceed", testRetryThenSucceed},
		{"VerifyContentHash", testVerifyContentHash},
		{"DeterministicOutputs", testDeterministicOutputs},
		{"ContextCancellation", testContextCancellation},
		{"CloseIsIdempotent", testCloseIdempotent},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, cfg) })
	}
}

func testRoundTrip(t *testing.T, cfg streams.Config) {
	f := newFixture(t, cfg, 3)
	reg := schemas.Builtin()
	pg := page(7)
	env, err := reg.Wrap(pg, schemas.Meta{Source: "web", Worker: "0xabc", Key: pg.Url, CorrelationID: "job-1"})
	if err != nil {
		t.Fatal(err)
	}
	env.Signature = []byte{1, 2, 3}
	p, err := streams.NewProducer(cfg, "streamtest", streams.WithCatalog(f.catalog))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	rec, err := p.Record(f.in, env)
	if err != nil {
		t.Fatal(err)
	}
	rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: "trace", Value: []byte("ünï ✓")}, kgo.RecordHeader{Key: "empty"})
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := p.Client().ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// The catalog check refuses a payload of the wrong type.
	tweet, _ := reg.Wrap(&fairstreampb.RawTweet{Id: "1"}, schemas.Meta{})
	if err := p.Produce(ctx, f.in, tweet); err == nil {
		t.Fatal("Produce of raw.tweet/v1 to a raw.web/v1 topic: want an error")
	}
	if err := p.Produce(ctx, "no.such.topic.v1", env); !errors.Is(err, streams.ErrUnknownTopic) {
		t.Fatalf("Produce to an unknown topic: got %v, want ErrUnknownTopic", err)
	}

	got := f.read(f.in, 1, false)
	if len(got) != 1 {
		t.Fatalf("got %d records, want 1", len(got))
	}
	r := got[0]
	if string(r.Key) != pg.Url {
		t.Errorf("key = %q, want %q", r.Key, pg.Url)
	}
	want := map[string]string{streams.HeaderType: "raw.web/v1", "trace": "ünï ✓", "empty": ""}
	if len(r.Headers) != len(want) {
		t.Errorf("headers = %v, want %v", r.Headers, want)
	}
	for k, v := range want {
		if h := streams.Header(r, k); h != v {
			t.Errorf("header %q = %q, want %q", k, h, v)
		}
	}
	genv, err := schemas.UnmarshalEnvelope(r.Value)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(genv, env) {
		t.Errorf("envelope changed in transit:\n got %v\nwant %v", genv, env)
	}
	gpg := new(fairstreampb.RawWebPage)
	if err := reg.DecodeInto(genv, gpg); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(gpg, pg) {
		t.Errorf("payload changed in transit:\n got %v\nwant %v", gpg, pg)
	}
}

func testBatches(t *testing.T, cfg streams.Config) {
	const n = 2000
	f := newFixture(t, cfg, 3)
	envs := f.produce(0, n)
	got := f.read(f.in, n, false)
	if len(got) != n {
		t.Fatalf("read %d records, want %d", len(got), n)
	}
	// Per partition, records keep the order they were produced in.
	order := make(map[string]int, n)
	for i, e := range envs {
		order[e.GetId()] = i
	}
	last := map[int32]int{}
	for _, r := range got {
		env, err := schemas.UnmarshalEnvelope(r.Value)
		if err != nil {
			t.Fatal(err)
		}
		i, ok := order[env.GetId()]
		if !ok {
			t.Fatalf("unexpected record %s", env.GetId())
		}
		if prev, seen := last[r.Partition]; seen && i <= prev {
			t.Fatalf("partition %d: input %d arrived after input %d", r.Partition, i, prev)
		}
		last[r.Partition] = i
	}

	// A runner turns the whole batch into outputs, each exactly once.
	s := newStage(nil)
	stop := start(f.runner(runnerConfig(true), s))
	exactlyOnce(t, decodeDocs(t, f.read(f.out, n, false)), n)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func testRedeliveryAfterAbort(t *testing.T, cfg streams.Config) {
	const n = 60
	f := newFixture(t, cfg, 1)
	f.produce(0, n)

	// The first runner processes 30 records of its batch, then blocks: its
	// 29 outputs are written inside the open transaction. Stopping it
	// aborts that transaction.
	blocked := make(chan struct{})
	s1 := newStage(func(ctx context.Context, n int, _ *fairstreampb.RawWebPage) error {
		if n == 30 {
			close(blocked)
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	})
	stop := start(f.runner(runnerConfig(true), s1))
	select {
	case <-blocked:
	case <-time.After(waitFor):
		t.Fatal("the stage never got its 30th record")
	}
	f.waitCount(f.out, 29, true) // the open transaction's outputs are on the log
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if c := f.count(f.out, false); c != 0 {
		t.Fatalf("after the abort, read_committed sees %d outputs, want 0", c)
	}

	// A new runner in the same group gets the same records again.
	s2 := newStage(nil)
	stop = start(f.runner(runnerConfig(true), s2))
	exactlyOnce(t, decodeDocs(t, f.read(f.out, n, false)), n)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for i := range 29 {
		if c := s2.count(page(i).Url); c != 1 {
			t.Fatalf("input %d was processed %d times by the second runner, want 1 (redelivered)", i, c)
		}
	}
	if u := f.count(f.out, true); u < n+29 {
		t.Fatalf("read_uncommitted sees %d outputs, want >= %d (the aborted ones too)", u, n+29)
	}
}

func testNoRedelivery(t *testing.T, cfg streams.Config, transactional bool) {
	f := newFixture(t, cfg, 3)
	f.produce(0, 100)
	rc := runnerConfig(transactional)
	s1 := newStage(nil)
	stop := start(f.runner(rc, s1))
	f.read(f.out, 100, false)
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	f.produce(100, 50)
	s2 := newStage(nil)
	stop = start(f.runner(rc, s2))
	exactlyOnce(t, decodeDocs(t, f.read(f.out, 150, false)), 150)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := s2.totalCalls(); got != 50 {
		t.Fatalf("after a commit and a restart the stage processed %d records, want only the 50 new ones", got)
	}
}

func testDeadLetters(t *testing.T, cfg streams.Config, transactional bool) {
	f := newFixture(t, cfg, 1)
	reg := schemas.Builtin()
	// Pages 1..4 misbehave in the stage; the others are processed.
	s := newStage(func(_ context.Context, _ int, pg *fairstreampb.RawWebPage) error {
		switch pg.GetUrl() {
		case page(1).Url:
			return errors.New("backend unavailable")
		case page(2).Url:
			return streams.Permanent(errors.New("unsupported content"))
		case page(3).Url:
			panic("stage bug")
		}
		return nil
	})
	f.produce(0, 4)
	// Then a record that is not an envelope, and an envelope of the wrong type.
	f.produceRaw(&kgo.Record{Topic: f.in, Key: []byte("garbage"), Value: []byte("\xff\x00 not protobuf"), Headers: []kgo.RecordHeader{{Key: "origin", Value: []byte("kcat")}}})
	tweet, _ := reg.Wrap(&fairstreampb.RawTweet{Id: "9"}, schemas.Meta{})
	tweetBytes, _ := schemas.MarshalEnvelope(tweet)
	f.produceRaw(&kgo.Record{Topic: f.in, Value: tweetBytes})
	f.produce(4, 1)

	stop := start(f.runner(runnerConfig(transactional), s))
	outs := decodeDocs(t, f.read(f.out, 2, false))
	dlq := f.read(f.in+streams.DLQSuffix, 5, false)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if len(outs) != 2 || outs[0] != page(0).Url || outs[1] != page(4).Url {
		t.Fatalf("outputs = %v, want pages 0 and 4", outs)
	}
	if len(dlq) != 5 {
		t.Fatalf("dead letters = %d, want 5", len(dlq))
	}
	want := []struct {
		class    string
		attempts string
		offset   int64
		reason   string
	}{
		{streams.ClassProcess, "3", 1, "backend unavailable"},
		{streams.ClassProcess, "1", 2, "unsupported content"},
		{streams.ClassPanic, "1", 3, "stage bug"},
		{streams.ClassDecode, "0", 4, "not a protobuf envelope"},
		{streams.ClassDecode, "0", 5, "payload is raw.tweet/v1, want raw.web/v1"},
	}
	for i, w := range want {
		r := dlq[i]
		h := func(k string) string { return streams.Header(r, k) }
		if h(streams.HeaderDLQClass) != w.class || h(streams.HeaderDLQAttempts) != w.attempts ||
			h(streams.HeaderDLQOffset) != strconv.FormatInt(w.offset, 10) || h(streams.HeaderDLQTopic) != f.in ||
			h(streams.HeaderDLQPartition) != "0" || h(streams.HeaderDLQStage) != f.group || !strings.Contains(h(streams.HeaderDLQReason), w.reason) {
			t.Errorf("dead letter %d: headers %v, want class=%s attempts=%s offset=%d topic=%s stage=%s reason~%q",
				i, r.Headers, w.class, w.attempts, w.offset, f.in, f.group, w.reason)
		}
	}
	// The dead letter keeps the original record: key, value and headers.
	if g := dlq[3]; string(g.Key) != "garbage" || string(g.Value) != "\xff\x00 not protobuf" || streams.Header(g, "origin") != "kcat" {
		t.Errorf("dead letter 3 lost the original record: key=%q value=%q headers=%v", g.Key, g.Value, g.Headers)
	}
	if c := s.count(page(1).Url); c != 3 {
		t.Errorf("a failing record was attempted %d times, want max_attempts = 3", c)
	}
}

func testRetryThenSucceed(t *testing.T, cfg streams.Config) {
	f := newFixture(t, cfg, 1)
	failures := 2
	s := newStage(func(context.Context, int, *fairstreampb.RawWebPage) error {
		if failures > 0 {
			failures--
			return fmt.Errorf("transient failure %d", failures)
		}
		return nil
	})
	f.produce(0, 1)
	stop := start(f.runner(runnerConfig(true), s))
	exactlyOnce(t, decodeDocs(t, f.read(f.out, 1, false)), 1)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if c := s.count(page(0).Url); c != 3 {
		t.Fatalf("attempts = %d, want 3 (two failures, then success)", c)
	}
	if n := f.count(f.in+streams.DLQSuffix, false); n != 0 {
		t.Fatalf("a record that succeeded on retry was dead-lettered (%d)", n)
	}
}

// testVerifyContentHash: with runner.verify_content_hash a record whose
// payload does not match its content hash is dead-lettered; without it the
// runner trusts the bus and processes it.
func testVerifyContentHash(t *testing.T, cfg streams.Config) {
	f := newFixture(t, cfg, 1)
	env, err := schemas.Builtin().Wrap(page(0), schemas.Meta{Key: page(0).Url})
	if err != nil {
		t.Fatal(err)
	}
	env.ContentHash[0] ^= 0xff
	b, err := schemas.MarshalEnvelope(env)
	if err != nil {
		t.Fatal(err)
	}
	f.produceRaw(&kgo.Record{Topic: f.in, Value: b})

	rc := runnerConfig(true)
	rc.VerifyContentHash = true
	stop := start(f.runner(rc, newStage(nil)))
	dlq := f.read(f.in+streams.DLQSuffix, 1, false)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if len(dlq) != 1 || !strings.Contains(streams.Header(dlq[0], streams.HeaderDLQReason), "content_hash does not match") {
		t.Fatalf("with verify_content_hash, dead letters = %d, reason %q", len(dlq), streams.Header(dlq[0], streams.HeaderDLQReason))
	}

	g := *f
	g.group += "-trusting"
	stop = start(g.runner(runnerConfig(true), newStage(nil)))
	exactlyOnce(t, decodeDocs(t, f.read(f.out, 1, false)), 1)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// testDeterministicOutputs replays the same input through two groups and
// expects byte-identical output envelopes.
func testDeterministicOutputs(t *testing.T, cfg streams.Config) {
	f := newFixture(t, cfg, 1)
	f.produce(0, 20)
	stop := start(f.runner(runnerConfig(true), newStage(nil)))
	f.read(f.out, 20, false)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	g := *f
	g.group += "-replay"
	g.out = f.out // same output topic, second group: the log now holds two copies
	stop = start(g.runner(runnerConfig(true), newStage(nil)))
	all := f.read(f.out, 40, false)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	byID := map[string][][]byte{}
	for _, r := range all {
		env, err := schemas.UnmarshalEnvelope(r.Value)
		if err != nil {
			t.Fatal(err)
		}
		if env.GetCausationId() == "" || env.GetSource() != f.group && env.GetSource() != g.group {
			t.Fatalf("output lacks lineage: causation=%q source=%q", env.GetCausationId(), env.GetSource())
		}
		// The stage name is the envelope source and part of the ID, so
		// compare the payload and every other field.
		env.Source, env.Id = "", ""
		b, _ := schemas.MarshalEnvelope(env)
		byID[env.GetCausationId()] = append(byID[env.GetCausationId()], b)
	}
	if len(byID) != 20 {
		t.Fatalf("outputs cover %d inputs, want 20", len(byID))
	}
	for id, v := range byID {
		if len(v) != 2 || string(v[0]) != string(v[1]) {
			t.Fatalf("input %s: replay produced a different output", id)
		}
	}
}

func testCloseIdempotent(t *testing.T, cfg streams.Config) {
	f := newFixture(t, cfg, 1)
	p, err := streams.NewProducer(cfg, "streamtest", streams.WithCatalog(f.catalog))
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	p.Close()
	c, err := streams.NewConsumer(cfg, "streamtest", streams.ConsumerOptions{Topics: []string{f.in}}, streams.WithCatalog(f.catalog))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	c.Close()
	if _, err := c.Poll(context.Background()); !errors.Is(err, streams.ErrClosed) {
		t.Errorf("Poll after Close: got %v, want ErrClosed", err)
	}

	r := f.runner(runnerConfig(true), newStage(nil))
	r.Close() // before Run
	r.Close()
	if err := r.Run(context.Background()); !errors.Is(err, streams.ErrClosed) {
		t.Errorf("Run after Close: got %v, want ErrClosed", err)
	}

	f.produce(0, 1)
	r = f.runner(runnerConfig(true), newStage(nil))
	errc := make(chan error, 1)
	go func() { errc <- r.Run(context.Background()) }()
	f.read(f.out, 1, false)
	r.Close() // during Run: stops it
	if err := <-errc; err != nil {
		t.Errorf("Run after Close: %v", err)
	}
	r.Close() // after Run
}
