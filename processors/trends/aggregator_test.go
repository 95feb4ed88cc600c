package trends

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func tweet(id string, tags []string, text string) *fairstreampb.Document {
	return &fairstreampb.Document{Id: id, Source: "twitter", Hashtags: tags, Text: text}
}

// feed adds doc at t and advances to the event watermark, as the processor
// does for an input of one partition.
func feed(a *Aggregator, doc *fairstreampb.Document, t time.Time) []*fairstreampb.TrendSnapshot {
	a.Add(doc, t)
	return a.Advance(a.EventWatermark())
}

func smallConfig() Config {
	c := DefaultConfig()
	c.Window, c.Slide, c.Baseline, c.AllowedLateness = 2*time.Minute, 30*time.Second, 10*time.Minute, 30*time.Second
	c.MinCount, c.TopN, c.Capacity = 1, 5, 20
	return c
}

func mustAggregator(t testing.TB, c Config) *Aggregator {
	t.Helper()
	a, err := NewAggregator(c)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func termCount(s *fairstreampb.TrendSnapshot, term string) int64 {
	for _, tt := range s.GetTerms() {
		if tt.GetTerm() == term {
			return tt.GetCount()
		}
	}
	return 0
}

func TestSlides(t *testing.T) {
	a := mustAggregator(t, smallConfig())
	var got []*fairstreampb.TrendSnapshot
	got = append(got, feed(a, tweet("twitter:1", []string{"a"}, ""), t0.Add(10*time.Second))...)
	got = append(got, feed(a, tweet("twitter:2", []string{"a"}, ""), t0.Add(40*time.Second))...)
	got = append(got, feed(a, tweet("twitter:3", []string{"b"}, ""), t0.Add(70*time.Second))...)
	if len(got) != 1 {
		t.Fatalf("after 70s with 30s lateness: %d snapshots, want 1 (the window ending at 30s)", len(got))
	}
	got = append(got, feed(a, tweet("twitter:4", []string{"c"}, ""), t0.Add(5*time.Minute))...)
	type want struct {
		end  time.Duration
		docs int64
		a, b int64
	}
	wants := []want{{30 * time.Second, 1, 1, 0}, {60 * time.Second, 2, 2, 0}, {90 * time.Second, 3, 2, 1},
		{120 * time.Second, 3, 2, 1}, {150 * time.Second, 2, 1, 1}, {180 * time.Second, 1, 0, 1}}
	if len(got) != len(wants) {
		t.Fatalf("%d snapshots, want %d (windows without documents are skipped)", len(got), len(wants))
	}
	for i, w := range wants {
		s := got[i]
		if end := s.GetWindowEnd().AsTime(); !end.Equal(t0.Add(w.end)) {
			t.Errorf("snapshot %d: window_end %s, want %s", i, end, t0.Add(w.end))
		}
		if start := s.GetWindowStart().AsTime(); !start.Equal(t0.Add(w.end - 2*time.Minute)) {
			t.Errorf("snapshot %d: window_start %s", i, start)
		}
		if s.GetDocuments() != w.docs || termCount(s, "#a") != w.a || termCount(s, "#b") != w.b || s.GetRevision() != 0 {
			t.Errorf("snapshot %d (end %s): documents %d #a %d #b %d revision %d; want %d %d %d 0",
				i, w.end, s.GetDocuments(), termCount(s, "#a"), termCount(s, "#b"), s.GetRevision(), w.docs, w.a, w.b)
		}
	}
	if g := got[2].GetTerms()[0]; g.GetRank() != 1 || g.GetKind() != hashtagKind || len(g.GetSampleDocumentIds()) == 0 {
		t.Errorf("first term of window 90s: %v", g)
	}
}

func TestLateWithinLatenessRevises(t *testing.T) {
	a := mustAggregator(t, smallConfig())
	feed(a, tweet("twitter:1", []string{"a"}, ""), t0.Add(10*time.Second))
	emitted := feed(a, tweet("twitter:2", []string{"b"}, ""), t0.Add(100*time.Second))
	// watermark 70s: windows ending 30s and 60s are out.
	if len(emitted) != 2 {
		t.Fatalf("%d snapshots, want 2", len(emitted))
	}
	// 50s is 20s behind the watermark, within the 30s lateness: the
	// emitted window ending at 60s is amended (the one ending at 30s does
	// not contain it).
	rev := feed(a, tweet("twitter:3", []string{"a"}, ""), t0.Add(50*time.Second))
	if len(rev) != 1 {
		t.Fatalf("late event: %d snapshots, want 1 revision", len(rev))
	}
	s := rev[0]
	if !s.GetWindowEnd().AsTime().Equal(t0.Add(60*time.Second)) || s.GetRevision() != 1 || termCount(s, "#a") != 2 || s.GetDocuments() != 2 {
		t.Fatalf("revision: end %s revision %d #a %d documents %d; want end 60s, revision 1, #a 2, 2 documents",
			s.GetWindowEnd().AsTime().Sub(t0), s.GetRevision(), termCount(s, "#a"), s.GetDocuments())
	}
	// Again: revision 2.
	rev = feed(a, tweet("twitter:4", []string{"a"}, ""), t0.Add(45*time.Second))
	if len(rev) != 1 || rev[0].GetRevision() != 2 || termCount(rev[0], "#a") != 3 {
		t.Fatalf("second late event: %v", rev)
	}
	// Later windows come out with the amended counts, revision 0.
	next := feed(a, tweet("twitter:5", []string{"c"}, ""), t0.Add(130*time.Second))
	if len(next) != 1 || !next[0].GetWindowEnd().AsTime().Equal(t0.Add(90*time.Second)) || termCount(next[0], "#a") != 3 || next[0].GetRevision() != 0 {
		t.Fatalf("next window: %v", next)
	}
	if a.Dropped() != 0 {
		t.Fatalf("dropped %d, want 0", a.Dropped())
	}
}

func TestTooLateDropped(t *testing.T) {
	a := mustAggregator(t, smallConfig())
	feed(a, tweet("twitter:1", []string{"a"}, ""), t0.Add(10*time.Second))
	feed(a, tweet("twitter:2", []string{"b"}, ""), t0.Add(100*time.Second))
	// Watermark 70s; 39s is 31s behind it: too late.
	if a.Add(tweet("twitter:3", []string{"a"}, ""), t0.Add(39*time.Second)) {
		t.Fatal("an event later than the allowed lateness was counted")
	}
	if out := a.Advance(a.EventWatermark()); len(out) != 0 {
		t.Fatalf("a dropped event emitted %d snapshots", len(out))
	}
	if a.Dropped() != 1 {
		t.Fatalf("dropped %d, want 1", a.Dropped())
	}
	next := feed(a, tweet("twitter:4", []string{"c"}, ""), t0.Add(130*time.Second))
	if len(next) != 1 || termCount(next[0], "#a") != 1 {
		t.Fatalf("the dropped event leaked into a window: %v", next)
	}
}

// burstStream is the acceptance stream: two hours of a constantly frequent
// hashtag (#always, 4/s), noise hashtags (4/s over 500 tags) and a rare
// #boom (one every 5 minutes), then from burstStart #boom bursts at 3/s.
func burstStream(burstStart time.Time, after time.Duration) (docs []*fairstreampb.Document, times []time.Time) {
	rng := rand.New(rand.NewPCG(7, 11))
	vocab := make([]string, 200)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("word%c%c", 'a'+i%26, 'a'+i/26)
	}
	text := func() string {
		var b strings.Builder
		for range 5 {
			b.WriteString(vocab[rng.IntN(len(vocab))])
			b.WriteByte(' ')
		}
		return b.String()
	}
	id := 0
	add := func(t time.Time, tag string) {
		id++
		docs = append(docs, tweet(fmt.Sprintf("twitter:%08d", id), []string{tag}, text()))
		times = append(times, t)
	}
	start := burstStart.Add(-2 * time.Hour)
	for sec := start; sec.Before(burstStart.Add(after)); sec = sec.Add(time.Second) {
		for i := range 4 {
			add(sec.Add(time.Duration(i)*250*time.Millisecond), "always")
			add(sec.Add(time.Duration(i)*250*time.Millisecond+time.Millisecond), fmt.Sprintf("n%d", rng.IntN(500)))
		}
		if sec.Before(burstStart) && sec.Sub(start)%(5*time.Minute) == 0 {
			add(sec.Add(500*time.Millisecond), "boom")
		}
		if !sec.Before(burstStart) {
			for i := range 3 {
				add(sec.Add(time.Duration(i)*300*time.Millisecond+2*time.Millisecond), "boom")
			}
		}
	}
	return docs, times
}

