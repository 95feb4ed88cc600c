package hnsw

import (
	"gonum.org/v1/gonum/blas/gonum"
	"math"
	"math/rand/v2"
	"sync"
)

// graph is one collection's HNSW graph (Malkov & Yashunin, 2018) over
// L2-normalised vectors, with distance 1 - dot product. Nodes are numbered
// densely from 0; a deleted node stays in the graph as a waypoint (its
// tombstone keeps it out of results) until the collection is compacted.
//
// graph is not safe for concurrent use by itself: the collection holds a
// read lock to search it and a write lock to change it. The visited-set
// pool is the only state searches share, and sync.Pool guards it.
type graph struct {
	dims  int
	m, m0 int // links per node above layer 0, and on layer 0 (2m)
	efC   int
	ml    float64
	vecs  []float32   // node i's vector is vecs[i*dims : (i+1)*dims]
	links [][][]int32 // links[i][l]: node i's neighbours on layer l
	entry int32       // -1 when empty
	top   int         // the entry's layer
	rng   *rand.Rand
	pool  sync.Pool // *visited
}

func newGraph(dims, m, efC int, seed uint64) *graph {
	return &graph{
		dims: dims, m: m, m0: 2 * m, efC: efC,
		ml:    1 / math.Log(float64(m)),
		entry: -1,
		rng:   rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)),
	}
}

func (g *graph) len() int { return len(g.links) }

func (g *graph) vec(i int32) []float32 {
	o := int(i) * g.dims
	return g.vecs[o : o+g.dims : o+g.dims]
}

// dot is the inner product: gonum's SSE kernel (assembly on amd64, pure Go
// elsewhere), about twice as fast as the best scalar Go loop on 384
// dimensions, and 70% of the time of both inserts and searches.
func dot(a, b []float32) float32 {
	return blas32.Sdot(len(a), a, 1, b, 1)
}

// blas32 is gonum's BLAS: only its level-1 float32 dot product is used.
var blas32 gonum.Implementation

func (g *graph) dist(q []float32, i int32) float32 { return 1 - dot(q, g.vec(i)) }

// visited is a set of nodes, cleared in O(1) by bumping a generation.
type visited struct {
	marks []uint32
	gen   uint32
}

func (g *graph) getVisited() *visited {
	v, _ := g.pool.Get().(*visited)
	if v == nil {
		v = &visited{}
	}
	if len(v.marks) < g.len() {
		v.marks = make([]uint32, g.len()+g.len()/2+16)
		v.gen = 0
	}
	v.gen++
	if v.gen == 0 { // wrapped: clear
		clear(v.marks)
		v.gen = 1
	}
	return v
}

func (v *visited) visit(i int32) bool {
	if v.marks[i] == v.gen {
		return false
	}
	v.marks[i] = v.gen
	return true
}

// item is a node and its distance to the query.
type item struct {
	d  float32
	id int32
}

// minHeap and maxHeap are binary heaps of items by distance.
type minHeap []item

