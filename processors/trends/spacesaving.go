package trends

// summary is a Space-Saving summary (Metwally, Agrawal and El Abbadi, 2005)
// of at most cap counters: a term already counted is incremented; a new term
// takes a free counter, or else replaces the counter with the least count m
// and starts at m+1 with error m. Each count overestimates its term's true
// count by at most its error, which is at most total/cap; every term whose
// true count exceeds min() is counted. Memory is O(cap) whatever the number
// of distinct terms.
//
// The counters form a min-heap by count, so eviction is O(1) to find and
// O(log cap) to restore; eviction order depends only on the order of adds,
// which keeps the summary deterministic.
type summary struct {
	cap     int
	samples int // sample IDs kept per counter
	index   map[string]*entry
	heap    []*entry
	spare   []*entry // entries of a reset summary, reused
	total   int64    // adds
}

type entry struct {
	term  string
	count int64
	err   int64
	pos   int
	// ids holds up to samples document IDs, the greatest ones seen, in
	// descending order: a choice that does not depend on arrival order.
	ids []string
}

func newSummary(capacity, samples int) *summary {
	return &summary{cap: capacity, samples: samples, index: make(map[string]*entry, min(capacity, 1024))}
}

// full reports whether every counter is taken; only then can absent terms
// have been evicted.
func (s *summary) full() bool { return len(s.heap) >= s.cap }

// min is the least count when full, else 0: an upper bound on the count of
// any term the summary does not hold.
func (s *summary) min() int64 {
	if !s.full() || len(s.heap) == 0 {
		return 0
	}
	return s.heap[0].count
}

// lookup returns the counter of term, or nil.
func (s *summary) lookup(term string) *entry { return s.index[term] }

// add counts one occurrence of term (given as bytes so that a counted term
// costs no allocation), with the document ID id as a sample candidate.
func (s *summary) add(term []byte, id string) {
	s.total++
	if e := s.index[string(term)]; e != nil {
		e.count++
		s.sample(e, id)
		s.down(e.pos)
		return
	}
	if len(s.heap) < s.cap {
		var e *entry
		if n := len(s.spare); n > 0 {
			e, s.spare = s.spare[n-1], s.spare[:n-1]
		} else {
			e = &entry{}
		}
		*e = entry{term: string(term), count: 1, pos: len(s.heap), ids: e.ids[:0]}
		s.sample(e, id)
		s.heap = append(s.heap, e)
		s.index[e.term] = e
		s.up(e.pos)
		return
	}
	e := s.heap[0]
	delete(s.index, e.term)
	e.term = string(term)
	e.err = e.count
	e.count++
	e.ids = e.ids[:0]
	s.sample(e, id)
	s.index[e.term] = e
	s.down(0)
}

func (s *summary) sample(e *entry, id string) {
	if s.samples == 0 || id == "" {
		return
	}
	e.ids = insertSample(e.ids, id, s.samples)
}

// insertSample keeps ids the n greatest distinct IDs, descending.
func insertSample(ids []string, id string, n int) []string {
	i := 0
	for i < len(ids) && ids[i] > id {
		i++
	}
	if i < len(ids) && ids[i] == id {
		return ids
	}
	if i >= n {
		return ids
	}
	if len(ids) < n {
		ids = append(ids, "")
	}
	copy(ids[i+1:], ids[i:len(ids)-1])
	ids[i] = id
	return ids
}

// reset empties the summary, keeping its entries for reuse.
func (s *summary) reset() {
	clear(s.index)
	for _, e := range s.heap {
		e.term = ""
		s.spare = append(s.spare, e)
	}
	clear(s.heap)
	s.heap = s.heap[:0]
	s.total = 0
}

func (s *summary) less(i, j int) bool { return s.heap[i].count < s.heap[j].count }

func (s *summary) swap(i, j int) {
	h := s.heap
	h[i], h[j] = h[j], h[i]
	h[i].pos = i
	h[j].pos = j
}

func (s *summary) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !s.less(i, p) {
			return
		}
		s.swap(i, p)
		i = p
	}
}

func (s *summary) down(i int) {
	n := len(s.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		c := l
		if r := l + 1; r < n && s.less(r, l) {
			c = r
		}
		if !s.less(c, i) {
			return
		}
		s.swap(i, c)
		i = c
	}
}
