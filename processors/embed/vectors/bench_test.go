package vectors_test

// BenchmarkSearch compares the embedded HNSW index with Milvus (Lite) on the
// same vectors: recall@10 against brute force, queries per second (one
// worker, and GOMAXPROCS workers through RunParallel) and the insert rate.
//
//	eval "$(deploy/local/services env)"        # FAIRSTREAM_MILVUS_ADDR, for the Milvus half
//	FAIRSTREAM_BENCH_VECTORS=corpus.f32 \      # optional: real vectors, raw little-endian float32
//	  go test -run '^$' -bench BenchmarkSearch -benchtime 2000x -timeout 60m ./processors/embed/vectors/
//
// FAIRSTREAM_BENCH_N sets the number of inserted vectors (default 100000);
// FAIRSTREAM_BENCH_M, _EFC and _EF the HNSW parameters of both stores (by
// default each store's defaults, which agree).
// Each store is built once per dataset and kept for the sub-benchmarks that
// follow; the build is timed separately and reported as inserts/s.

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/fairstream/fairstream/internal/testenv"
	"github.com/fairstream/fairstream/processors/embed/vectors"
	"github.com/fairstream/fairstream/processors/embed/vectors/hnsw"
	"github.com/fairstream/fairstream/processors/embed/vectors/milvus"
)

const (
	benchDims    = 384
	benchK       = 10
	benchQueries = 300
	benchBatch   = 1000
)

// dataset is the inserted vectors, the queries and their true top-k.
type dataset struct {
	name    string
	vecs    [][]float32
	queries [][]float32
	truth   [][]int // indexes into vecs
}

// built is a store loaded with a dataset.
type built struct {
	store     vectors.Store
	coll      string
	insertsPS float64
	recall    float64
}

// cache keeps datasets and stores across the benchmark's invocations (the
// testing package calls a benchmark several times with growing b.N).
var cache = struct {
	sync.Mutex
	data   map[string]*dataset
	stores map[string]*built
}{data: map[string]*dataset{}, stores: map[string]*built{}}

func benchN(b *testing.B) int {
	if s := os.Getenv("FAIRSTREAM_BENCH_N"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < benchK {
			b.Fatalf("FAIRSTREAM_BENCH_N=%q: want a number of vectors", s)
		}
		return n
	}
	return 100_000
}

func unit(v []float32) []float32 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	n = math.Sqrt(n)
	for i := range v {
		v[i] = float32(float64(v[i]) / n)
	}
	return v
}

func randomData(b *testing.B) *dataset {
	n := benchN(b)
	rng := rand.New(rand.NewPCG(42, 384))
	gen := func() []float32 {
		v := make([]float32, benchDims)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return unit(v)
	}
	d := &dataset{name: "random"}
	for range n {
		d.vecs = append(d.vecs, gen())
	}
	for range benchQueries {
		d.queries = append(d.queries, gen())
	}
	return d
}

// realData reads FAIRSTREAM_BENCH_VECTORS: the last benchQueries vectors are
// the queries (held out), up to N before them are inserted.
func realData(b *testing.B) *dataset {
	path := os.Getenv("FAIRSTREAM_BENCH_VECTORS")
	if path == "" {
		b.Skip("FAIRSTREAM_BENCH_VECTORS is not set: no real (embedded corpus) vectors; set it to a file of raw little-endian float32, 384 per vector")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	if len(raw)%(4*benchDims) != 0 {
		b.Fatalf("%s: %d bytes is not a whole number of %d-dim float32 vectors", path, len(raw), benchDims)
	}
	all := make([][]float32, len(raw)/(4*benchDims))
	for i := range all {
		v := make([]float32, benchDims)
		for j := range v {
			v[j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*(i*benchDims+j):]))
		}
		all[i] = unit(v)
	}
	if len(all) < 2*benchQueries {
		b.Fatalf("%s: %d vectors; want at least %d", path, len(all), 2*benchQueries)
	}
	d := &dataset{name: "real", queries: all[len(all)-benchQueries:]}
	d.vecs = all[:min(len(all)-benchQueries, benchN(b))]
	return d
}

