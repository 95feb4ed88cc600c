package trends

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// Aggregator is the pure core of the trends processor: event-time sliding
// windows of Space-Saving summaries, a coarser baseline, and the ranking by
// velocity. It does no I/O and reads no clock, so that the same calls in the
// same order give the same snapshots. It is not safe for concurrent use.
//
// Time is cut into slices of one slide (slice n covers [n·slide,
// (n+1)·slide), aligned to the Unix epoch); a window ending at e covers the
// window/slide slices before e. The baseline is kept in buckets of one
// window length, aligned the same way.
type Aggregator struct {
	cfg                                    Config
	slide, window, baseline, late, bucketN int64 // nanoseconds
	k                                      int64 // slices per window

	slices  map[int64]*slice   // by slice index
	buckets map[int64]*summary // by bucket index
	pool    []*summary         // reset summaries, reused

	haveEvent   bool
	maxEvent    int64
	firstBucket int64 // earliest bucket with data
	wm          int64 // watermark
	haveWM      bool

	lastEnd   int64           // end of the newest window emitted; 0 if none
	revisions map[int64]int32 // revision of emitted windows that may still be amended
	dirty     map[int64]bool  // emitted windows amended since their emission
	replayTo  int64           // while replaying, windows ending <= replayTo are not re-emitted
	replaying bool

	dropped int64
	tok     tokenizer

	// Scratch space of snapshot, reused.
	merge  map[string]*merged
	slabs  [][]merged
	slab   [][]merged // slabs in use
	ranked []*merged
	// base caches baselineCounts for buckets [baseB0, baseB1).
	base           map[string]int64
	baseB0, baseB1 int64
	// prunedStep is the slide step of the horizon at the last prune.
	prunedStep int64
	pruned     bool
}

