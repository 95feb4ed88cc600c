package validator

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"math/bits"
	"time"
)

// dedupGenerations is the number of generations the duplicate index keeps.
const dedupGenerations = 8

// The duplicate index's table: buckets of eight slots, one 64-byte cache
// line each. A slot holds a key's tag (all but the low 8 bits of its hash)
// and the low 8 bits of the number of the generation that added it last; 0
// is an empty slot.
const (
	bucketSlots = 8
	genBits     = 8
	genMask     = 1<<genBits - 1
	// sweepEvery: every this many generations the table is swept of the
	// slots of dropped generations, so that a slot's generation, known
	// modulo 2^genBits, is never taken for a live one.
	sweepEvery = 1 << (genBits - 1)
	// slotsPerKey sizes the table: about three slots per key of a full
	// index. The table grows when a third of its slots are taken.
	slotsPerKey = 3
	// minBuckets: a table's bucket index is the low bits of the hash; with
	// at least 2^genBits buckets the next bits, which growing needs, are
	// in the tag.
	minBuckets  = 1 << genBits
	initBuckets = 1 << 10
	// growth is the factor the table grows by: the copies made as it
	// grows add up to about 1/(growth-1) of its final size.
	growth = 8
)

// index remembers which contents were seen, exactly (a hash of the
// normalised text) and approximately (the band keys of a MinHash LSH), over
// a bounded horizon.
//
// Records go into generations, a ring: records go into the newest; a
// generation is closed when it holds DedupMaxEntries/8 records or spans
// DedupHorizon/8 of event time (the newest seen), and the oldest is
// dropped when there are more than eight, or when it was last written to
// more than the horizon ago. Dropping a generation forgets its keys, but
// those a newer generation added again. A record's keys are its exact key
// (the first 64 bits of the SHA-256 of its normalised text, or of its
// content hash) and its band keys.
//
// The keys live in one hash table of buckets of eight slots (one cache
// line), 8 bytes a slot. A key's bucket is chosen by a hash keyed by the
// validator's seed, so that a worker cannot aim its records at another's
// bucket; its slot holds its tag and the generation that added it last. So
// a lookup or an insert reads one bucket per key, and dropping a
// generation costs nothing: its slots are dead from then on, free for new
// keys. The table grows as the index fills, up to a size fixed by
// DedupMaxEntries records of 1 + NearDuplicateBands keys: about 3 slots per
// key (a power of two of buckets: 2.1 to 4.2), 264 bytes per record with 10
// bands (187 to 373), whatever the rate; 2^22 buckets, 256 MiB, for the
// default million records. When all eight slots of a bucket
// are live, a new key takes the slot of the oldest generation, forgetting
// that key before its generation is dropped: in a full index at 3 slots per
// key, about one key in 200 does so (one in 30 at 2.1, one in 2000 at 4.2),
// and a record forgotten so counts as unique again — it is old enough for
// freshness to price it. Two different keys are taken for one with a chance
// of 2^-(64 - log2 buckets) per slot compared (2^-42 by default).
type index struct {
	maxPerGen int
	genSpan   time.Duration
	horizon   time.Duration
	salt      uint64       // keys the bucket hash
	table     []bucket     // a power of two of buckets
	maxTable  int          // the most buckets it grows to
	room      int          // it grows when fewer than room slots per slot are not empty
	used      int          // slots not empty
	gens      []generation // live, oldest first; numbered next-len(gens) to next-1
	next      uint64       // number of the next generation
	swept     uint64       // next at the last sweep
	// clock is the newest event time added: generations open and age on
	// it, so an old event (a late replay) cannot open one.
	clock time.Time
	// evicted counts the live slots taken by a new key (for tests).
	evicted int
	scratch probe
	touch   uint64 // what probe read, kept so that the reads are not dropped
}

type bucket [bucketSlots]uint64

type generation struct {
	num          uint64
	opened, last time.Time // the clock when it opened and at its last record
	n            int
}

func newIndex(cfg Config) *index {
	// The power of two of buckets nearest (within √2) 3 slots per key.
	want := float64(cfg.DedupMaxEntries) * float64(1+cfg.NearDuplicateBands) * slotsPerKey / bucketSlots
	maxTable := minBuckets
	for float64(maxTable)*math.Sqrt2 < want {
		maxTable *= 2
	}
	salt := sha256.Sum256([]byte("fairstream/validator/index/v1\x00" + cfg.Seed))
	return &index{
		maxPerGen: cfg.DedupMaxEntries / dedupGenerations,
		genSpan:   cfg.DedupHorizon / dedupGenerations,
		horizon:   cfg.DedupHorizon,
		salt:      binary.LittleEndian.Uint64(salt[:8]),
		table:     make([]bucket, min(initBuckets, maxTable)),
		maxTable:  maxTable,
		room:      slotsPerKey,
	}
}

// exactKey is the table key of an exact key.
func exactKey(key [16]byte) uint64 { return binary.LittleEndian.Uint64(key[:8]) }

// slot is where a key is looked up: its bucket and its tag.
type slot struct {
	b   *bucket
	tag uint64
}

// locate returns the slot of key k: its keyed hash's low bits choose the
// bucket, the others are its tag.
func (x *index) locate(k uint64) slot {
	h := mix64(k ^ x.salt)
	tag := h &^ genMask
	if tag == 0 {
		tag = 1 << genBits
	}
	return slot{&x.table[h&uint64(len(x.table)-1)], tag}
}