// TestAcceptanceBurst is the acceptance test: the bursting hashtag
// reaches rank 1 within two slides of its start, and the constantly
// frequent one, higher in absolute count than the burst's baseline, is
// never ranked above it.
func TestAcceptanceBurst(t *testing.T) {
	cfg := DefaultConfig()
	burst := t0.Add(7 * time.Second) // not on a slide boundary
	docs, times := burstStream(burst, 5*time.Minute)
	a := mustAggregator(t, cfg)
	var snaps []*fairstreampb.TrendSnapshot
	for i, d := range docs {
		snaps = append(snaps, feed(a, d, times[i])...)
	}
	rankOf := func(s *fairstreampb.TrendSnapshot, term string) (*fairstreampb.TrendTerm, int32) {
		for _, tt := range s.GetTerms() {
			if tt.GetTerm() == term {
				return tt, tt.GetRank()
			}
		}
		return nil, 1 << 30
	}
	reached := false
	checked := 0
	for _, s := range snaps {
		end := s.GetWindowEnd().AsTime()
		if !end.After(burst) {
			continue
		}
		boom, br := rankOf(s, "#boom")
		_, ar := rankOf(s, "#always")
		if ar < br {
			t.Errorf("window ending %s: #always ranked %d above #boom %d", end.Sub(burst), ar, br)
		}
		if br == 1 && !end.After(burst.Add(2*cfg.Slide)) {
			reached = true
		}
		if reached && br != 1 {
			t.Errorf("window ending %s: #boom fell to rank %d during the burst", end.Sub(burst), br)
		}
		// The stream's premise: #always is more frequent in the window
		// than #boom's baseline.
		var always int64
		for i, d := range docs {
			if d.GetHashtags()[0] == "always" && !times[i].Before(s.GetWindowStart().AsTime()) && times[i].Before(end) {
				always++
			}
		}
		if boom == nil || float64(always) <= boom.GetBaselineCount() || boom.GetBaselineCount() == 0 {
			t.Fatalf("window ending %s: #always counted %d, #boom %v: the premise does not hold", end.Sub(burst), always, boom)
		}
		checked++
	}
	if !reached {
		t.Fatalf("#boom did not reach rank 1 in a window ending within two slides (%s) of the burst", 2*cfg.Slide)
	}
	if checked < 5 {
		t.Fatalf("only %d windows after the burst were checked", checked)
	}
}

