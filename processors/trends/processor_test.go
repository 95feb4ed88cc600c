package trends

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

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

func publish(t *testing.T, prod *streams.Producer, docs []*fairstreampb.Document, times []time.Time) {
	t.Helper()
	for i, d := range docs {
		d.Published = nil
		if _, err := prod.Publish(t.Context(), Input, d, schemas.Meta{Key: d.GetId(), Time: times[i], Source: "test"}); err != nil {
			t.Fatal(err)
		}
	}
}

// outputSnapshots reads trends.twitter.v1 until pred holds for what it
// holds, or fails the test after a minute.
func outputSnapshots(t *testing.T, kcfg streams.Config, pred func([]*fairstreampb.TrendSnapshot) bool) []*fairstreampb.TrendSnapshot {
	t.Helper()
	reg := schemas.Builtin()
	deadline := time.Now().Add(time.Minute)
	for {
		var snaps []*fairstreampb.TrendSnapshot
		err := streams.ReadToEnd(t.Context(), kcfg, Output, func(rec *kgo.Record) error {
			env, err := schemas.UnmarshalEnvelope(rec.Value)
			if err != nil {
				return err
			}
			if string(rec.Key) != DefaultConfig().Key() && string(rec.Key) != testConfig().Key() {
				return fmt.Errorf("snapshot keyed %q", rec.Key)
			}
			s := &fairstreampb.TrendSnapshot{}
			if err := reg.DecodeInto(env, s); err != nil {
				return err
			}
			snaps = append(snaps, s)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if pred(snaps) {
			return snaps
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for snapshots; have %d", len(snaps))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func testConfig() Config {
	c := smallConfig()
	c.IdleAdvance = 0 // emission follows event time only: deterministic
	return c
}

func lastEnd(snaps []*fairstreampb.TrendSnapshot) time.Time {
	if len(snaps) == 0 {
		return time.Time{}
	}
	return snaps[len(snaps)-1].GetWindowEnd().AsTime()
}

type running struct {
	p    *Processor
	done chan error
}

func start(t *testing.T, kcfg streams.Config, reg prometheus.Registerer) *running {
	t.Helper()
	p, err := New(kcfg, testConfig(), WithMetrics(reg))
	if err != nil {
		t.Fatal(err)
	}
	r := &running{p: p, done: make(chan error, 1)}
	go func() { r.done <- p.Run(t.Context()) }()
	return r
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	r.p.Close()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return after Close")
	}
}

func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var v float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				v += m.GetCounter().GetValue()
			}
		}
	}
	return v
}

