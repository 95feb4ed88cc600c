package hnsw

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fairstream/fairstream/processors/embed/vectors"
	"github.com/fairstream/fairstream/processors/embed/vectors/vectorstest"
)

func open(t *testing.T, cfg Config) *Store {
	t.Helper()
	s, err := Open(t.Context(), cfg, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	for _, flush := range []struct {
		name string
		cfg  func(dir string) Config
	}{
		{"WriteThrough", func(dir string) Config { c := DefaultConfig(); c.Dir = dir; return c }},
		{"Interval", func(dir string) Config {
			c := DefaultConfig()
			c.Dir = dir
			c.FlushInterval = 1 << 40 // only Close flushes
			return c
		}},
	} {
		t.Run(flush.name, func(t *testing.T) {
			vectorstest.Run(t, func(t *testing.T) vectors.Store {
				return open(t, flush.cfg(t.TempDir()))
			}, vectorstest.WithReopen(func(t *testing.T, s vectors.Store) vectors.Store {
				cfg := s.(*Store).Config()
				if err := s.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				return open(t, cfg)
			}))
		})
	}
	t.Run("Memory", func(t *testing.T) {
		vectorstest.Run(t, func(t *testing.T) vectors.Store { return open(t, DefaultConfig()) })
	})
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	for key, mut := range map[string]func(*Config){
		"m":               func(c *Config) { c.M = 1 },
		"ef_construction": func(c *Config) { c.EfConstruction = 4 },
		"ef_search":       func(c *Config) { c.EfSearch = 0 },
		"flush_interval":  func(c *Config) { c.FlushInterval = -1 },
	} {
		c := DefaultConfig()
		mut(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("bad %s: Validate = %v, want an error naming it", key, err)
		}
	}
}

// TestRecall checks the graph against brute force on random 64-dimensional
// vectors, with and without a filter, and after deleting a third.
func TestRecall(t *testing.T) {
	const n, dims, queries, k = 4000, 64, 100, 10
	s := open(t, DefaultConfig())
	defer s.Close()
	ctx := t.Context()
	if err := s.EnsureCollection(ctx, "recall", dims); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	recs := make([]vectors.Record, n)
	for i := range recs {
		recs[i] = vectors.Record{ID: "r" + strconv.Itoa(i), Vector: vectorstest.RandomUnit(rng, dims), Worker: []string{"b", "a", "a"}[i%3]}
	}
	if err := s.Upsert(ctx, "recall", recs); err != nil {
		t.Fatal(err)
	}
	qs := make([][]float32, queries)
	for i := range qs {
		qs[i] = vectorstest.RandomUnit(rng, dims)
	}
	check := func(name string, live []vectors.Record, f vectors.Filter, min float64) {
		t.Helper()
		var found int
		for _, q := range qs {
			hits, err := s.Search(ctx, "recall", q, k, f)
			if err != nil {
				t.Fatal(err)
			}
			want := brute(live, q, k, f)
			for _, h := range hits {
				if slices.Contains(want, h.ID) {
					found++
				}
			}
		}
		r := float64(found) / float64(queries*k)
		t.Logf("%s: recall@%d = %.3f", name, k, r)
		if r < min {
			t.Errorf("%s: recall@%d = %.3f, want at least %.2f", name, k, r, min)
		}
	}
	check("all", recs, vectors.Filter{}, 0.95)
	check("worker=a (two thirds: graph search)", recs, vectors.Filter{Worker: "a"}, 0.95)
	check("worker=b (a third: exact scan)", recs, vectors.Filter{Worker: "b"}, 1)
	var ids []string
	var live []vectors.Record
	for i, r := range recs {
		if i%3 == 0 {
			ids = append(ids, r.ID)
		} else {
			live = append(live, r)
		}
	}
	if err := s.Delete(ctx, "recall", ids); err != nil {
		t.Fatal(err)
	}
	c, _ := s.get("recall")
	if c.ndead != 0 {
		t.Errorf("after deleting a third: %d tombstones; compaction should have run", c.ndead)
	}
	check("after deleting a third", live, vectors.Filter{}, 0.95)
}

func brute(recs []vectors.Record, q []float32, k int, f vectors.Filter) []string {
	type sc struct {
		id string
		s  float32
	}
	var all []sc
	for _, r := range recs {
		if f.Match(r) {
			all = append(all, sc{r.ID, dot(normalize(q), normalize(r.Vector))})
		}
	}
	slices.SortFunc(all, func(a, b sc) int {
		if a.s > b.s {
			return -1
		}
		if a.s < b.s {
			return 1
		}
		return 0
	})
	var out []string
	for i := 0; i < k && i < len(all); i++ {
		out = append(out, all[i].id)
	}
	return out
}

// TestDamagedFile checks that a corrupt collection file is refused, naming it,
// rather than loaded as partial data.
func TestDamagedFile(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.Dir = dir
	s := open(t, cfg)
	ctx := context.Background()
	if err := s.EnsureCollection(ctx, "c", vectorstest.Dims); err != nil {
		t.Fatal(err)
	}
	if err := s.Upsert(ctx, "c", vectorstest.Records(10)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "c"+suffix)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, cfg, nil); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open over a damaged file: %v, want an error naming %s", err, path)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*.tmp*"))
	if len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}
