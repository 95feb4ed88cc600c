// Package vectorstest is the conformance suite every vectors.Store passes.
//
// A backend's test calls Run with a constructor; the suite creates a
// collection of its own per subtest (a unique name, dropped at the end), so
// several runs can share one server. Stores that persist pass WithReopen so
// the suite can check that data survives Close and a new Open.
package vectorstest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fairstream/fairstream/processors/embed/vectors"
)

// Dims is the dimension of the suite's collections.
const Dims = 16

// callTimeout bounds each call the suite makes.
const callTimeout = 60 * time.Second

// Option adjusts Run.
type Option func(*suite)

// WithReopen gives the suite a way to close a store and open it again on the
// same data; without it the persistence test is skipped (for stores whose
// data lives elsewhere, such as a server, reopening is a new client).
func WithReopen(reopen func(t *testing.T, s vectors.Store) vectors.Store) Option {
	return func(s *suite) { s.reopen = reopen }
}

type suite struct {
	newStore func(t *testing.T) vectors.Store
	reopen   func(t *testing.T, s vectors.Store) vectors.Store
}

var seq atomic.Int64

// Run runs the conformance suite against the stores newStore returns. Each
// subtest gets its own store from newStore and closes it at the end.
func Run(t *testing.T, newStore func(t *testing.T) vectors.Store, opts ...Option) {
	s := &suite{newStore: newStore}
	for _, o := range opts {
		o(s)
	}
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, st vectors.Store, coll string)
	}{
		{"EnsureCollection", testEnsureCollection},
		{"MissingCollection", testMissingCollection},
		{"EmptyCollection", testEmptyCollection},
		{"UpsertSearch", testUpsertSearch},
		{"Replay", testReplay},
		{"Replace", testReplace},
		{"Delete", testDelete},
		{"DeleteByDocument", testDeleteByDocument},
		{"Filters", testFilters},
		{"KLargerThanCollection", testKLarger},
		{"InvalidArguments", testInvalid},
		{"Concurrent", testConcurrent},
		{"Reopen", s.testReopen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := s.newStore(t)
			coll := fmt.Sprintf("vectorstest_%d_%d", time.Now().UnixNano(), seq.Add(1))
			if tc.name != "Reopen" { // testReopen closes and drops itself
				t.Cleanup(func() { dropAndClose(t, st, coll) })
			}
			tc.run(t, st, coll)
		})
	}
}

// dropAndClose drops the test's collection and closes the store.
func dropAndClose(t *testing.T, st vectors.Store, coll string) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if err := st.DropCollection(ctx, coll); err != nil {
		t.Errorf("DropCollection %s: %v", coll, err)
	}
	if err := st.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func ctxOf(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
	t.Cleanup(cancel)
	return ctx
}

// Sources includes quotes and a backslash to prove filter values are escaped.
var sources = []string{"web", "podcast", `we"b\ 's`}

// Records returns n records with distinct random unit vectors (seeded, so the
// nearest stored vector to record i's is record i's): sources cycle through
// web, podcast and an awkward value, workers w0..w3, speakers s0..s2 (every
// fourth record has none), languages en/de, five records per document, times
// a minute apart from 2025-01-01.
func Records(n int) []vectors.Record {
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	rng := rand.New(rand.NewPCG(1, 2))
	recs := make([]vectors.Record, n)
	for i := range recs {
		speaker := fmt.Sprintf("s%d", i%3)
		if i%4 == 3 {
			speaker = ""
		}
		recs[i] = vectors.Record{
			ID:         fmt.Sprintf("chunk-%04d", i),
			Vector:     RandomUnit(rng, Dims),
			DocumentID: fmt.Sprintf("doc-%d", i/5),
			Source:     sources[i%len(sources)],
			Worker:     fmt.Sprintf("w%d", i%4),
			Speaker:    speaker,
			Language:   []string{"en", "de"}[i%2],
			Time:       base + int64(i)*60_000,
			Start:      int32(i * 10),
			End:        int32(i*10 + 9),
			Text:       fmt.Sprintf("chunk %d — ünïcödé \"quoted\"", i),
		}
	}
	return recs
}

// RandomUnit returns a random unit vector of dims dimensions.
func RandomUnit(rng *rand.Rand, dims int) []float32 {
	v := make([]float32, dims)
	var n float64
	for i := range v {
		x := rng.NormFloat64()
		v[i] = float32(x)
		n += x * x
	}
	n = math.Sqrt(n)
	for i := range v {
		v[i] = float32(float64(v[i]) / n)
	}
	return v
}

