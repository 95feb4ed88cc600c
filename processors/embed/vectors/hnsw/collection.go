package hnsw

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/fairstream/fairstream/processors/embed/vectors"
)

// collection is one collection: its graph, the records of its nodes, and
// the map from record ID to live node. mu guards everything; version counts
// changes so the flusher knows what is unsaved.
type collection struct {
	name string
	dims int // fixed at creation; readable without mu

	mu      sync.RWMutex
	g       *graph
	recs    []vectors.Record // by node; Vector is nil (the graph holds it); zero when dead
	dead    []bool           // by node: tombstones
	byID    map[string]int32 // live nodes only
	ndead   int
	version uint64 // bumped by every change
	saved   uint64 // the version on disk
	dropped bool   // removed from the store: never save again

	saveMu sync.Mutex // one save at a time
}

func newCollection(name string, dims int, cfg Config) *collection {
	return &collection{
		name: name,
		dims: dims,
		g:    newGraph(dims, cfg.M, cfg.EfConstruction, seedOf(name)),
		byID: map[string]int32{},
	}
}

// seedOf makes level assignment deterministic per collection name (FNV-1a).
func seedOf(name string) uint64 {
	h := uint64(14695981039346656037)
	for i := range len(name) {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	return h
}

// normalize returns v scaled to unit length, as a new slice.
func normalize(v []float32) []float32 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	n = math.Sqrt(n)
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) / n)
	}
	return out
}

// upsert applies prepared records (checked, deduplicated). Caller holds mu.
func (c *collection) upsert(recs []vectors.Record) {
	for _, r := range recs {
		v := normalize(r.Vector)
		r.Vector = nil
		if old, ok := c.byID[r.ID]; ok {
			if slices.Equal(c.g.vec(old), v) {
				c.recs[old] = r // same vector (a replay): update in place
				continue
			}
			c.kill(old)
		}
		id := c.g.add(v)
		c.recs = append(c.recs, r)
		c.dead = append(c.dead, false)
		c.byID[r.ID] = id
	}
	c.version++
}

// kill tombstones node i. Caller holds mu.
func (c *collection) kill(i int32) {
	delete(c.byID, c.recs[i].ID)
	c.recs[i] = vectors.Record{}
	c.dead[i] = true
	c.ndead++
}

func (c *collection) deleteIDs(ids []string) {
	for _, id := range ids {
		if i, ok := c.byID[id]; ok {
			c.kill(i)
		}
	}
	c.version++
}

func (c *collection) deleteDocument(doc string) {
	for _, i := range c.byID {
		if c.recs[i].DocumentID == doc {
			c.kill(i)
		}
	}
	c.version++
}

// maybeCompact rebuilds the graph without its tombstones once they are more
// than a quarter of the nodes (and at least 64): dead nodes cost memory and
// search time. The rebuild re-inserts the live nodes in their order, so it
// takes as long as building the collection anew. Caller holds mu.
func (c *collection) maybeCompact(cfg Config) {
	if c.ndead < 64 || c.ndead*4 < c.g.len() {
		return
	}
	old := c.g
	g := newGraph(old.dims, cfg.M, cfg.EfConstruction, seedOf(c.name))
	recs := make([]vectors.Record, 0, len(c.byID))
	byID := make(map[string]int32, len(c.byID))
	for i := range int32(old.len()) {
		if c.dead[i] {
			continue
		}
		byID[c.recs[i].ID] = g.add(old.vec(i))
		recs = append(recs, c.recs[i])
	}
	c.g, c.recs, c.byID, c.ndead = g, recs, byID, 0
	c.dead = make([]bool, len(recs))
	c.version++
}

// exactBelow is the number of matching records under which a filtered
// search scans them exactly instead of walking the graph.
const exactBelow = 2048

// search returns the k live records nearest q that pass f. Caller holds mu
// for reading.
func (c *collection) search(q []float32, k, ef int, f vectors.Filter) []vectors.Hit {
	live := len(c.byID)
	if live == 0 || f.Empty() {
		return []vectors.Hit{}
	}
	q = normalize(q)
	var accept func(int32) bool
	var matches []int32
	want := min(k, live)
	if f.IsZero() {
		if c.ndead > 0 {
			accept = func(i int32) bool { return !c.dead[i] }
		}
	} else {
		// Scan the records (no vector maths) to size the filter. A selective
		// filter is answered exactly over its matches; otherwise the graph
		// search accepts only matching nodes.
		ok := make([]bool, c.g.len())
		for _, i := range c.byID {
			if f.Match(c.recs[i]) {
				ok[i] = true
				matches = append(matches, i)
			}
		}
		if len(matches) <= exactBelow || len(matches) <= k {
			return c.exact(q, k, matches)
		}
		accept = func(i int32) bool { return ok[i] }
		want = k
	}
	ef = max(ef, k)
	for {
		items := c.g.search(q, ef, accept)
		if len(items) >= want || ef >= c.g.len() {
			return c.hits(items[:min(k, len(items))])
		}
		// Too few nodes passed: widen the beam, up to the whole graph.
		ef *= 4
		if ef >= c.g.len() {
			if matches == nil {
				for _, i := range c.byID {
					matches = append(matches, i)
				}
			}
			return c.exact(q, k, matches)
		}
	}
}

// exact scores every node in nodes and returns the k best.
func (c *collection) exact(q []float32, k int, nodes []int32) []vectors.Hit {
	h := make(maxHeap, 0, k+1)
	for _, i := range nodes {
		d := c.g.dist(q, i)
		if len(h) < k || d < h[0].d || (d == h[0].d && i < h[0].id) {
			h.push(item{d, i})
			if len(h) > k {
				h.pop()
			}
		}
	}
	out := make([]item, len(h))
	for i := len(h) - 1; i >= 0; i-- {
		out[i] = h.pop()
	}
	return c.hits(out)
}

func (c *collection) hits(items []item) []vectors.Hit {
	out := make([]vectors.Hit, len(items))
	for i, it := range items {
		out[i] = vectors.HitOf(c.recs[it.id], 1-it.d)
	}
	return out
}

func (c *collection) String() string {
	return fmt.Sprintf("collection %s (%d dims, %d records, %d tombstones)", c.name, c.dims, len(c.byID), c.ndead)
}
