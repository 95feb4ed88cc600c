package trends

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSummaryExactUnderCapacity(t *testing.T) {
	s := newSummary(10, 2)
	for i, term := range []string{"a", "b", "a", "c", "a", "b"} {
		s.add([]byte(term), fmt.Sprintf("d%d", i))
	}
	want := map[string]int64{"a": 3, "b": 2, "c": 1}
	for term, n := range want {
		e := s.lookup(term)
		if e == nil || e.count != n || e.err != 0 {
			t.Fatalf("%s: got %+v, want count %d error 0", term, e, n)
		}
	}
	if s.full() || s.min() != 0 {
		t.Fatalf("full=%v min=%d, want not full and min 0", s.full(), s.min())
	}
	if got := s.lookup("a").ids; !slices.Equal(got, []string{"d4", "d2"}) {
		t.Fatalf("samples of a: %v, want the 2 greatest IDs [d4 d2]", got)
	}
}

// TestSummaryErrorBounds checks the Space-Saving guarantees on a Zipf
// stream over many more distinct terms than counters.
func TestSummaryErrorBounds(t *testing.T) {
	const capacity, n = 200, 200_000
	z := rand.NewZipf(rand.New(rand.NewPCG(3, 4)), 1.1, 1, 50_000)
	s := newSummary(capacity, 0)
	truth := map[string]int64{}
	for range n {
		term := fmt.Sprintf("t%d", z.Uint64())
		truth[term]++
		s.add([]byte(term), "")
	}
	if len(truth) <= capacity {
		t.Fatalf("only %d distinct terms: the test needs more than the capacity", len(truth))
	}
	bound := int64(n / capacity)
	var sum int64
	for _, e := range s.heap {
		sum += e.count
		tr := truth[e.term]
		if e.count < tr {
			t.Errorf("%s: count %d under the true %d", e.term, e.count, tr)
		}
		if e.count-e.err > tr {
			t.Errorf("%s: count-error %d over the true %d", e.term, e.count-e.err, tr)
		}
		if e.err > bound {
			t.Errorf("%s: error %d over total/capacity %d", e.term, e.err, bound)
		}
	}
	if sum != n {
		t.Errorf("counts sum to %d, want %d (Space-Saving keeps the total)", sum, n)
	}
	for term, tr := range truth {
		if tr > s.min() && s.lookup(term) == nil {
			t.Errorf("%s: true count %d > min %d but not held", term, tr, s.min())
		}
	}
}

func TestSummaryMemoryBounded(t *testing.T) {
	const capacity = 1000
	s := newSummary(capacity, 3)
	for i := range 100_000 {
		s.add(fmt.Appendf(nil, "term%d", i), fmt.Sprintf("doc%d", i))
	}
	if len(s.index) != capacity || len(s.heap) != capacity {
		t.Fatalf("index %d, heap %d entries after 100k distinct terms; want both %d", len(s.index), len(s.heap), capacity)
	}
	for _, e := range s.heap {
		if len(e.ids) > 3 {
			t.Fatalf("%s holds %d samples, want <= 3", e.term, len(e.ids))
		}
	}
	s.reset()
	if len(s.index) != 0 || len(s.heap) != 0 || len(s.spare) != capacity {
		t.Fatalf("after reset: index %d heap %d spare %d", len(s.index), len(s.heap), len(s.spare))
	}
	s.add([]byte("x"), "")
	if e := s.lookup("x"); e == nil || e.count != 1 || e.err != 0 {
		t.Fatalf("reused counter: %+v", e)
	}
}

func TestInsertSample(t *testing.T) {
	var ids []string
	for _, id := range []string{"b", "d", "a", "d", "c", "e"} {
		ids = insertSample(ids, id, 3)
	}
	if !slices.Equal(ids, []string{"e", "d", "c"}) {
		t.Fatalf("got %v, want [e d c]", ids)
	}
}
