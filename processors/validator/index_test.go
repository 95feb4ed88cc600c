package validator

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// mapIndex is the index as it was first written, with two maps and each
// generation's keys: the model the table must agree with while it has room.
type mapIndex struct {
	maxPerGen int
	genSpan   time.Duration
	horizon   time.Duration
	exact     map[[16]byte]uint64
	bands     map[uint64]uint64
	gens      []*mapGeneration
	next      uint64
	clock     time.Time
}

type mapGeneration struct {
	num          uint64
	opened, last time.Time
	n            int
	exact        [][16]byte
	bands        []uint64
}

func newMapIndex(cfg Config) *mapIndex {
	return &mapIndex{
		maxPerGen: cfg.DedupMaxEntries / dedupGenerations,
		genSpan:   cfg.DedupHorizon / dedupGenerations,
		horizon:   cfg.DedupHorizon,
		exact:     make(map[[16]byte]uint64),
		bands:     make(map[uint64]uint64),
	}
}

func (x *mapIndex) seenExact(key [16]byte) bool { _, ok := x.exact[key]; return ok }

func (x *mapIndex) seenNear(bands []uint64) bool {
	for _, k := range bands {
		if _, ok := x.bands[k]; ok {
			return true
		}
	}
	return false
}

func (x *mapIndex) add(key [16]byte, bands []uint64, t time.Time) {
	if t.After(x.clock) {
		x.clock = t
	}
	g := x.current()
	x.exact[key] = g.num
	g.exact = append(g.exact, key)
	for _, k := range bands {
		x.bands[k] = g.num
	}
	g.bands = append(g.bands, bands...)
	g.n++
	g.last = x.clock
}

func (x *mapIndex) current() *mapGeneration {
	if n := len(x.gens); n > 0 {
		g := x.gens[n-1]
		if g.n < x.maxPerGen && x.clock.Sub(g.opened) < x.genSpan {
			return g
		}
	}
	g := &mapGeneration{num: x.next, opened: x.clock, last: x.clock}
	x.next++
	x.gens = append(x.gens, g)
	if len(x.gens) > dedupGenerations {
		x.drop()
	}
	return g
}

func (x *mapIndex) drop() {
	g := x.gens[0]
	for _, k := range g.exact {
		if x.exact[k] == g.num {
			delete(x.exact, k)
		}
	}
	for _, k := range g.bands {
		if x.bands[k] == g.num {
			delete(x.bands, k)
		}
	}
	x.gens = x.gens[1:]
}

func (x *mapIndex) expire(watermark time.Time) {
	cut := watermark.Add(-x.horizon)
	for len(x.gens) > 0 && x.gens[0].last.Before(cut) {
		x.drop()
	}
}

func (x *mapIndex) size() int {
	n := 0
	for _, g := range x.gens {
		n += g.n
	}
	return n
}

// TestIndexAgreesWithMaps drives the table and the map model with the same
// records — new, exact copies, near copies sharing a band, re-added after
// their generation was dropped — through more than 2^genBits generations
// (sweeps, the generation number wrapping), closed by count and by time,
// and expired by the watermark: while no live slot is evicted, the two must
// answer every lookup alike.
func TestIndexAgreesWithMaps(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DedupMaxEntries = 400
	cfg.DedupHorizon = 8 * time.Hour
	x, m := newIndex(cfg), newMapIndex(cfg)
	x.table = x.table[:minBuckets]
	x.maxTable, x.room = 1<<14, 16 // room: no eviction; the table grows 3 times
	r := rand.New(rand.NewPCG(5, 5))
	type content struct {
		key   [16]byte
		bands []uint64
	}
	fresh := func() content {
		var c content
		for i := range c.key {
			c.key[i] = byte(r.Uint32())
		}
		for range r.IntN(11) {
			c.bands = append(c.bands, r.Uint64())
		}
		return c
	}
	var past []content
	now := t0
	counts := map[string]int{}
	for step := range 60_000 {
		var c content
		switch k := r.IntN(10); {
		case k < 6 || len(past) == 0:
			c = fresh()
		case k < 8: // an exact copy of a recent or an old record
			c = past[len(past)-1-r.IntN(min(len(past), 3000))]
		default: // a near copy: one band of an earlier record
			old := past[len(past)-1-r.IntN(min(len(past), 3000))]
			c = fresh()
			if len(old.bands) > 0 && len(c.bands) > 0 {
				c.bands[0] = old.bands[r.IntN(len(old.bands))]
			}
		}
		switch k := r.IntN(1000); {
		case k == 0:
			now = now.Add(cfg.DedupHorizon / 4) // closes a generation by time
		case k == 1:
			now = now.Add(-time.Hour) // a late record: the clock stays
		default:
			now = now.Add(time.Duration(r.IntN(200)) * time.Millisecond)
		}
		if r.IntN(500) == 0 {
			x.expire(now.Add(-time.Hour))
			m.expire(now.Add(-time.Hour))
		}
		p := x.probe(c.key, c.bands)
		exact, near := x.seenExact(p), x.seenNear(p)
		if wantExact, wantNear := m.seenExact(c.key), m.seenNear(c.bands); exact != wantExact || (!exact && near != wantNear) {
			t.Fatalf("step %d (generation %d): exact %v near %v, the maps say %v %v", step, x.next, exact, near, wantExact, wantNear)
		}
		switch {
		case exact:
			counts["exact"]++
		case near:
			counts["near"]++
		default:
			counts["none"]++
		}
		if !exact {
			x.add(p, now)
			m.add(c.key, c.bands, now)
		}
		if x.size() != m.size() {
			t.Fatalf("step %d: size %d, the maps say %d", step, x.size(), m.size())
		}
		past = append(past, c)
	}
	if x.evicted != 0 || len(x.table) != x.maxTable {
		t.Fatalf("%d live slots evicted, %d buckets: the comparison is void", x.evicted, len(x.table))
	}
	if x.next < 3<<genBits || counts["exact"] == 0 || counts["near"] == 0 {
		t.Fatalf("%d generations, outcomes %v: the test exercises too little", x.next, counts)
	}
	t.Logf("%d generations, outcomes %v", x.next, counts)
}