// The event times Add accepts.
var (
	minEventTime = time.Unix(0, 0)
	maxEventTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

type slice struct {
	sum  *summary
	docs int64
}

// NewAggregator returns an aggregator for cfg, which must be valid.
func NewAggregator(cfg Config) (*Aggregator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Aggregator{
		cfg: cfg, slide: int64(cfg.Slide), window: int64(cfg.Window), baseline: int64(cfg.Baseline),
		late: int64(cfg.AllowedLateness), bucketN: int64(cfg.Window), k: int64(cfg.Window / cfg.Slide),
		slices: map[int64]*slice{}, buckets: map[int64]*summary{},
		revisions: map[int64]int32{}, dirty: map[int64]bool{}, merge: map[string]*merged{},
	}, nil
}

// Dropped is how many documents Add refused as too late.
func (a *Aggregator) Dropped() int64 { return a.dropped }

// Watermark is the current watermark (zero before the first event).
func (a *Aggregator) Watermark() time.Time {
	if !a.haveWM {
		return time.Time{}
	}
	return time.Unix(0, a.wm).UTC()
}

// EventWatermark is the newest event time minus the allowed lateness: the
// watermark a single ordered input gives (zero before the first event).
func (a *Aggregator) EventWatermark() time.Time {
	if !a.haveEvent {
		return time.Time{}
	}
	return time.Unix(0, a.maxEvent-a.late).UTC()
}

// MaxEventTime is the newest event time added (zero before the first).
func (a *Aggregator) MaxEventTime() time.Time {
	if !a.haveEvent {
		return time.Time{}
	}
	return time.Unix(0, a.maxEvent).UTC()
}

// Add counts doc at event time t, unless t is more than the allowed
// lateness behind the watermark: then it is dropped and Add reports false.
// An event behind the watermark but within the lateness amends the windows
// already emitted that contain it; the next Advance re-emits them with
// revision+1.
//
// An event time outside [1970, 2200) (garbage that would overflow the
// nanosecond clock) is dropped the same way.
func (a *Aggregator) Add(doc *fairstreampb.Document, t time.Time) bool {
	if t.Before(minEventTime) || !t.Before(maxEventTime) {
		a.dropped++
		return false
	}
	tn := t.UnixNano()
	if a.haveWM && tn < a.wm-a.late {
		a.dropped++
		return false
	}
	n := floorDiv(tn, a.slide)
	sl := a.slices[n]
	if sl == nil {
		sl = &slice{sum: a.summary(a.cfg.SamplesPerTerm)}
		a.slices[n] = sl
	}
	sl.docs++
	bi := floorDiv(tn, a.bucketN)
	b := a.buckets[bi]
	if b == nil {
		b = a.summary(0)
		a.buckets[bi] = b
	}
	id := doc.GetId()
	for i, nt := 0, a.tok.terms(doc); i < nt; i++ {
		term := a.tok.term(i)
		sl.sum.add(term, id)
		b.add(term, "")
	}
	if !a.haveEvent || bi < a.firstBucket {
		a.firstBucket = bi
	}
	if a.base != nil && bi < a.baseB1 {
		a.base = nil // a bucket of the cached baseline changed
	}
	if !a.haveEvent || tn > a.maxEvent {
		a.maxEvent = tn
	}
	a.haveEvent = true
	// Emitted windows containing t: those ending in (t, t+window].
	if a.lastEnd != 0 && tn < a.lastEnd {
		for e := (n + 1) * a.slide; e <= min(a.lastEnd, (n+a.k)*a.slide); e += a.slide {
			if !(a.replaying && e <= a.replayTo) {
				a.dirty[e] = true
			}
		}
	}
	return true
}

func (a *Aggregator) summary(samples int) *summary {
	if n := len(a.pool); n > 0 {
		s := a.pool[n-1]
		a.pool = a.pool[:n-1]
		s.samples = samples
		return s
	}
	return newSummary(a.cfg.Capacity, samples)
}

// Resume tells a new aggregator which windows were emitted before a
// restart, from the snapshots of its key read back from the output topic:
// windows ending at or before the newest one are not emitted again, and a
// late amendment of one is emitted with the revision after the one read.
// Until EndReplay, amendments of those windows are not emitted at all: the
// replayed input rebuilds counts that were emitted already.
func (a *Aggregator) Resume(snaps []*fairstreampb.TrendSnapshot) {
	for _, s := range snaps {
		e := s.GetWindowEnd().AsTime().UnixNano()
		if e%a.slide != 0 || s.GetWindow().AsDuration() != a.cfg.Window {
			continue
		}
		if e > a.lastEnd {
			a.lastEnd = e
		}
		if r, ok := a.revisions[e]; !ok || s.GetRevision() > r {
			a.revisions[e] = s.GetRevision()
		}
	}
	a.replayTo = a.lastEnd
	a.replaying = a.lastEnd != 0
}

// EndReplay ends the replay begun by Resume.
func (a *Aggregator) EndReplay() { a.replaying = false }

// ResumedThrough is the end of the newest window emitted before, as told
// by Resume (zero if none).
func (a *Aggregator) ResumedThrough() time.Time {
	if a.replayTo == 0 {
		return time.Time{}
	}
	return time.Unix(0, a.replayTo).UTC()
}

// Advance moves the watermark to wm if that is later, and returns the
// snapshots that are due, oldest window first: windows amended by late
// events since they were emitted (revision+1), then every window ending at
// or before the watermark not emitted yet that counted at least one
// document. It then forgets the state no accepted event can reach.
func (a *Aggregator) Advance(wm time.Time) []*fairstreampb.TrendSnapshot {
	if !a.haveEvent {
		return nil
	}
	w := wm.UnixNano()
	if !wm.IsZero() && (!a.haveWM || w > a.wm) {
		a.wm, a.haveWM = w, true
	}
	if !a.haveWM {
		return nil
	}
	var out []*fairstreampb.TrendSnapshot
	if len(a.dirty) > 0 {
		ends := make([]int64, 0, len(a.dirty))
		for e := range a.dirty {
			ends = append(ends, e)
		}
		slices.Sort(ends)
		for _, e := range ends {
			rev, ok := a.revisions[e]
			if ok {
				rev++
			}
			if s := a.snapshot(e, rev); s != nil {
				out = append(out, s)
				a.revisions[e] = rev
			}
		}
		clear(a.dirty)
	}
	last := floorDiv(a.wm, a.slide) * a.slide
	e := a.lastEnd + a.slide
	if a.lastEnd == 0 {
		e = (a.minSlice() + 1) * a.slide
	}
	for e <= last {
		if next := a.nextDataEnd(e); next > e {
			e = next // skip windows without documents
			continue
		}
		if s := a.snapshot(e, 0); s != nil {
			out = append(out, s)
			a.revisions[e] = 0
		}
		a.lastEnd = e
		e += a.slide
	}
	if a.lastEnd < last && a.lastEnd != 0 {
		a.lastEnd = last
	}
	a.prune()
	return out
}

// minSlice is the index of the earliest slice held.
func (a *Aggregator) minSlice() int64 {
	first := true
	var m int64
	for n := range a.slices {
		if first || n < m {
			m, first = n, false
		}
	}
	return m
}

// nextDataEnd returns e if the window ending at e holds a slice with
// documents, else the end of the first window after e that does (or a
// value past every slice held).
func (a *Aggregator) nextDataEnd(e int64) int64 {
	lo := e/a.slide - a.k
	best := int64(-1)
	for n, sl := range a.slices {
		if sl.docs == 0 || n < lo {
			continue
		}
		if n < e/a.slide {
			return e
		}
		if best < 0 || n < best {
			best = n
		}
	}
	if best < 0 {
		return floorDiv(a.wm, a.slide)*a.slide + a.slide
	}
	return (best + 1) * a.slide
}

// prune forgets slices and buckets older than any window an accepted event
// can still amend (or any baseline such a window needs), and the revisions
// of windows that can no longer be amended.
func (a *Aggregator) prune() {
	horizon := a.wm - a.late // the oldest event time still accepted
	step := floorDiv(horizon, a.slide)
	if a.pruned && step == a.prunedStep {
		return // nothing new to forget before the next slide boundary
	}
	a.pruned, a.prunedStep = true, step
	for n, sl := range a.slices {
		if (n+a.k)*a.slide <= horizon {
			a.pool = append(a.pool, resetSummary(sl.sum))
			delete(a.slices, n)
		}
	}
	oldest := floorDiv(horizon-a.window-a.baseline, a.bucketN) - 1
	for bi, b := range a.buckets {
		if bi < oldest {
			a.pool = append(a.pool, resetSummary(b))
			delete(a.buckets, bi)
		}
	}
	for e := range a.revisions {
		if e <= horizon {
			delete(a.revisions, e)
		}
	}
}

func resetSummary(s *summary) *summary { s.reset(); return s }

// merged is a term's count over a window's slices.
type merged struct {
	term           string
	count, err     int64
	minPresentFull int64 // sum of the mins of the full slices holding the term
	ids            []string
	baseline       float64
	velocity       float64
}

// baselineCounts returns the terms' counts summed over buckets [b0, b1),
// cached until the range changes or an event lands in a bucket before b1.
func (a *Aggregator) baselineCounts(b0, b1 int64) map[string]int64 {
	if a.base != nil && a.baseB0 == b0 && a.baseB1 == b1 {
		return a.base
	}
	if a.base == nil {
		a.base = map[string]int64{}
	}
	clear(a.base)
	for bi := b0; bi < b1; bi++ {
		if b := a.buckets[bi]; b != nil {
			for _, en := range b.heap {
				a.base[en.term] += en.count
			}
		}
	}
	a.baseB0, a.baseB1 = b0, b1
	return a.base
}

// newMerged returns a zeroed merged from the aggregator's slab, which is
// reused from one snapshot to the next.
func (a *Aggregator) newMerged(term string) *merged {
	const chunk = 1024
	if len(a.slab) == 0 || len(a.slab[len(a.slab)-1]) == cap(a.slab[len(a.slab)-1]) {
		if len(a.slab) < len(a.slabs) {
			a.slab = a.slabs[:len(a.slab)+1]
			a.slab[len(a.slab)-1] = a.slab[len(a.slab)-1][:0]
		} else {
			a.slabs = append(a.slabs, make([]merged, 0, chunk))
			a.slab = a.slabs
		}
	}
	last := &a.slab[len(a.slab)-1]
	*last = append(*last, merged{term: term})
	return &(*last)[len(*last)-1]
}

// snapshot ranks the window ending at e; nil if it counted no document.
func (a *Aggregator) snapshot(e int64, revision int32) *fairstreampb.TrendSnapshot {
	hi := e / a.slide
	var docs, mins int64
	terms := a.merge
	clear(terms)
	a.slab = a.slab[:0]
	for n := hi - a.k; n < hi; n++ {
		sl := a.slices[n]
		if sl == nil {
			continue
		}
		docs += sl.docs
		full := sl.sum.full()
		m := sl.sum.min()
		if full {
			mins += m
		}
		for _, en := range sl.sum.heap {
			t := terms[en.term]
			if t == nil {
				t = a.newMerged(en.term)
				terms[en.term] = t
			}
			t.count += en.count
			t.err += en.err
			if full {
				t.minPresentFull += m
			}
		}
	}
	if docs == 0 {
		return nil
	}
	// The baseline: the buckets wholly inside [start-baseline, start), from
	// the first bucket that saw data.
	start := e - a.window
	b0 := max(ceilDiv(start-a.baseline, a.bucketN), a.firstBucket)
	b1 := floorDiv(start, a.bucketN) // exclusive
	covered := float64(max(b1-b0, 0)) * float64(a.bucketN)
	var base map[string]int64
	if covered > 0 {
		base = a.baselineCounts(b0, b1)
	}
	ranked := a.ranked[:0]
	for _, t := range terms {
		// A term absent from a full slice may have been evicted from it
		// with up to that slice's min: count it as such, as error.
		absent := mins - t.minPresentFull
		t.count += absent
		t.err += absent
		guaranteed := t.count - t.err
		if guaranteed < a.cfg.MinCount {
			continue
		}
		if covered > 0 {
			t.baseline = float64(base[t.term]) / covered * float64(a.window)
		}
		t.velocity = (float64(guaranteed) + a.cfg.Smoothing) / (t.baseline + a.cfg.Smoothing)
		ranked = append(ranked, t)
	}
	slices.SortFunc(ranked, func(x, y *merged) int {
		if c := cmp.Compare(y.velocity, x.velocity); c != 0 {
			return c
		}
		if c := cmp.Compare(y.count-y.err, x.count-x.err); c != 0 {
			return c
		}
		// Hashtags first: they are deliberate, the words of the same
		// posts tie with them.
		if xh, yh := kindOf(x.term) == hashtagKind, kindOf(y.term) == hashtagKind; xh != yh {
			if xh {
				return -1
			}
			return 1
		}
		return cmp.Compare(x.term, y.term)
	})
	a.ranked = ranked[:0]
	if len(ranked) > a.cfg.TopN {
		ranked = ranked[:a.cfg.TopN]
	}
	// Samples only for the terms kept: newest slice first, the greatest
	// IDs overall.
	for _, t := range ranked {
		var ids []string
		for n := hi - 1; n >= hi-a.k; n-- {
			if sl := a.slices[n]; sl != nil {
				if en := sl.sum.lookup(t.term); en != nil {
					for _, id := range en.ids {
						ids = insertSample(ids, id, a.cfg.SamplesPerTerm)
					}
				}
			}
		}
		t.ids = ids
	}
	snap := &fairstreampb.TrendSnapshot{
		Source:       a.cfg.Source,
		WindowStart:  timestamppb.New(time.Unix(0, start)),
		WindowEnd:    timestamppb.New(time.Unix(0, e)),
		Window:       durationpb.New(a.cfg.Window),
		Slide:        durationpb.New(a.cfg.Slide),
		Baseline:     durationpb.New(a.cfg.Baseline),
		Documents:    docs,
		Revision:     revision,
		StageVersion: Version,
	}
	for i, t := range ranked {
		snap.Terms = append(snap.Terms, &fairstreampb.TrendTerm{
			Rank: int32(i + 1), Term: t.term, Kind: kindOf(t.term),
			Count: t.count, CountError: t.err, BaselineCount: t.baseline, Velocity: t.velocity,
			SampleDocumentIds: t.ids,
		})
	}
	return snap
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 { return -floorDiv(-a, b) }

// String describes the aggregator's state size, for logs.
func (a *Aggregator) String() string {
	return fmt.Sprintf("trends aggregator: %d slices, %d baseline buckets, watermark %s", len(a.slices), len(a.buckets), a.Watermark().Format(time.RFC3339))
}