// groundTruth computes the exact top-k of every query, on every core.
func (d *dataset) groundTruth() {
	d.truth = make([][]int, len(d.queries))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for qi := range next {
				q := d.queries[qi]
				type sc struct {
					i int
					s float32
				}
				top := make([]sc, 0, benchK+1)
				for i, v := range d.vecs {
					var s float32
					for j := range q {
						s += q[j] * v[j]
					}
					if len(top) < benchK || s > top[len(top)-1].s {
						top = append(top, sc{i, s})
						slices.SortFunc(top, func(a, b sc) int {
							switch {
							case a.s > b.s:
								return -1
							case a.s < b.s:
								return 1
							}
							return 0
						})
						top = top[:min(len(top), benchK)]
					}
				}
				for _, t := range top {
					d.truth[qi] = append(d.truth[qi], t.i)
				}
			}
		})
	}
	for qi := range d.queries {
		next <- qi
	}
	close(next)
	wg.Wait()
}

func getData(b *testing.B, name string) *dataset {
	cache.Lock()
	defer cache.Unlock()
	if d, ok := cache.data[name]; ok {
		return d
	}
	var d *dataset
	if name == "random" {
		d = randomData(b)
	} else {
		d = realData(b)
	}
	start := time.Now()
	d.groundTruth()
	b.Logf("%s: %d vectors, %d queries; brute-force top-%d in %v", name, len(d.vecs), len(d.queries), benchK, time.Since(start).Round(time.Millisecond))
	cache.data[name] = d
	return d
}

func record(i int, v []float32) vectors.Record {
	return vectors.Record{ID: "v" + strconv.Itoa(i), Vector: v, Source: []string{"web", "podcast"}[i%2], Text: "chunk " + strconv.Itoa(i)}
}

// build loads d into a new store from open, timing the inserts.
func build(b *testing.B, d *dataset, kind string, open func(b *testing.B) vectors.Store) *built {
	key := d.name + "/" + kind
	cache.Lock()
	defer cache.Unlock()
	if s, ok := cache.stores[key]; ok {
		return s
	}
	ctx := context.Background()
	st := open(b)
	coll := fmt.Sprintf("bench_%s_%d", d.name, time.Now().UnixNano())
	if err := st.EnsureCollection(ctx, coll, benchDims); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for i := 0; i < len(d.vecs); i += benchBatch {
		recs := make([]vectors.Record, 0, benchBatch)
		for j := i; j < min(i+benchBatch, len(d.vecs)); j++ {
			recs = append(recs, record(j, d.vecs[j]))
		}
		if err := st.Upsert(ctx, coll, recs); err != nil {
			b.Fatalf("Upsert at %d: %v", i, err)
		}
	}
	if m, ok := st.(*milvus.Store); ok {
		// Milvus Lite indexes only sealed segments: seal, and reload so the
		// index covers them. Part of the cost of inserting.
		if err := m.Flush(ctx, coll); err != nil {
			b.Fatal(err)
		}
		if err := m.Reload(ctx, coll); err != nil {
			b.Fatal(err)
		}
	}
	took := time.Since(start)
	n, err := st.Count(ctx, coll)
	if err != nil || n != int64(len(d.vecs)) {
		b.Fatalf("after inserting %d vectors: Count = %d, %v", len(d.vecs), n, err)
	}
	s := &built{store: st, coll: coll, insertsPS: float64(len(d.vecs)) / took.Seconds()}
	// Recall@10 over every query.
	var found int
	for qi, q := range d.queries {
		hits, err := st.Search(ctx, coll, q, benchK, vectors.Filter{})
		if err != nil {
			b.Fatal(err)
		}
		for _, h := range hits {
			i, _ := strconv.Atoi(h.ID[1:])
			if slices.Contains(d.truth[qi], i) {
				found++
			}
		}
	}
	s.recall = float64(found) / float64(len(d.queries)*benchK)
	b.Logf("%s: %d inserts in %v (%.0f/s); recall@%d %.4f", key, len(d.vecs), took.Round(time.Millisecond), s.insertsPS, benchK, s.recall)
	cache.stores[key] = s
	return s
}