// TestIndexEvictsTheOldest fills one bucket: a new key takes the slot of
// the oldest generation.
func TestIndexEvictsTheOldest(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DedupMaxEntries = 8 // a generation per record
	x := newIndex(cfg)
	x.table, x.maxTable = make([]bucket, 1), 1
	key := func(i int) [16]byte { return [16]byte{0, byte(i), 1} } // the tag is all but the low byte
	band := func(i int) []uint64 { return []uint64{uint64(i)<<genBits | 1<<40} }
	for i := range 5 { // two keys each: the fifth record finds the bucket full
		x.add(x.probe(key(i), band(i)), t0.Add(time.Duration(i)*time.Second))
	}
	for i := range 5 {
		p := x.probe(key(i), band(i))
		if got, want := x.seenExact(p) && x.seenNear(p), i > 0; got != want {
			t.Errorf("record %d remembered: %v, want %v", i, got, want)
		}
	}
	if x.evicted != 2 {
		t.Errorf("%d slots evicted, want 2", x.evicted)
	}
}

// TestIndexFullEviction fills an index to DedupMaxEntries records of 10
// bands and keeps it full, at 2.1, 3 and 4.2 slots per key: the share of
// keys that find their bucket full of live keys (and evict the oldest) is
// what the doc on index states.
func TestIndexFullEviction(t *testing.T) {
	for _, c := range []struct {
		slotsPerKey float64
		most        float64 // documented: one in 30, 200, 2000
	}{{2.1, 1.0 / 30}, {3, 1.0 / 200}, {4.2, 1.0 / 2000}} {
		const buckets = 1 << 15
		cfg := DefaultConfig()
		cfg.DedupMaxEntries = int(buckets * bucketSlots / c.slotsPerKey / float64(1+cfg.NearDuplicateBands))
		x := newIndex(cfg)
		x.maxTable = buckets
		r := rand.New(rand.NewPCG(9, 9))
		bands := make([]uint64, cfg.NearDuplicateBands)
		var key [16]byte
		inserted := 0
		for i := range 4 * cfg.DedupMaxEntries {
			if i == cfg.DedupMaxEntries { // count once full
				x.evicted, inserted = 0, 0
			}
			for j := range key {
				key[j] = byte(r.Uint32())
			}
			for j := range bands {
				bands[j] = r.Uint64()
			}
			x.add(x.probe(key, bands), t0.Add(time.Duration(i)*time.Millisecond))
			inserted += 1 + len(bands)
		}
		share := float64(x.evicted) / float64(inserted)
		t.Logf("full index at %.1f slots per key: one key in %.0f evicted a live one", c.slotsPerKey, 1/share)
		if share > 1.5*c.most {
			t.Errorf("at %.1f slots per key one key in %.0f evicted a live one, more than the one in %.0f documented", c.slotsPerKey, 1/share, 1/c.most)
		}
	}
}