func ensure(t *testing.T, st vectors.Store, coll string) {
	t.Helper()
	if err := st.EnsureCollection(ctxOf(t), coll, Dims); err != nil {
		t.Fatalf("EnsureCollection(%s, %d): %v", coll, Dims, err)
	}
}

func upsert(t *testing.T, st vectors.Store, coll string, recs []vectors.Record) {
	t.Helper()
	if err := st.Upsert(ctxOf(t), coll, recs); err != nil {
		t.Fatalf("Upsert %d records: %v", len(recs), err)
	}
}

func count(t *testing.T, st vectors.Store, coll string) int64 {
	t.Helper()
	n, err := st.Count(ctxOf(t), coll)
	if err != nil {
		t.Fatalf("Count: %v", err)
	}
	return n
}

func wantCount(t *testing.T, st vectors.Store, coll string, want int) {
	t.Helper()
	if got := count(t, st, coll); got != int64(want) {
		t.Fatalf("Count = %d, want %d", got, want)
	}
}

func search(t *testing.T, st vectors.Store, coll string, v []float32, k int, f vectors.Filter) []vectors.Hit {
	t.Helper()
	hits, err := st.Search(ctxOf(t), coll, v, k, f)
	if err != nil {
		t.Fatalf("Search k=%d filter %q: %v", k, f, err)
	}
	if len(hits) > k {
		t.Fatalf("Search k=%d returned %d hits", k, len(hits))
	}
	if !slices.IsSortedFunc(hits, func(a, b vectors.Hit) int { return cmpScore(b.Score, a.Score) }) {
		t.Fatalf("Search: hits not best first: %v", scores(hits))
	}
	return hits
}

func cmpScore(a, b float32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func scores(hits []vectors.Hit) []float32 {
	out := make([]float32, len(hits))
	for i, h := range hits {
		out[i] = h.Score
	}
	return out
}

func ids(hits []vectors.Hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.ID
	}
	return out
}

// wantFirst checks that r is the first hit of a search for its own vector,
// with a score of ~1 and every field as stored.
func wantFirst(t *testing.T, st vectors.Store, coll string, r vectors.Record) {
	t.Helper()
	hits := search(t, st, coll, r.Vector, 3, vectors.Filter{})
	if len(hits) == 0 {
		t.Fatalf("search for %s's vector: no hits", r.ID)
	}
	want := vectors.HitOf(r, hits[0].Score)
	if hits[0] != want {
		t.Fatalf("search for %s's vector: first hit\n%+v, want\n%+v", r.ID, hits[0], want)
	}
	if math.Abs(float64(hits[0].Score)-1) > 1e-3 {
		t.Fatalf("search for %s's vector: score %v, want ~1", r.ID, hits[0].Score)
	}
}

func testEnsureCollection(t *testing.T, st vectors.Store, coll string) {
	ensure(t, st, coll)
	ensure(t, st, coll) // idempotent
	upsert(t, st, coll, Records(3))
	ensure(t, st, coll) // still, with data
	wantCount(t, st, coll, 3)
	err := st.EnsureCollection(ctxOf(t), coll, Dims*2)
	if !errors.Is(err, vectors.ErrDimensionMismatch) {
		t.Fatalf("EnsureCollection with %d dims over a %d-dim collection: %v, want ErrDimensionMismatch", Dims*2, Dims, err)
	}
	for _, d := range []string{fmt.Sprint(Dims), fmt.Sprint(Dims * 2)} {
		if !strings.Contains(err.Error(), d) {
			t.Errorf("dimension mismatch error %q does not name dimension %s", err, d)
		}
	}
	if err := st.EnsureCollection(ctxOf(t), "not-a-name", Dims); !errors.Is(err, vectors.ErrInvalid) {
		t.Errorf("EnsureCollection(not-a-name): %v, want ErrInvalid", err)
	}
	if err := st.EnsureCollection(ctxOf(t), coll+"_x", 0); !errors.Is(err, vectors.ErrInvalid) {
		t.Errorf("EnsureCollection with 0 dims: %v, want ErrInvalid", err)
	}
}