func BenchmarkSearch(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) vectors.Store
	}{
		{"hnsw", func(b *testing.B) vectors.Store {
			cfg := hnsw.DefaultConfig()
			cfg.M, cfg.EfConstruction, cfg.EfSearch = benchParams(b, cfg.M, cfg.EfConstruction, cfg.EfSearch)
			st, err := hnsw.Open(context.Background(), cfg, nil) // in memory: the graph, not the disk, is measured
			if err != nil {
				b.Fatal(err)
			}
			return st
		}},
		{"milvus", func(b *testing.B) vectors.Store {
			cfg := milvus.DefaultConfig()
			cfg.Address = testenv.Require(b, "milvus", "FAIRSTREAM_MILVUS_ADDR")
			cfg.Timeout = 10 * time.Minute
			cfg.HNSW.M, cfg.HNSW.EfConstruction, cfg.HNSW.Ef = benchParams(b, cfg.HNSW.M, cfg.HNSW.EfConstruction, cfg.HNSW.Ef)
			st, err := milvus.Open(context.Background(), cfg, nil)
			if err != nil {
				b.Fatal(err)
			}
			return st
		}},
	}
	for _, data := range []string{"random", "real"} {
		b.Run(data, func(b *testing.B) {
			d := getData(b, data)
			for _, s := range stores {
				b.Run(s.name, func(b *testing.B) {
					st := build(b, d, s.name, s.open)
					b.Run("serial", func(b *testing.B) {
						ctx := context.Background()
						i := 0
						for b.Loop() {
							if _, err := st.store.Search(ctx, st.coll, d.queries[i%len(d.queries)], benchK, vectors.Filter{}); err != nil {
								b.Fatal(err)
							}
							i++
						}
						report(b, st)
					})
					b.Run(fmt.Sprintf("parallel%d", runtime.GOMAXPROCS(0)), func(b *testing.B) {
						ctx := context.Background()
						var mu sync.Mutex
						next := 0
						b.RunParallel(func(pb *testing.PB) {
							mu.Lock()
							i := next
							next += 7919
							mu.Unlock()
							for pb.Next() {
								if _, err := st.store.Search(ctx, st.coll, d.queries[i%len(d.queries)], benchK, vectors.Filter{}); err != nil {
									b.Error(err)
									return
								}
								i++
							}
						})
						report(b, st)
					})
				})
			}
		})
	}
	// Drop what the benchmark created (Milvus keeps it otherwise).
	cache.Lock()
	defer cache.Unlock()
	for key, s := range cache.stores {
		if err := s.store.DropCollection(context.Background(), s.coll); err != nil {
			b.Errorf("dropping %s: %v", key, err)
		}
		s.store.Close()
		delete(cache.stores, key)
	}
}

// benchParams returns the HNSW parameters both stores use: the defaults,
// or FAIRSTREAM_BENCH_M, FAIRSTREAM_BENCH_EFC and FAIRSTREAM_BENCH_EF.
func benchParams(b *testing.B, m, efc, ef int) (int, int, int) {
	get := func(name string, def int) int {
		s := os.Getenv(name)
		if s == "" {
			return def
		}
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("%s=%q: want a positive number", name, s)
		}
		return v
	}
	return get("FAIRSTREAM_BENCH_M", m), get("FAIRSTREAM_BENCH_EFC", efc), get("FAIRSTREAM_BENCH_EF", ef)
}

func report(b *testing.B, st *built) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
	b.ReportMetric(st.recall, "recall@10")
	b.ReportMetric(st.insertsPS, "inserts/s")
}
