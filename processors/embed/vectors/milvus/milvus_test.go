package milvus

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fairstream/fairstream/internal/testenv"
	"github.com/fairstream/fairstream/processors/embed/vectors"
	"github.com/fairstream/fairstream/processors/embed/vectors/vectorstest"
)

// addrVar locates Milvus (Lite): `deploy/local/services env` exports it.
const addrVar = "FAIRSTREAM_MILVUS_ADDR"

func openTest(t *testing.T) *Store {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Address = testenv.Require(t, "milvus", addrVar)
	s, err := Open(t.Context(), cfg, nil)
	if err != nil {
		t.Fatalf("Open %s: %v", cfg.Address, err)
	}
	return s
}

func TestConformance(t *testing.T) {
	vectorstest.Run(t, func(t *testing.T) vectors.Store { return openTest(t) },
		// Milvus keeps the data; reopening is a new client on the same server.
		vectorstest.WithReopen(func(t *testing.T, s vectors.Store) vectors.Store {
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return openTest(t)
		}))
}

func TestUnavailable(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Address = "127.0.0.1:1" // nothing listens on port 1
	cfg.Timeout = 3 * time.Second
	s, err := Open(context.Background(), cfg, nil)
	if err == nil {
		s.Close()
		t.Fatal("Open of an address nothing listens on succeeded")
	}
	if !errors.Is(err, vectors.ErrUnavailable) {
		t.Fatalf("Open of an address nothing listens on: %v, want ErrUnavailable", err)
	}
}

func TestExpr(t *testing.T) {
	for _, tc := range []struct {
		f    vectors.Filter
		want string
	}{
		{vectors.Filter{}, ""},
		{vectors.Filter{Source: "web"}, `source == "web"`},
		{vectors.Filter{Worker: `a" or worker != "`, Speaker: `\`, Language: "en", DocumentID: "d\n1"},
			`worker == "a\" or worker != \"" and speaker == "\\" and language == "en" and document_id == "d\n1"`},
		{vectors.Filter{From: 5, HasFrom: true, To: 9, HasTo: true}, `event_time >= 5 and event_time < 9`},
	} {
		if got := Expr(tc.f); got != tc.want {
			t.Errorf("Expr(%+v) = %s, want %s", tc.f, got, tc.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	for key, mut := range map[string]func(*Config){
		"address":              func(c *Config) { c.Address = "" },
		"metric":               func(c *Config) { c.Metric = "L2" },
		"hnsw.m":               func(c *Config) { c.HNSW.M = 1 },
		"hnsw.ef_construction": func(c *Config) { c.HNSW.EfConstruction = 0 },
		"hnsw.ef":              func(c *Config) { c.HNSW.Ef = 0 },
		"timeout":              func(c *Config) { c.Timeout = 0 },
		"keepalive":            func(c *Config) { c.Keepalive = time.Second },
		"username":             func(c *Config) { c.Password = "x" },
	} {
		c := DefaultConfig()
		mut(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("bad %s: Validate = %v, want an error naming it", key, err)
		}
	}
}

// TestIndexedSearch runs searches after Flush and Reload, so that Milvus
// Lite answers through the HNSW index rather than by brute force over
// unsealed rows (what the conformance suite sees): the fields and filters
// must come back the same.
func TestIndexedSearch(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	coll := "vectorstest_indexed_" + strconv.FormatInt(time.Now().UnixNano(), 10)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.DropCollection(ctx, coll); err != nil {
			t.Errorf("DropCollection: %v", err)
		}
		s.Close()
	})
	if err := s.EnsureCollection(ctx, coll, vectorstest.Dims); err != nil {
		t.Fatal(err)
	}
	recs := vectorstest.Records(200)
	if err := s.Upsert(ctx, coll, recs); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx, coll); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(ctx, coll); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs[:50] {
		hits, err := s.Search(ctx, coll, r.Vector, 3, vectors.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) == 0 || hits[0] != vectors.HitOf(r, hits[0].Score) || hits[0].Score < 0.999 {
			t.Fatalf("search for %s's vector: %+v, want it first with score ~1", r.ID, hits)
		}
		hits, err = s.Search(ctx, coll, r.Vector, 3, vectors.Filter{Worker: r.Worker, Source: r.Source})
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) == 0 || hits[0].ID != r.ID {
			t.Fatalf("filtered search for %s's vector: %+v, want it first", r.ID, hits)
		}
		for _, h := range hits {
			if h.Worker != r.Worker || h.Source != r.Source {
				t.Fatalf("filtered search worker=%s source=%s returned %+v", r.Worker, r.Source, h)
			}
		}
	}
	if err := s.DeleteByDocument(ctx, coll, recs[0].DocumentID); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Count(ctx, coll); err != nil || n != int64(len(recs)-5) {
		t.Fatalf("Count after deleting a document from sealed segments: %d, %v; want %d", n, err, len(recs)-5)
	}
}
