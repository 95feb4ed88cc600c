package validator

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/connectors/identity"
	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

func newScorer(t testing.TB, cfg Config) *Scorer {
	t.Helper()
	s, err := New(cfg, schemas.Builtin(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tweet returns one signed tweet envelope, made and ingested at ev.
func tweet(t testing.TB, w *simWorker, id, text string, ev time.Time) logEntry {
	t.Helper()
	return w.publish(t, []tweetRec{{id: id, text: text, created: ev, event: ev, ingest: ev}})[0]
}

// only returns the single window of worker in ws.
func only(t testing.TB, ws []*fairstreampb.WorkerWindow, worker string) *fairstreampb.WorkerWindow {
	t.Helper()
	var got *fairstreampb.WorkerWindow
	for _, w := range ws {
		if w.GetWorker() == worker {
			if got != nil {
				t.Fatalf("two windows of %s", worker)
			}
			got = w
		}
	}
	if got == nil {
		t.Fatalf("no window of %s in %d", worker, len(ws))
	}
	return got
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for key, mod := range map[string]func(*Config){
		"validator_id":              func(c *Config) { c.ValidatorID = "" },
		"window":                    func(c *Config) { c.Window = 1500 * time.Millisecond },
		"allowed_lateness":          func(c *Config) { c.AllowedLateness = -time.Second },
		"max_clock_skew":            func(c *Config) { c.MaxClockSkew = -time.Second },
		"sample_rate":               func(c *Config) { c.SampleRate = 1.5 },
		"freshness_half_life":       func(c *Config) { c.FreshnessHalfLife = 0 },
		"credibility_alpha":         func(c *Config) { c.CredibilityAlpha = 0 },
		"credibility_exponent":      func(c *Config) { c.CredibilityExponent = math.NaN() },
		"initial_credibility":       func(c *Config) { c.InitialCredibility = 2 },
		"near_duplicate_bands":      func(c *Config) { c.NearDuplicateBands = 0 },
		"near_duplicate_rows":       func(c *Config) { c.NearDuplicateRows = 17 },
		"near_duplicate_min_tokens": func(c *Config) { c.NearDuplicateMinTokens = 0 },
		"dedup_horizon":             func(c *Config) { c.DedupHorizon = 0 },
		"dedup_max_entries":         func(c *Config) { c.DedupMaxEntries = 1 },
		"weight_record":             func(c *Config) { c.WeightRecord = -1 },
		"weight_job":                func(c *Config) { c.WeightJob = math.Inf(1) },
		"weight_processing":         func(c *Config) { c.WeightProcessing = math.NaN() },
		"job_latency_half_life":     func(c *Config) { c.JobLatencyHalfLife = 0 },
		"job_horizon":               func(c *Config) { c.JobHorizon = 0 },
	} {
		c := DefaultConfig()
		mod(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), key+":") {
			t.Errorf("%s: Validate() = %v, want an error naming it", key, err)
		}
	}
	if _, err := New(Config{}, schemas.Builtin(), nil); err == nil {
		t.Error("New accepted a zero Config")
	}
}

func TestExtract(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		m    proto.Message
		text string
	}{
		{&fairstreampb.RawTweet{Text: "hello", CreatedAt: timestamppb.New(ts)}, "hello"},
		{&fairstreampb.RawWebPage{ContentType: "text/html; charset=utf-8", Body: []byte("<html><head><style>p{}</style><script>x()</script></head><body><p>Hi <b>there</b></p></body></html>"), FetchedAt: timestamppb.New(ts)}, "Hi there"},
		{&fairstreampb.RawWebPage{ContentType: "text/plain", Body: []byte("a <b> c"), FetchedAt: timestamppb.New(ts)}, "a <b> c"},
		{&fairstreampb.RawDiscordMessage{Content: "yo", Timestamp: timestamppb.New(ts)}, "yo"},
		{&fairstreampb.RawTelegramMessage{Text: "t", Caption: "c", Date: timestamppb.New(ts)}, "t\nc"},
		{&fairstreampb.RawPodcastEpisode{Title: "Ep 1", Description: "About", Published: timestamppb.New(ts)}, "Ep 1\nAbout"},
	} {
		got, ok := Extract(c.m)
		if !ok || strings.Join(strings.Fields(got.Text), " ") != strings.Join(strings.Fields(c.text), " ") || !got.Time.Equal(ts) {
			t.Errorf("Extract(%T) = %q, %s, %v; want %q, %s", c.m, got.Text, got.Time, ok, c.text, ts)
		}
	}
	if _, ok := Extract(&fairstreampb.RawTwitterTrend{Name: "x"}); ok {
		t.Error("Extract took a trend for a record with text")
	}
	if got, _ := Extract(&fairstreampb.RawTweet{Text: "x"}); !got.Time.IsZero() {
		t.Errorf("a tweet without created_at has time %s", got.Time)
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"Hello,   WORLD!!  ":       "hello world",
		"  ":                       "",
		"Ünïcode ÇA va? 42 🚀 fois": "ünïcode ça va 42 fois",
		"a\tb\nc":                  "a b c",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMinhashCatchesEditsNotStrangers(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	mh := newMinhash(10, 5)
	share := func(a, b string) bool {
		fa, _ := features(Normalize(a), nil)
		fb, _ := features(Normalize(b), nil)
		ka, kb := mh.keys(fa, nil), mh.keys(fb, nil)
		for i := range ka {
			if ka[i] == kb[i] {
				return true
			}
		}
		return false
	}
	near, far := 0, 0
	for range 2000 {
		a := sentence(r, 20)
		if share(a, edit(r, a)) {
			near++
		}
		if share(a, sentence(r, 20)) {
			far++
		}
	}
	if near < 1980 || far > 2 {
		t.Errorf("edits caught %d/2000 (want >= 1980), unrelated texts flagged %d/2000 (want <= 2)", near, far)
	}
}

func TestUniqueExactAndNearDuplicates(t *testing.T) {
	s := newScorer(t, DefaultConfig())
	a, b := newWorker(t, "a"), newWorker(t, "b")
	text := "the quick brown fox jumps over the lazy dog near the river bank today"
	ev := t0.Add(time.Minute)
	for i, e := range []struct {
		w      *simWorker
		text   string
		unique bool
	}{
		{a, text, true},
		{b, strings.ToUpper(text) + "!!!", false},              // exact after normalising
		{b, strings.Replace(text, "lazy", "sleepy", 1), false}, // near
		{b, "an entirely different sentence about markets and rates", true},
		{a, "gm", true},
		{b, "GM!", false},
	} {
		e0 := tweet(t, e.w, fmt.Sprint(i), e.text, ev)
		got := s.Add(e0.env, e0.ingested)
		if got.Err != nil || got.Unique != e.unique {
			t.Errorf("record %d %q: unique %v, err %v; want unique %v", i, e.text, got.Unique, got.Err, e.unique)
		}
	}
	ws := s.Advance(t0.Add(10 * time.Minute))
	wb := only(t, ws, b.id.Address())
	if wb.GetExactDuplicates() != 2 || wb.GetNearDuplicates() != 1 || wb.GetUniqueRecords() != 1 {
		t.Errorf("b: %d exact, %d near, %d unique; want 2, 1, 1", wb.GetExactDuplicates(), wb.GetNearDuplicates(), wb.GetUniqueRecords())
	}
}

func TestBadSignatureIsInvalid(t *testing.T) {
	cfg := DefaultConfig()
	cfg.InitialCredibility = 1
	s := newScorer(t, cfg)
	honest, forger := newWorker(t, "honest"), newWorker(t, "forger")
	ev := t0.Add(time.Minute)
	// The forger claims the honest worker's address on a record it signed.
	forged := tweet(t, forger, "1", "a record the forger wants credit for today", ev)
	forged.env.Worker = honest.id.Address()
	got := s.Add(forged.env, ev)
	if !errors.Is(got.Err, identity.ErrBadSignature) || got.Unique || got.Sample {
		t.Fatalf("forged record: %+v, want a bad signature, not unique", got)
	}
	// A tampered payload breaks the content hash.
	tampered := tweet(t, forger, "2", "another record of the forger, tampered with", ev)
	tampered.env.Payload = append(tampered.env.Payload, 0)
	if got := s.Add(tampered.env, ev); got.Err == nil {
		t.Fatal("tampered payload accepted")
	}
	// The invalid record did not claim the content: the real one is unique.
	real := tweet(t, honest, "1", "a record the forger wants credit for today", ev)
	if got := s.Add(real.env, ev); !got.Unique {
		t.Fatalf("valid record after an invalid copy: %+v, want unique", got)
	}
	ws := s.Advance(t0.Add(10 * time.Minute))
	wh, wf := only(t, ws, honest.id.Address()), only(t, ws, forger.id.Address())
	if wh.GetRecords() != 2 || wh.GetValidRecords() != 1 || wh.GetUniqueRecords() != 1 {
		t.Errorf("honest: %d records, %d valid, %d unique; want 2, 1, 1", wh.GetRecords(), wh.GetValidRecords(), wh.GetUniqueRecords())
	}
	if wf.GetValidRecords() != 0 || wf.GetUtility() != 0 {
		t.Errorf("forger: %d valid, utility %v; want 0, 0", wf.GetValidRecords(), wf.GetUtility())
	}
	if st := s.Stats(); st.Invalid != 2 {
		t.Errorf("Stats.Invalid = %d, want 2", st.Invalid)
	}
}

func TestFutureEventIsInvalid(t *testing.T) {
	s := newScorer(t, DefaultConfig())
	w := newWorker(t, "w")
	e := tweet(t, w, "1", "a record from the future of this worker", t0.Add(time.Hour))
	if got := s.Add(e.env, t0); got.Err == nil {
		t.Fatal("an event an hour after its ingestion was accepted")
	}
	if ws := s.Advance(t0.Add(2 * time.Hour)); len(ws) != 0 {
		t.Errorf("the invalid future event opened a window: %v", ws)
	}
	if st := s.Stats(); st.Invalid != 1 {
		t.Errorf("Stats.Invalid = %d, want 1", st.Invalid)
	}
}

func TestLateEventCountedNotScored(t *testing.T) {
	cfg := DefaultConfig()
	s := newScorer(t, cfg)
	a, b := newWorker(t, "a"), newWorker(t, "b")
	s.Advance(t0.Add(cfg.Window + cfg.AllowedLateness))
	late := tweet(t, a, "1", "this record arrives long after its window closed", t0.Add(time.Minute))
	got := s.Add(late.env, t0.Add(time.Hour))
	if !got.Late || got.Unique || got.Sample {
		t.Fatalf("late record: %+v", got)
	}
	if st := s.Stats(); st.LateDropped != 1 {
		t.Fatalf("LateDropped = %d, want 1", st.LateDropped)
	}
	// Its content is remembered: a later copy is a duplicate.
	cp := tweet(t, b, "1", "this record arrives long after its window closed", t0.Add(25*time.Minute))
	if got := s.Add(cp.env, t0.Add(25*time.Minute)); got.Unique {
		t.Error("a copy of a late record counted as unique")
	}
	for _, w := range s.Advance(t0.Add(time.Hour)) {
		if w.GetWorker() == a.id.Address() {
			t.Errorf("a window was emitted for the late record: %v", w)
		}
	}
}

func TestLateDataRevisesTheWindow(t *testing.T) {
	s := newScorer(t, DefaultConfig())
	w := newWorker(t, "w")
	e1 := tweet(t, w, "1", "first record of the window with enough words", t0.Add(time.Minute))
	s.Add(e1.env, e1.ingested)
	if ws := s.Advance(t0.Add(9 * time.Minute)); len(ws) != 0 {
		t.Fatalf("%d windows before the window closed", len(ws))
	}
	ws := s.Advance(t0.Add(10 * time.Minute))
	if got := only(t, ws, w.id.Address()); got.GetRevision() != 0 || got.GetRecords() != 1 {
		t.Fatalf("first emission: revision %d, %d records", got.GetRevision(), got.GetRecords())
	}
	if ws := s.Advance(t0.Add(11 * time.Minute)); len(ws) != 0 {
		t.Fatalf("an unchanged window was emitted again: %v", ws)
	}
	e2 := tweet(t, w, "2", "second record, late but within the allowed lateness", t0.Add(2*time.Minute))
	if got := s.Add(e2.env, t0.Add(15*time.Minute)); got.Late {
		t.Fatal("an event within the allowed lateness was dropped")
	}
	ws = s.Advance(t0.Add(16 * time.Minute))
	if got := only(t, ws, w.id.Address()); got.GetRevision() != 1 || got.GetRecords() != 2 {
		t.Fatalf("revision: revision %d, %d records; want 1, 2", got.GetRevision(), got.GetRecords())
	}
}

func TestCredibility(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SampleRate = 1
	s := newScorer(t, cfg)
	w := newWorker(t, "w")
	verdict := func(e logEntry, r Result) {
		s.AddVerification(Verification{Worker: e.env.GetWorker(), EventID: e.env.GetId(), Time: e.env.GetTime().AsTime(), Result: r})
	}
	// Window 0: no verdict yet → initial credibility 0; then unverifiable
	// only: still no evidence.
	e := tweet(t, w, "0", "alpha bravo charlie delta echo foxtrot", t0)
	s.Add(e.env, e.ingested)
	verdict(e, Unverifiable)
	ws := s.Advance(t0.Add(10 * time.Minute))
	if got := only(t, ws, w.id.Address()); got.GetCredibility() != 0 || got.GetUtility() != 0 || got.GetUnverifiable() != 1 || got.GetSampled() != 1 {
		t.Fatalf("window 0: credibility %v, utility %v, %d unverifiable, %d sampled", got.GetCredibility(), got.GetUtility(), got.GetUnverifiable(), got.GetSampled())
	}
	// Window 1: verified → c = 1.
	e = tweet(t, w, "1", "golf hotel india juliet kilo lima", t0.Add(10*time.Minute))
	s.Add(e.env, e.ingested)
	verdict(e, Verified)
	ws = s.Advance(t0.Add(20 * time.Minute))
	got := only(t, ws, w.id.Address())
	if got.GetCredibility() != 1 || got.GetUtility() != 1 {
		t.Fatalf("window 1: credibility %v, utility %v; want 1, 1", got.GetCredibility(), got.GetUtility())
	}
	// Window 2: mismatch → m = 0.85·0.15, w = 0.85·0.15 + 0.15.
	e = tweet(t, w, "2", "mike november oscar papa quebec romeo", t0.Add(20*time.Minute))
	s.Add(e.env, e.ingested)
	verdict(e, Mismatch)
	ws = s.Advance(t0.Add(30 * time.Minute))
	got = only(t, ws, w.id.Address())
	wantC := 0.85 * 0.15 / (0.85*0.15 + 0.15)
	if math.Abs(got.GetCredibility()-wantC) > 1e-12 || math.Abs(got.GetUtility()-math.Pow(wantC, 2.5)) > 1e-12 {
		t.Fatalf("window 2: credibility %v, utility %v; want %v, %v", got.GetCredibility(), got.GetUtility(), wantC, math.Pow(wantC, 2.5))
	}
}

func TestSamplingIsKeyedAndAtRate(t *testing.T) {
	w := newWorker(t, "w")
	var envs []*schemas.Envelope
	var recs []tweetRec
	for i := range 20000 {
		ev := t0.Add(time.Duration(i) * time.Millisecond)
		recs = append(recs, tweetRec{id: fmt.Sprint(i), text: fmt.Sprintf("record %d", i), created: ev, event: ev, ingest: ev})
	}
	for _, e := range w.publish(t, recs) {
		envs = append(envs, e.env)
	}
	picked := func(seed string) map[string]bool {
		cfg := DefaultConfig()
		cfg.Seed = seed
		s := newScorer(t, cfg)
		out := make(map[string]bool)
		for _, e := range envs {
			if s.Add(e, e.GetTime().AsTime()).Sample {
				out[e.GetId()] = true
			}
		}
		return out
	}
	a, b := picked("secret-a"), picked("secret-b")
	both := 0
	for id := range a {
		if b[id] {
			both++
		}
	}
	if len(a) < 150 || len(a) > 250 || len(b) < 150 || len(b) > 250 {
		t.Errorf("sampled %d and %d of 20000 at 1%%", len(a), len(b))
	}
	if both > 20 {
		t.Errorf("two seeds picked %d records alike; the sample must depend on the secret", both)
	}
}

func TestJobsFulfilled(t *testing.T) {
	cfg := DefaultConfig()
	cfg.InitialCredibility = 1
	s := newScorer(t, cfg)
	reg := schemas.Builtin()
	w, other := newWorker(t, "w"), newWorker(t, "other")
	job, err := reg.Wrap(&fairstreampb.Job{Id: "j1", Connector: "twitter", Kind: "search"}, schemas.Meta{Time: t0, Ingested: t0})
	if err != nil {
		t.Fatal(err)
	}
	s.Add(job, t0)
	status := func(sw *simWorker, jobID, state string, at time.Time) *schemas.Envelope {
		env, err := reg.Wrap(&fairstreampb.JobStatus{JobId: jobID, State: state, Worker: sw.id.Address()}, schemas.Meta{Worker: sw.id.Address(), Time: at, Ingested: at})
		if err != nil {
			t.Fatal(err)
		}
		if err := sw.id.Sign(env); err != nil {
			t.Fatal(err)
		}
		return env
	}
	s.Add(status(w, "j1", "running", t0.Add(time.Minute)), t0.Add(time.Minute))
	s.Add(status(w, "j1", "done", t0.Add(5*time.Minute)), t0.Add(5*time.Minute))
	s.Add(status(other, "j1", "done", t0.Add(6*time.Minute)), t0.Add(6*time.Minute))   // second: no credit
	s.Add(status(other, "nope", "done", t0.Add(6*time.Minute)), t0.Add(6*time.Minute)) // unknown job
	ws := s.Advance(t0.Add(10 * time.Minute))
	got := only(t, ws, w.id.Address())
	want := 5 * math.Exp2(-300.0/600)
	if got.GetJobsFulfilled() != 1 || got.GetJobLatencySeconds() != 300 || math.Abs(got.GetUtility()-want) > 1e-12 {
		t.Errorf("jobs %d, latency %v, utility %v; want 1, 300, %v", got.GetJobsFulfilled(), got.GetJobLatencySeconds(), got.GetUtility(), want)
	}
	if o := only(t, ws, other.id.Address()); o.GetJobsFulfilled() != 0 || o.GetUtility() != 0 {
		t.Errorf("other: %d jobs, utility %v; want none", o.GetJobsFulfilled(), o.GetUtility())
	}
}

func TestProcessingAccepted(t *testing.T) {
	cfg := DefaultConfig()
	cfg.InitialCredibility = 1
	s := newScorer(t, cfg)
	s.AddProcessing("0xabc", t0.Add(time.Minute), 3)
	got := only(t, s.Advance(t0.Add(10*time.Minute)), "0xabc")
	if got.GetProcessingAccepted() != 3 || got.GetUtility() != 3 {
		t.Errorf("processing %d, utility %v; want 3, 3", got.GetProcessingAccepted(), got.GetUtility())
	}
}

func TestIndexIsBounded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DedupMaxEntries = 800
	s := newScorer(t, cfg)
	w := newWorker(t, "w")
	r := rand.New(rand.NewPCG(3, 3))
	var recs []tweetRec
	for i := range 5000 {
		ev := t0.Add(time.Duration(i) * 100 * time.Millisecond)
		recs = append(recs, tweetRec{id: fmt.Sprint(i), text: sentence(r, 12), created: ev, event: ev, ingest: ev})
	}
	for i, e := range w.publish(t, recs) {
		s.Add(e.env, e.ingested)
		if n := s.Stats().Indexed; n > cfg.DedupMaxEntries {
			t.Fatalf("after %d records the index holds %d, more than %d", i+1, n, cfg.DedupMaxEntries)
		}
	}
	// The horizon drops everything once the watermark is past it.
	s.Advance(t0.Add(cfg.DedupHorizon + time.Hour))
	if n := s.Stats().Indexed; n != 0 {
		t.Errorf("index holds %d records past the horizon", n)
	}
}

func TestVerify(t *testing.T) {
	reg := schemas.Builtin()
	w := newWorker(t, "w")
	src := newTruth()
	ev := t0.Add(time.Minute)
	real := tweetRec{id: "1", text: "Real text, as posted", created: ev, event: ev, ingest: ev}
	src.put(tweetRec{id: "1", text: "real text as posted", created: ev})
	src.put(tweetRec{id: "2", text: "something else", created: ev})
	src.put(tweetRec{id: "3", text: "old text", created: ev.Add(-48 * time.Hour)})
	ctx := context.Background()
	for _, c := range []struct {
		rec  tweetRec
		want Result
	}{
		{real, Verified},
		{tweetRec{id: "2", text: "fabricated", created: ev, event: ev, ingest: ev}, Mismatch},
		{tweetRec{id: "3", text: "old text", created: ev, event: ev, ingest: ev}, Mismatch}, // re-dated
		{tweetRec{id: "404", text: "never posted", created: ev, event: ev, ingest: ev}, Mismatch},
	} {
		e := w.publish(t, []tweetRec{c.rec})[0]
		if got := Verify(ctx, src, reg, e.env); got.Result != c.want || got.EventID != e.env.GetId() {
			t.Errorf("tweet %s: %v (%s), want %v", c.rec.id, got.Result, got.Reason, c.want)
		}
	}
	e := w.publish(t, []tweetRec{real})[0]
	for _, err := range []error{ErrSourceFault, ErrValidatorFault, errors.New("anything else")} {
		if got := Verify(ctx, failing{err}, reg, e.env); got.Result != Unverifiable {
			t.Errorf("refetch error %v: %v, want unverifiable", err, got.Result)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if got := Verify(cancelled, src, reg, e.env); got.Result != Unverifiable {
		t.Errorf("cancelled: %v, want unverifiable", got.Result)
	}
}

type failing struct{ err error }

func (f failing) Refetch(context.Context, *schemas.Envelope) (Content, error) {
	return Content{}, fmt.Errorf("refetch: %w", f.err)
}

func TestWindowEnvelope(t *testing.T) {
	reg := schemas.Builtin()
	w := &fairstreampb.WorkerWindow{Worker: "0xAB", WindowStart: timestamppb.New(t0), WindowEnd: timestamppb.New(t0.Add(10 * time.Minute)), Revision: 2, Utility: 1.5}
	if got, want := WindowKey(w), "0xAB/2026-01-05T12:00:00Z"; got != want {
		t.Errorf("WindowKey = %q, want %q", got, want)
	}
	a, err := Envelope(reg, "v1", w)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Envelope(reg, "v1", w)
	if a.GetId() != b.GetId() || a.GetType() != "scores.window/v1" || a.GetKey() != WindowKey(w) {
		t.Errorf("envelope %v / %v", a, b)
	}
	w.Revision = 3
	if c, _ := Envelope(reg, "v1", w); c.GetId() == a.GetId() {
		t.Error("two revisions share an event ID")
	}
	var back fairstreampb.WorkerWindow
	if err := reg.DecodeInto(a, &back); err != nil || back.GetUtility() != 1.5 {
		t.Errorf("decode: %v, %v", err, &back)
	}
}