// TestProcessorRestart runs the processor on the embedded broker, stops it,
// adds documents, restarts it and checks that the snapshots over the
// restart are exactly those of an uninterrupted run: nothing emitted twice,
// nothing counted twice. Garbage on the input is skipped and counted.
func TestProcessorRestart(t *testing.T) {
	kcfg := startBroker(t)
	prod, err := streams.NewProducer(kcfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()

	var docs []*fairstreampb.Document
	var times []time.Time
	for i := range 120 {
		tags := []string{fmt.Sprintf("tag%d", i%4)}
		if i >= 70 {
			tags = append(tags, "burst")
		}
		docs = append(docs, tweet(fmt.Sprintf("twitter:%04d", i), tags, fmt.Sprintf("status report %d from the field team%d", i, i%3)))
		times = append(times, t0.Add(time.Duration(i)*5*time.Second))
	}
	// Documents of another source are ignored.
	web := &fairstreampb.Document{Id: "web:1", Source: "web", Text: "not a tweet", Hashtags: []string{"burst"}}

	// The uninterrupted run, on the pure aggregator.
	ref := mustAggregator(t, testConfig())
	var want, wantA []*fairstreampb.TrendSnapshot
	for i, d := range docs {
		out := feed(ref, d, times[i])
		want = append(want, out...)
		if i < 60 {
			wantA = append(wantA, out...)
		}
	}

	// Phase A, with garbage among the documents.
	publish(t, prod, docs[:30], times[:30])
	if err := prod.Client().ProduceSync(t.Context(), &kgo.Record{Topic: Input, Value: []byte("\x00garbage")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	other, err := schemas.Builtin().Wrap(&fairstreampb.TrendSnapshot{Source: "x"}, schemas.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	otherBytes, err := schemas.MarshalEnvelope(other)
	if err != nil {
		t.Fatal(err)
	}
	if err := prod.Client().ProduceSync(t.Context(), &kgo.Record{Topic: Input, Value: otherBytes}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	publish(t, prod, []*fairstreampb.Document{web}, times[10:11])
	publish(t, prod, docs[30:60], times[30:60])

	reg1 := prometheus.NewRegistry()
	r1 := start(t, kcfg, reg1)
	got := outputSnapshots(t, kcfg, func(s []*fairstreampb.TrendSnapshot) bool {
		return len(s) > 0 && !lastEnd(s).Before(lastEnd(wantA))
	})
	r1.stop(t)
	if n := counterValue(t, reg1, "fairstream_trends_skipped_total"); n != 2 {
		t.Errorf("skipped %v records, want 2 (garbage and another type)", n)
	}
	if len(got) != len(wantA) {
		t.Fatalf("phase A: %d snapshots, want %d", len(got), len(wantA))
	}

	// Phase B after a restart.
	publish(t, prod, docs[60:], times[60:])
	reg2 := prometheus.NewRegistry()
	r2 := start(t, kcfg, reg2)
	got = outputSnapshots(t, kcfg, func(s []*fairstreampb.TrendSnapshot) bool {
		return !lastEnd(s).Before(lastEnd(want))
	})
	if len(got) != len(want) {
		t.Fatalf("%d snapshots over the restart, want %d as uninterrupted", len(got), len(want))
	}
	for i := range want {
		if g, w := stableJSON(t, got[i]), stableJSON(t, want[i]); string(g) != string(w) {
			t.Fatalf("snapshot %d differs from the uninterrupted run:\n got %s\nwant %s", i, g, w)
		}
	}
	if termCount(got[len(got)-1], "#burst") == 0 {
		t.Fatal("the last window does not count #burst")
	}

	// Live: an event later than the allowed lateness is counted as dropped
	// and emits nothing.
	publish(t, prod, docs[:1], times[:1])
	deadline := time.Now().Add(time.Minute)
	for counterValue(t, reg2, "fairstream_trends_late_dropped_total") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the late event was not counted as dropped")
		}
		time.Sleep(20 * time.Millisecond)
	}
	r2.stop(t)
	if after := outputSnapshots(t, kcfg, func([]*fairstreampb.TrendSnapshot) bool { return true }); len(after) != len(want) {
		t.Fatalf("the dropped event emitted %d snapshots", len(after)-len(want))
	}
}

func TestProcessorNewAndSpec(t *testing.T) {
	kcfg := streams.DefaultConfig()
	bad := DefaultConfig()
	bad.Window = 0
	if _, err := New(kcfg, bad); err == nil {
		t.Fatal("New accepted window 0")
	}
	p, err := New(kcfg, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	s := p.Spec()
	if s.Name != "trends" || s.Version != Version || len(s.Inputs) != 1 || s.Inputs[0] != "docs.structured.v1" || len(s.Outputs) != 1 || s.Outputs[0] != "trends.twitter.v1" {
		t.Fatalf("spec %+v", s)
	}
	// Close before Run: Run returns nil at once.
	p.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := p.Run(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
}

// TestProcessorIdleAdvance: once the input is quiet for idle_advance (on
// the injected clock), the watermark moves on and the last windows are
// emitted.
func TestProcessorIdleAdvance(t *testing.T) {
	kcfg := startBroker(t)
	prod, err := streams.NewProducer(kcfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	var docs []*fairstreampb.Document
	var times []time.Time
	for i := range 10 {
		docs = append(docs, tweet(fmt.Sprintf("twitter:%04d", i), []string{"quiet"}, "trickle"))
		times = append(times, t0.Add(time.Duration(i)*5*time.Second))
	}
	publish(t, prod, docs, times)

	var skew atomic.Int64
	cfg := testConfig()
	cfg.IdleAdvance = time.Hour
	reg := prometheus.NewRegistry()
	p, err := New(kcfg, cfg, WithMetrics(reg), WithClock(func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }))
	if err != nil {
		t.Fatal(err)
	}
	r := &running{p: p, done: make(chan error, 1)}
	go func() { r.done <- p.Run(t.Context()) }()
	deadline := time.Now().Add(time.Minute)
	for counterValue(t, reg, "fairstream_trends_documents_total") != 10 {
		if time.Now().After(deadline) {
			t.Fatal("the documents were not counted")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Event watermark 15s: no window is due yet.
	if n := counterValue(t, reg, "fairstream_trends_snapshots_total"); n != 0 {
		t.Fatalf("%v snapshots before the input went idle, want 0", n)
	}
	skew.Store(int64(2 * time.Hour))
	got := outputSnapshots(t, kcfg, func(s []*fairstreampb.TrendSnapshot) bool { return !lastEnd(s).Before(t0.Add(150 * time.Second)) })
	r.stop(t)
	// The documents span [0s, 45s]: windows ending 30s to 150s hold them.
	if len(got) != 5 || !got[0].GetWindowEnd().AsTime().Equal(t0.Add(30*time.Second)) || !lastEnd(got).Equal(t0.Add(150*time.Second)) {
		t.Fatalf("got %d snapshots ending %s..%s, want 5 ending 30s..150s", len(got), got[0].GetWindowEnd().AsTime().Sub(t0), lastEnd(got).Sub(t0))
	}
	if termCount(got[2], "#quiet") != 10 {
		t.Fatalf("window ending 90s counts #quiet %d times, want 10", termCount(got[2], "#quiet"))
	}
}

func TestProcessorRefusesSourceWithoutTopic(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Source = "discord"
	if _, err := New(streams.DefaultConfig(), cfg); err == nil || !strings.Contains(err.Error(), "trends.discord.v1") {
		t.Fatalf("New with source discord: %v, want an error naming trends.discord.v1", err)
	}
}