// normalizeRunes is Normalize as first written, rune by rune.
func normalizeRunes(text string) string {
	if len(text) > maxTextBytes {
		text = text[:maxTextBytes]
	}
	var b strings.Builder
	space := false
	for _, r := range text {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			if r < utf8.RuneSelf {
				if 'A' <= r && r <= 'Z' {
					r += 'a' - 'A'
				}
				b.WriteByte(byte(r))
			} else {
				b.WriteRune(unicode.ToLower(r))
			}
			continue
		}
		space = true
	}
	return b.String()
}

func TestNormalizeMatchesRuneByRune(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	pieces := []string{"a", "Z", "9", " ", "\t", "!", "-", "_", "é", "Ü", "ǅ", "ß", "İ", "Σ", "٣", "字", "🚀", "\u200b", "\xff", "\xe2\x82", "ﬁ", "Ⅻ"}
	texts := []string{"", strings.Repeat("Ab ", maxTextBytes/3+1), strings.Repeat("x", maxTextBytes-1) + "é"}
	for range 5000 {
		var b strings.Builder
		for range r.IntN(40) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		texts = append(texts, b.String())
	}
	for _, s := range texts {
		want := normalizeRunes(s)
		if got := Normalize(s); got != want {
			t.Fatalf("Normalize(%q) = %q, want %q", s, got, want)
		}
		if got := string(appendNormalized([]byte("x"), s)); got != "x"+want {
			t.Fatalf("appendNormalized(%q) = %q, want %q", s, got, "x"+want)
		}
		fs, ns := features(want, nil)
		fb, nb := features([]byte(want), nil)
		if ns != nb || fmt.Sprint(fs) != fmt.Sprint(fb) {
			t.Fatalf("features of %q differ between string and bytes", want)
		}
	}
}

// TestMinhashCollisionRates measures how often pairs of texts at a given
// Jaccard similarity (of their word and bigram shingles) share a band,
// against 1−(1−J^rows)^bands, the probabilities the doc on
// Config.NearDuplicateBands states (for 10 × 5: 99.99% at J=0.9, 98% at 0.8,
// 27% at 0.5, 2.4% at 0.3).
func TestMinhashCollisionRates(t *testing.T) {
	cfg := DefaultConfig()
	mh := newMinhash(cfg.NearDuplicateBands, cfg.NearDuplicateRows)
	r := rand.New(rand.NewPCG(6, 6))
	token := 0
	word := func() string { token++; return fmt.Sprintf("w%d", token) }
	jaccard := func(a, b []uint64) float64 {
		in := map[uint64]bool{}
		for _, f := range a {
			in[f] = true
		}
		shared := 0
		for _, f := range b {
			if in[f] {
				shared++
			}
		}
		return float64(shared) / float64(len(a)+len(b)-shared)
	}
	const pairs = 4000
	for _, c := range []struct {
		target  float64
		words   int // text length
		replace int // words replaced, none adjacent nor at an end: 3 shingles each
	}{{0.9, 60, 2}, {0.8, 60, 4}, {0.5, 60, 13}, {0.3, 60, 21}} {
		hits, sumJ, want, variance := 0, 0.0, 0.0, 0.0
		for range pairs {
			a := make([]string, c.words)
			for i := range a {
				a[i] = word()
			}
			b := append([]string(nil), a...)
			for _, i := range r.Perm(c.words/2 - 1)[:c.replace] {
				b[2*i+1] = word()
			}
			fa, _ := features(strings.Join(a, " "), nil)
			fb, _ := features(strings.Join(b, " "), nil)
			j := jaccard(fa, fb)
			p := 1 - math.Pow(1-math.Pow(j, float64(cfg.NearDuplicateRows)), float64(cfg.NearDuplicateBands))
			sumJ, want, variance = sumJ+j, want+p, variance+p*(1-p)
			ka, kb := mh.keys(fa, nil), mh.keys(fb, nil)
			for i := range ka {
				if ka[i] == kb[i] {
					hits++
					break
				}
			}
		}
		meanJ := sumJ / pairs
		t.Logf("J≈%.3f: %d/%d pairs share a band (%.2f%%), expected %.2f%%", meanJ, hits, pairs, 100*float64(hits)/pairs, 100*want/pairs)
		if math.Abs(meanJ-c.target) > 0.03 {
			t.Errorf("J=%.2f: the pairs have J %.3f", c.target, meanJ)
		}
		// Five standard deviations, and at least three pairs.
		if d := math.Abs(float64(hits) - want); d > max(5*math.Sqrt(variance), 3) {
			t.Errorf("J≈%.2f: %d pairs share a band, expected %.1f ± %.1f", meanJ, hits, want, math.Sqrt(variance))
		}
	}
}