func testMissingCollection(t *testing.T, st vectors.Store, coll string) {
	v := Records(1)[0].Vector
	if _, err := st.Search(ctxOf(t), coll, v, 3, vectors.Filter{}); !errors.Is(err, vectors.ErrNotFound) {
		t.Errorf("Search on a missing collection: %v, want ErrNotFound", err)
	}
	if _, err := st.Count(ctxOf(t), coll); !errors.Is(err, vectors.ErrNotFound) {
		t.Errorf("Count on a missing collection: %v, want ErrNotFound", err)
	}
	if err := st.Upsert(ctxOf(t), coll, Records(1)); !errors.Is(err, vectors.ErrNotFound) {
		t.Errorf("Upsert to a missing collection: %v, want ErrNotFound", err)
	}
	if err := st.DropCollection(ctxOf(t), coll); err != nil {
		t.Errorf("DropCollection of a missing collection: %v, want nil", err)
	}
}

func testEmptyCollection(t *testing.T, st vectors.Store, coll string) {
	ensure(t, st, coll)
	wantCount(t, st, coll, 0)
	if hits := search(t, st, coll, Records(1)[0].Vector, 10, vectors.Filter{}); len(hits) != 0 {
		t.Fatalf("search of an empty collection: %v", ids(hits))
	}
	if err := st.Upsert(ctxOf(t), coll, nil); err != nil {
		t.Fatalf("Upsert of no records: %v", err)
	}
	if err := st.Delete(ctxOf(t), coll, nil); err != nil {
		t.Fatalf("Delete of no IDs: %v", err)
	}
	wantCount(t, st, coll, 0)
}

func testUpsertSearch(t *testing.T, st vectors.Store, coll string) {
	ensure(t, st, coll)
	recs := Records(60)
	upsert(t, st, coll, recs[:30])
	upsert(t, st, coll, recs[30:])
	wantCount(t, st, coll, len(recs))
	for _, r := range recs {
		wantFirst(t, st, coll, r)
	}
	// A query that is not a stored vector: hits are the brute-force nearest.
	q := RandomUnit(rand.New(rand.NewPCG(9, 9)), Dims)
	hits := search(t, st, coll, q, 5, vectors.Filter{})
	if want := bruteForce(recs, q, 5, vectors.Filter{}); !slices.Equal(ids(hits), want) {
		t.Fatalf("search for a new vector: %v, want %v", ids(hits), want)
	}
}

// bruteForce returns the IDs of the k records passing f nearest to q.
func bruteForce(recs []vectors.Record, q []float32, k int, f vectors.Filter) []string {
	type scored struct {
		id string
		s  float64
	}
	var all []scored
	for _, r := range recs {
		if f.Match(r) {
			var dot float64
			for i := range q {
				dot += float64(q[i]) * float64(r.Vector[i])
			}
			all = append(all, scored{r.ID, dot})
		}
	}
	slices.SortFunc(all, func(a, b scored) int {
		switch {
		case a.s > b.s:
			return -1
		case a.s < b.s:
			return 1
		}
		return 0
	})
	out := []string{}
	for i := 0; i < len(all) && i < k; i++ {
		out = append(out, all[i].id)
	}
	return out
}

func testReplay(t *testing.T, st vectors.Store, coll string) {
	ensure(t, st, coll)
	recs := Records(25)
	upsert(t, st, coll, recs)
	upsert(t, st, coll, recs)
	upsert(t, st, coll, recs[5:15])
	wantCount(t, st, coll, len(recs))
	// Duplicates within one batch: the last wins.
	dup := recs[3]
	dup.Text = "the later copy"
	upsert(t, st, coll, []vectors.Record{recs[3], dup})
	wantCount(t, st, coll, len(recs))
	wantFirst(t, st, coll, dup)
}

func testReplace(t *testing.T, st vectors.Store, coll string) {
	ensure(t, st, coll)
	recs := Records(20)
	upsert(t, st, coll, recs)
	changed := recs[7]
	changed.Text = "rewritten text"
	changed.Source = "podcast"
	changed.Speaker = "s9"
	upsert(t, st, coll, []vectors.Record{changed})
	wantCount(t, st, coll, len(recs))
	wantFirst(t, st, coll, changed)
	// A new vector for an existing ID: the old one is no longer found.
	moved := recs[8]
	moved.Vector = RandomUnit(rand.New(rand.NewPCG(7, 7)), Dims)
	upsert(t, st, coll, []vectors.Record{moved})
	wantCount(t, st, coll, len(recs))
	wantFirst(t, st, coll, moved)
	hits := search(t, st, coll, recs[8].Vector, 1, vectors.Filter{})
	if len(hits) == 1 && hits[0].ID == moved.ID && hits[0].Score > 0.999 {
		t.Fatalf("the replaced vector of %s is still found with score %v", moved.ID, hits[0].Score)
	}
}