// dead reports whether slot value v is empty or of a dropped generation.
func (x *index) dead(v uint64) bool {
	return v == 0 || (x.next-1-v)&genMask >= uint64(len(x.gens))
}

// seen reports whether the key of s is remembered.
func (x *index) seen(s slot) bool {
	for _, v := range s.b {
		if v&^genMask == s.tag {
			return !x.dead(v)
		}
	}
	return false
}

// probe is a content's slots: its exact key's, then its band keys'.
type probe []slot

// probe locates a content's keys: key, its exact key, and bands, its band
// keys (none for texts too short for MinHash). It reads the buckets as it
// goes, so that they are all on their way from memory before the first is
// searched. The probe is valid until the next call.
func (x *index) probe(key [16]byte, bands []uint64) probe {
	if x.used*x.room > len(x.table)*bucketSlots && len(x.table) < x.maxTable {
		x.grow()
	}
	p := append(x.scratch[:0], x.locate(exactKey(key)))
	touch := p[0].b[0]
	for _, k := range bands {
		s := x.locate(k)
		touch ^= s.b[0]
		p = append(p, s)
	}
	x.scratch, x.touch = p, touch
	return p
}

// seenExact reports whether p's exact key was seen.
func (x *index) seenExact(p probe) bool { return x.seen(p[0]) }

// seenNear reports whether any of p's band keys was seen.
func (x *index) seenNear(p probe) bool {
	for _, s := range p[1:] {
		if x.seen(s) {
			return true
		}
	}
	return false
}

// add records the content of p, seen at event time t.
func (x *index) add(p probe, t time.Time) {
	if t.After(x.clock) {
		x.clock = t
	}
	g := x.current()
	gen := g.num & genMask
	for _, s := range p {
		x.insert(s, gen)
	}
	g.n++
	g.last = x.clock
}

// insert sets the generation of the key of s to gen: in its slot if it has
// one, else in the first free slot of its bucket, else in the oldest.
func (x *index) insert(s slot, gen uint64) {
	b := s.b
	free, oldest, oldestAge := -1, 0, uint64(0)
	for i, v := range b {
		if v&^genMask == s.tag {
			b[i] = s.tag | gen
			return
		}
		if x.dead(v) {
			if free < 0 {
				free = i
			}
			continue
		}
		if age := (x.next - 1 - v) & genMask; age > oldestAge {
			oldest, oldestAge = i, age
		}
	}
	switch {
	case free < 0:
		free = oldest
		x.evicted++
	case b[free] == 0:
		x.used++
	}
	b[free] = s.tag | gen
}

// grow makes the table growth times larger (or as large as it may grow),
// leaving out the dead slots. A key's new bucket is its hash's low bits,
// as before: its old bucket, plus the old size times the hash's next bits,
// which are in its tag.
func (x *index) grow() {
	old := x.table
	bit := uint(bits.TrailingZeros(uint(len(old))))
	t := make([]bucket, min(growth*len(old), x.maxTable))
	mask := uint64(len(t)/len(old) - 1)
	var n [growth]int // slots filled per new bucket
	used := 0
	for i := range old {
		clear(n[:])
		for _, v := range old[i] {
			if x.dead(v) {
				continue
			}
			j := v >> bit & mask
			t[i+int(j)*len(old)][n[j]] = v
			n[j]++
			used++
		}
	}
	x.table, x.used = t, used
}

func (x *index) current() *generation {
	if n := len(x.gens); n > 0 {
		g := &x.gens[n-1]
		if g.n < x.maxPerGen && x.clock.Sub(g.opened) < x.genSpan {
			return g
		}
	}
	x.gens = append(x.gens, generation{num: x.next, opened: x.clock, last: x.clock})
	x.next++
	if len(x.gens) > dedupGenerations {
		x.drop()
	}
	if x.next-x.swept >= sweepEvery {
		x.sweep()
	}
	return &x.gens[len(x.gens)-1]
}

// drop forgets the oldest generation: its slots are dead from now on.
func (x *index) drop() {
	x.gens = append(x.gens[:0], x.gens[1:]...)
}

// sweep empties the dead slots. Dead and empty slots are alike to lookups
// and inserts; what the sweep prevents is a slot left since sweepEvery
// generations ago whose generation, modulo 2^genBits, is a live one's.
func (x *index) sweep() {
	for i := range x.table {
		b := &x.table[i]
		for j, v := range b {
			if v != 0 && x.dead(v) {
				b[j] = 0
				x.used--
			}
		}
	}
	x.swept = x.next
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
	// (f ^ b) × a is a bijection of f; its high bits decide the minimum.
	// Four hash functions per pass over the features: four independent
	// minimums keep the multiplier busy.
	i := 0
	for ; i+4 <= len(sig); i += 4 {
		a0, a1, a2, a3 := m.a[i], m.a[i+1], m.a[i+2], m.a[i+3]
		b0, b1, b2, b3 := m.b[i], m.b[i+1], m.b[i+2], m.b[i+3]
		l0, l1, l2, l3 := ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)
		for _, f := range feats {
			l0 = min(l0, (f^b0)*a0)
			l1 = min(l1, (f^b1)*a1)
			l2 = min(l2, (f^b2)*a2)
			l3 = min(l3, (f^b3)*a3)
		}
		sig[i], sig[i+1], sig[i+2], sig[i+3] = l0, l1, l2, l3
	}
	for ; i < len(sig); i++ {
		a, b := m.a[i], m.b[i]
		lo := ^uint64(0)
		for _, f := range feats {
			lo = min(lo, (f^b)*a)
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