func (h *minHeap) push(x item) {
	*h = append(*h, x)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p].d <= s[i].d {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *minHeap) pop() item {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && s[l].d < s[m].d {
			m = l
		}
		if r < n && s[r].d < s[m].d {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

type maxHeap []item

func (h *maxHeap) push(x item) {
	*h = append(*h, x)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p].d >= s[i].d {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *maxHeap) pop() item {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && s[l].d > s[m].d {
			m = l
		}
		if r < n && s[r].d > s[m].d {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// greedy descends from ep on layer l to the nearest node it can reach.
func (g *graph) greedy(q []float32, ep item, l int) item {
	for changed := true; changed; {
		changed = false
		for _, n := range g.links[ep.id][l] {
			if d := g.dist(q, n); d < ep.d {
				ep, changed = item{d, n}, true
			}
		}
	}
	return ep
}

// searchLayer is the HNSW beam search on layer l from ep with beam width
// ef. Only nodes for which accept returns true (nil: all) enter the result,
// but every node is a waypoint, so tombstones and filtered-out nodes keep
// the graph connected. It returns at most ef accepted nodes, in no order.
func (g *graph) searchLayer(q []float32, ep item, ef, l int, accept func(int32) bool) maxHeap {
	vis := g.getVisited()
	defer g.pool.Put(vis)
	vis.visit(ep.id)
	cand := minHeap{ep}
	res := make(maxHeap, 0, ef+1)
	if accept == nil || accept(ep.id) {
		res.push(ep)
	}
	for len(cand) > 0 {
		c := cand.pop()
		if len(res) >= ef && c.d > res[0].d {
			break
		}
		for _, n := range g.links[c.id][l] {
			if !vis.visit(n) {
				continue
			}
			d := g.dist(q, n)
			if len(res) < ef || d < res[0].d {
				cand.push(item{d, n})
				if accept == nil || accept(n) {
					res.push(item{d, n})
					if len(res) > ef {
						res.pop()
					}
				}
			}
		}
	}
	return res
}

// search returns up to ef accepted nodes near q, best first.
func (g *graph) search(q []float32, ef int, accept func(int32) bool) []item {
	if g.entry < 0 {
		return nil
	}
	ep := item{g.dist(q, g.entry), g.entry}
	for l := g.top; l > 0; l-- {
		ep = g.greedy(q, ep, l)
	}
	res := g.searchLayer(q, ep, ef, 0, accept)
	out := make([]item, len(res))
	for i := len(res) - 1; i >= 0; i-- {
		out[i] = res.pop()
	}
	return out
}

// add inserts a node with vector v (already normalised) and returns its number.
func (g *graph) add(v []float32) int32 {
	id := int32(g.len())
	g.vecs = append(g.vecs, v...)
	level := int(math.Floor(-math.Log(1-g.rng.Float64()) * g.ml))
	g.links = append(g.links, make([][]int32, level+1))
	if g.entry < 0 {
		g.entry, g.top = id, level
		return id
	}
	q := g.vec(id)
	ep := item{g.dist(q, g.entry), g.entry}
	for l := g.top; l > level; l-- {
		ep = g.greedy(q, ep, l)
	}
	for l := min(level, g.top); l >= 0; l-- {
		res := g.searchLayer(q, ep, g.efC, l, nil)
		cands := make([]item, len(res))
		for i := len(res) - 1; i >= 0; i-- {
			cands[i] = res.pop()
		}
		ep = cands[0]
		maxM := g.m
		if l == 0 {
			maxM = g.m0
		}
		// Up to 2M links on layer 0, as FAISS does (hnswlib gives M): on
		// 20k random 384-dim vectors (M 16, ef 128) recall@10 rose from
		// 0.44 to 0.48, at about twice the insert cost.
		nb := g.selectNeighbors(cands, maxM)
		g.links[id][l] = nb
		for _, n := range nb {
			g.connect(n, id, l, maxM)
		}
	}
	if level > g.top {
		g.entry, g.top = id, level
	}
	return id
}

// connect adds a link from n to id on layer l, pruning n's links with the
// heuristic when they exceed maxM.
func (g *graph) connect(n, id int32, l, maxM int) {
	ls := append(g.links[n][l], id)
	if len(ls) <= maxM {
		g.links[n][l] = ls
		return
	}
	v := g.vec(n)
	cands := make([]item, len(ls))
	for i, x := range ls {
		cands[i] = item{g.dist(v, x), x}
	}
	sortItems(cands)
	g.links[n][l] = g.selectNeighbors(cands, maxM)
}

// selectNeighbors is the paper's heuristic (algorithm 4): from candidates
// sorted nearest first, keep one only when it is nearer to the base than to
// every neighbour kept so far, which spreads links across directions; then
// fill up with the nearest pruned ones (keepPrunedConnections).
func (g *graph) selectNeighbors(cands []item, m int) []int32 {
	if len(cands) <= m {
		out := make([]int32, len(cands))
		for i, c := range cands {
			out[i] = c.id
		}
		return out
	}
	out := make([]int32, 0, m)
	var pruned []int32
	for _, c := range cands {
		if len(out) >= m {
			break
		}
		good := true
		cv := g.vec(c.id)
		for _, o := range out {
			if g.dist(cv, o) < c.d {
				good = false
				break
			}
		}
		if good {
			out = append(out, c.id)
		} else {
			pruned = append(pruned, c.id)
		}
	}
	for _, p := range pruned {
		if len(out) >= m {
			break
		}
		out = append(out, p)
	}
	return out
}

// sortItems sorts by distance, nearest first (insertion sort: lists are short).
func sortItems(s []item) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].d < s[j-1].d; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