func testDelete(t *testing.T, st vectors.Store, coll string) {
	ensure(t, st, coll)
	recs := Records(20)
	upsert(t, st, coll, recs)
	if err := st.Delete(ctxOf(t), coll, []string{recs[2].ID, recs[11].ID, "no-such-chunk"}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantCount(t, st, coll, len(recs)-2)
	for _, r := range []vectors.Record{recs[2], recs[11]} {
		hits := search(t, st, coll, r.Vector, len(recs), vectors.Filter{})
		if slices.Contains(ids(hits), r.ID) {
			t.Fatalf("deleted %s is still found: %v", r.ID, ids(hits))
		}
		if len(hits) != len(recs)-2 {
			t.Fatalf("search for all after delete: %d hits, want %d", len(hits), len(recs)-2)
		}
	}
	// Delete is idempotent, and a deleted ID can come back.
	if err := st.Delete(ctxOf(t), coll, []string{recs[2].ID}); err != nil {
		t.Fatalf("Delete again: %v", err)
	}
	upsert(t, st, coll, []vectors.Record{recs[2]})
	wantCount(t, st, coll, len(recs)-1)
	wantFirst(t, st, coll, recs[2])
}

func testDeleteByDocument(t *testing.T, st vectors.Store, coll string) {
	ensure(t, st, coll)
	recs := Records(20) // doc-0 .. doc-3, five chunks each
	upsert(t, st, coll, recs)
	if err := st.DeleteByDocument(ctxOf(t), coll, "doc-1"); err != nil {
		t.Fatalf("DeleteByDocument: %v", err)
	}
	if err := st.DeleteByDocument(ctxOf(t), coll, `no "such" doc\`); err != nil {
		t.Fatalf("DeleteByDocument of an absent document: %v", err)
	}
	wantCount(t, st, coll, len(recs)-5)
	hits := search(t, st, coll, recs[6].Vector, len(recs), vectors.Filter{})
	for _, h := range hits {
		if h.DocumentID == "doc-1" {
			t.Fatalf("a chunk of the deleted document is still found: %+v", h)
		}
	}
	if len(hits) != len(recs)-5 {
		t.Fatalf("search for all after DeleteByDocument: %d hits, want %d", len(hits), len(recs)-5)
	}
}

func testFilters(t *testing.T, st vectors.Store, coll string) {
	ensure(t, st, coll)
	recs := Records(48)
	upsert(t, st, coll, recs)
	base := recs[0].Time
	q := RandomUnit(rand.New(rand.NewPCG(3, 4)), Dims)
	for _, f := range []vectors.Filter{
		{},
		{Source: "web"},
		{Source: "podcast"},
		{Source: sources[2]},
		{Worker: "w2"},
		{Speaker: "s1"},
		{Language: "de"},
		{DocumentID: "doc-4"},
		{From: base + 10*60_000, HasFrom: true},
		{To: base + 10*60_000, HasTo: true},
		{From: base + 10*60_000, HasFrom: true, To: base + 20*60_000, HasTo: true},
		{From: base + 20*60_000, HasFrom: true, To: base + 10*60_000, HasTo: true}, // empty range
		{Source: "web", Worker: "w0", Language: "en", From: base + 5*60_000, HasFrom: true},
		{Source: "nowhere"},
		{Worker: `w0" || worker != "`}, // an injection attempt matches nothing
	} {
		for _, k := range []int{3, len(recs)} {
			want := bruteForce(recs, q, k, f)
			got := ids(search(t, st, coll, q, k, f))
			if k == len(recs) {
				// Every match, in any order (ties need not break alike).
				slices.Sort(got)
				slices.Sort(want)
			}
			if !slices.Equal(got, want) {
				t.Errorf("search k=%d filter %q: %v, want %v", k, f, got, want)
			}
		}
	}
}

func testKLarger(t *testing.T, st vectors.Store, coll string) {
	ensure(t, st, coll)
	recs := Records(7)
	upsert(t, st, coll, recs)
	hits := search(t, st, coll, recs[0].Vector, 100, vectors.Filter{})
	if len(hits) != len(recs) {
		t.Fatalf("k=100 over %d records: %d hits", len(recs), len(hits))
	}
	if hits[0].ID != recs[0].ID {
		t.Fatalf("first hit %s, want %s", hits[0].ID, recs[0].ID)
	}
}

func testInvalid(t *testing.T, st vectors.Store, coll string) {
	ensure(t, st, coll)
	recs := Records(3)
	upsert(t, st, coll, recs)
	short := recs[0].Vector[:Dims-1]
	if _, err := st.Search(ctxOf(t), coll, short, 3, vectors.Filter{}); !errors.Is(err, vectors.ErrDimensionMismatch) {
		t.Errorf("Search with a %d-dim vector: %v, want ErrDimensionMismatch", len(short), err)
	}
	if _, err := st.Search(ctxOf(t), coll, recs[0].Vector, 0, vectors.Filter{}); !errors.Is(err, vectors.ErrInvalid) {
		t.Errorf("Search with k=0: %v, want ErrInvalid", err)
	}
	bad := recs[1]
	bad.Vector = append(slices.Clone(bad.Vector), 1)
	if err := st.Upsert(ctxOf(t), coll, []vectors.Record{recs[2], bad}); !errors.Is(err, vectors.ErrDimensionMismatch) {
		t.Errorf("Upsert with a %d-dim vector: %v, want ErrDimensionMismatch", len(bad.Vector), err)
	}
	noID := recs[1]
	noID.ID = ""
	if err := st.Upsert(ctxOf(t), coll, []vectors.Record{noID}); !errors.Is(err, vectors.ErrInvalid) {
		t.Errorf("Upsert with an empty ID: %v, want ErrInvalid", err)
	}
	wantCount(t, st, coll, len(recs)) // a refused batch writes nothing
	if err := st.Upsert(ctxOf(t), "not-a-name", recs); !errors.Is(err, vectors.ErrInvalid) {
		t.Errorf("Upsert to an invalid collection name: %v, want ErrInvalid", err)
	}
}

func testConcurrent(t *testing.T, st vectors.Store, coll string) {
	ensure(t, st, coll)
	recs := Records(80)
	upsert(t, st, coll, recs[:20])
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 4 {
		wg.Go(func() {
			for i := 20 + w; i < len(recs); i += 4 {
				if err := st.Upsert(t.Context(), coll, recs[i:i+1]); err != nil {
					errs <- fmt.Errorf("upsert %s: %w", recs[i].ID, err)
					return
				}
				if _, err := st.Search(t.Context(), coll, recs[i-20].Vector, 5, vectors.Filter{Worker: "w1"}); err != nil {
					errs <- fmt.Errorf("search: %w", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	wantCount(t, st, coll, len(recs))
	for _, r := range recs {
		wantFirst(t, st, coll, r)
	}
}

func (s *suite) testReopen(t *testing.T, st vectors.Store, coll string) {
	if s.reopen == nil {
		dropAndClose(t, st, coll)
		t.Skip("the store does not persist by itself (no WithReopen)")
	}
	cur := st
	t.Cleanup(func() { dropAndClose(t, cur, coll) })
	ensure(t, st, coll)
	recs := Records(30)
	upsert(t, st, coll, recs)
	if err := st.Delete(ctxOf(t), coll, []string{recs[4].ID}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	changed := recs[5]
	changed.Text = "changed before reopening"
	upsert(t, st, coll, []vectors.Record{changed})
	cur = s.reopen(t, st)
	st2 := cur
	wantCount(t, st2, coll, len(recs)-1)
	ensure(t, st2, coll)
	if err := st2.EnsureCollection(ctxOf(t), coll, Dims+1); !errors.Is(err, vectors.ErrDimensionMismatch) {
		t.Errorf("after reopen, EnsureCollection with another dimension: %v, want ErrDimensionMismatch", err)
	}
	recs[5] = changed
	for i, r := range recs {
		if i == 4 {
			continue
		}
		wantFirst(t, st2, coll, r)
	}
	if hits := search(t, st2, coll, recs[4].Vector, len(recs), vectors.Filter{}); slices.Contains(ids(hits), recs[4].ID) {
		t.Fatalf("after reopen, deleted %s is found again", recs[4].ID)
	}
	// And it still takes writes.
	upsert(t, st2, coll, Records(31)[30:])
	wantCount(t, st2, coll, len(recs))
}