func TestDeterminism(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Capacity = 50 // evictions happen: determinism must not rest on exact counts
	run := func() []byte {
		docs, times := burstStream(t0, 3*time.Minute)
		a := mustAggregator(t, cfg)
		var out []byte
		for i, d := range docs[len(docs)/2:] {
			for _, s := range feed(a, d, times[len(docs)/2+i]) {
				out = append(out, stableJSON(t, s)...)
			}
		}
		return out
	}
	first, second := run(), run()
	if len(first) == 0 {
		t.Fatal("no snapshots")
	}
	if string(first) != string(second) {
		t.Fatal("the same input gave different snapshots")
	}
}

func TestResumeDoesNotReemit(t *testing.T) {
	cfg := smallConfig()
	docs, times := []*fairstreampb.Document{}, []time.Time{}
	for i := range 40 {
		docs = append(docs, tweet(fmt.Sprintf("twitter:%03d", i), []string{fmt.Sprintf("t%d", i%3)}, "hello world"))
		times = append(times, t0.Add(time.Duration(i)*10*time.Second))
	}
	full := mustAggregator(t, cfg)
	var want []*fairstreampb.TrendSnapshot
	for i, d := range docs {
		want = append(want, feed(full, d, times[i])...)
	}
	// A first run saw the first 25 documents.
	first := mustAggregator(t, cfg)
	var before []*fairstreampb.TrendSnapshot
	for i, d := range docs[:25] {
		before = append(before, feed(first, d, times[i])...)
	}
	// The restart replays everything, knowing what was emitted.
	again := mustAggregator(t, cfg)
	again.Resume(before)
	var after []*fairstreampb.TrendSnapshot
	for i, d := range docs {
		if i == 25 {
			again.EndReplay()
		}
		after = append(after, feed(again, d, times[i])...)
	}
	got := append(before, after...)
	if len(got) != len(want) {
		t.Fatalf("%d snapshots over the restart, want %d as uninterrupted", len(got), len(want))
	}
	for i := range want {
		if g, w := stableJSON(t, got[i]), stableJSON(t, want[i]); string(g) != string(w) {
			t.Fatalf("snapshot %d differs over the restart:\n got %s\nwant %s", i, g, w)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"window", func(c *Config) { c.Window = 0 }, "window: must be > 0, got 0s"},
		{"multiple", func(c *Config) { c.Slide = 7 * time.Second }, "window must be a multiple of slide"},
		{"baseline", func(c *Config) { c.Baseline = c.Window }, "baseline: must be > window"},
		{"top_n", func(c *Config) { c.TopN = 0 }, "top_n: must be > 0"},
		{"capacity", func(c *Config) { c.Capacity = 5 }, "capacity: must be >= top_n"},
		{"lateness", func(c *Config) { c.AllowedLateness = -time.Second }, "allowed_lateness: must be >= 0"},
		{"source", func(c *Config) { c.Source = "a/b" }, "source:"},
		{"min_count", func(c *Config) { c.MinCount = 0 }, "min_count:"},
		{"idle", func(c *Config) { c.IdleAdvance = -1 }, "idle_advance:"},
	} {
		c := DefaultConfig()
		tc.mod(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	if k := DefaultConfig().Key(); k != "twitter/15m0s" {
		t.Errorf("key %q, want twitter/15m0s", k)
	}
}
