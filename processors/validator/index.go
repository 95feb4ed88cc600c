package validator

import (
	"time"
)

// dedupGenerations is the number of generations the duplicate index keeps.
const dedupGenerations = 8

// index remembers which contents were seen, exactly (a 128-bit hash of the
// normalised text) and approximately (the band keys of a MinHash LSH), over
// a bounded horizon. Two maps hold every key with the generation that last
// added it, so a lookup is one probe per key whatever the horizon; the
// generations are a ring: records go into the newest; a generation is closed
// when it holds DedupMaxEntries/8 records or spans DedupHorizon/8 of event
// time (the newest seen), and the oldest is dropped — its keys deleted —
// when there are more than eight, or when it was last written to more than
// the horizon ago. So memory is bounded by DedupMaxEntries whatever the
// rate: about 300 bytes per record with 10 bands.
type index struct {
	maxPerGen int
	genSpan   time.Duration
	horizon   time.Duration
	exact     map[[16]byte]uint64 // key → number of the generation that added it last
	bands     map[uint64]uint64
	gens      []*generation // live, oldest first
	next      uint64        // number of the next generation
	// clock is the newest event time added: generations open and age on
	// it, so an old event (a late replay) cannot open one.
	clock time.Time
}

type generation struct {
	num          uint64
	opened, last time.Time // the clock when it opened and at its last record
	n            int
	exact        [][16]byte
	bands        []uint64
}

func newIndex(cfg Config) *index {
	return &index{
		maxPerGen: cfg.DedupMaxEntries / dedupGenerations,
		genSpan:   cfg.DedupHorizon / dedupGenerations,
		horizon:   cfg.DedupHorizon,
		exact:     make(map[[16]byte]uint64),
		bands:     make(map[uint64]uint64),
	}
}

// seenExact reports whether key was seen.
func (x *index) seenExact(key [16]byte) bool {
	_, ok := x.exact[key]
	return ok
}

// seenNear reports whether any of the band keys was seen.
func (x *index) seenNear(bands []uint64) bool {
	for _, k := range bands {
		if _, ok := x.bands[k]; ok {
			return true
		}
	}
	return false
}

// add records a content seen at event time t, with its band keys (none for
// texts too short for MinHash).
func (x *index) add(key [16]byte, bands []uint64, t time.Time) {
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

func (x *index) current() *generation {
	if n := len(x.gens); n > 0 {
		g := x.gens[n-1]
		if g.n < x.maxPerGen && x.clock.Sub(g.opened) < x.genSpan {
			return g
		}
	}
	g := &generation{num: x.next, opened: x.clock, last: x.clock}
	x.next++
	x.gens = append(x.gens, g)
	if len(x.gens) > dedupGenerations {
		x.drop()
	}
	return g
}

// drop forgets the oldest generation's keys, but those a newer generation
// added again.
func (x *index) drop() {
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
	x.gens[0] = nil
	x.gens = x.gens[1:]
}

// expire drops the generations last written to more than the horizon
// before watermark.
func (x *index) expire(watermark time.Time) {
	cut := watermark.Add(-x.horizon)
	for len(x.gens) > 0 && x.gens[0].last.Before(cut) {
		x.drop()
	}
}

// size is the number of records remembered.
func (x *index) size() int {
	n := 0
	for _, g := range x.gens {
		n += g.n
	}
	return n
}

// minhash computes MinHash LSH band keys.
type minhash struct {
	bands, rows int
	a, b        []uint64 // per hash function: (x ^ b) × a, a odd
	sig         []uint64
}

func newMinhash(bands, rows int) *minhash {
	k := bands * rows
	m := &minhash{bands: bands, rows: rows, a: make([]uint64, k), b: make([]uint64, k), sig: make([]uint64, k)}
	seed := uint64(0x6a09e667f3bcc908) // fixed: every validator computes the same keys
	for i := range k {
		seed += 0x9e3779b97f4a7c15
		m.a[i] = mix64(seed) | 1
		seed += 0x9e3779b97f4a7c15
		m.b[i] = mix64(seed)
	}
	return m
}

// keys appends the band keys of the feature hashes to dst.
func (m *minhash) keys(feats []uint64, dst []uint64) []uint64 {
	sig := m.sig
	for i := range sig {
		a, b := m.a[i], m.b[i]
		lo := ^uint64(0)
		for _, f := range feats {
			// (f ^ b) × a is a bijection of f; its high bits decide the
			// minimum.
			if v := (f ^ b) * a; v < lo {
				lo = v
			}
		}
		sig[i] = lo
	}
	for b := range m.bands {
		h := uint64(b) * 0x9e3779b97f4a7c15
		for _, v := range sig[b*m.rows : (b+1)*m.rows] {
			h = mix64(h ^ v)
		}
		dst = append(dst, h)
	}
	return dst
}
