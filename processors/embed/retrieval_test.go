package embed_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/internal/testenv"
	"github.com/fairstream/fairstream/processors/embed"
	"github.com/fairstream/fairstream/processors/embed/model"
	"github.com/fairstream/fairstream/processors/embed/vectors"
	"github.com/fairstream/fairstream/processors/embed/vectors/hnsw"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// loadMiniLM loads the fetched model, skipping (or failing under make
// test) when it is not there.
func loadMiniLM(t *testing.T) *model.MiniLM {
	t.Helper()
	dir := model.DefaultModelDir()
	if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err != nil {
		if testenv.Required("minilm") {
			t.Fatalf("the embedding model is required (FAIRSTREAM_TEST_REQUIRE) but is not in %s: run make models", dir)
		}
		t.Skipf("the embedding model is not in %s: make models (deploy/local/fetch-model) fetches it", dir)
	}
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type tokens struct{ m *model.MiniLM }

func (t tokens) TokenSpans(s string) []embed.Span {
	var out []embed.Span
	for _, sp := range t.m.TokenSpans(s) {
		out = append(out, embed.Span{Start: sp.Start, End: sp.End})
	}
	return out
}

func readJSONL[T any](t *testing.T, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, v)
	}
	return out
}

// TestRetrieval embeds a small corpus of passages through the stage with
// the in-process model and asks the questions written for it
// (testdata/retrieval): the passage each answers must be in the top 5 for
// at least 90% of them.
func TestRetrieval(t *testing.T) {
	m := loadMiniLM(t)
	ctx := context.Background()
	store, err := hnsw.Open(ctx, hnsw.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	stage, err := embed.New(ctx, embed.DefaultConfig(), m, tokens{m}, store, "embedded")
	if err != nil {
		t.Fatal(err)
	}
	passages := readJSONL[struct {
		ID   string `json:"id"`
		Text string `json:"text"`
	}](t, "testdata/retrieval/passages.jsonl")
	questions := readJSONL[struct {
		Question string `json:"question"`
		Passage  string `json:"passage"`
	}](t, "testdata/retrieval/questions.jsonl")
	if len(questions) < 30 {
		t.Fatalf("%d questions; the corpus needs 30 or more", len(questions))
	}
	for _, p := range passages {
		doc := &fairstreampb.AnnotatedDocument{Document: &fairstreampb.Document{Id: p.ID, Source: "web", Text: p.Text,
			Published: timestamppb.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}}
		if _, err := stage.Process(ctx, "01E", "doc.annotated/v1", nil, time.Now(), doc); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := store.Count(ctx, embed.DefaultConfig().Collection)
	// Replaying the same input leaves the same vectors.
	for _, p := range passages[:10] {
		doc := &fairstreampb.AnnotatedDocument{Document: &fairstreampb.Document{Id: p.ID, Source: "web", Text: p.Text,
			Published: timestamppb.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}}
		if _, err := stage.Process(ctx, "01E", "doc.annotated/v1", nil, time.Now(), doc); err != nil {
			t.Fatal(err)
		}
	}
	if after, _ := store.Count(ctx, embed.DefaultConfig().Collection); after != before || after != int64(len(passages)) {
		t.Fatalf("%d vectors after a replay, %d before, %d passages", after, before, len(passages))
	}
	s, err := embed.NewSearcher(m, store, embed.DefaultConfig().Collection)
	if err != nil {
		t.Fatal(err)
	}
	hits := 0
	for _, q := range questions {
		res, err := s.Search(ctx, q.Question, 5, vectors.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range res {
			found = found || r.DocumentID == q.Passage
		}
		if found {
			hits++
		} else {
			top := ""
			if len(res) > 0 {
				top = res[0].DocumentID
			}
			t.Logf("miss: %q (want %s, top %s)", q.Question, q.Passage, top)
		}
	}
	recall := float64(hits) / float64(len(questions))
	t.Logf("recall@5 = %.3f (%d of %d questions)", recall, hits, len(questions))
	if recall < 0.9 {
		t.Fatalf("recall@5 = %.3f, want at least 0.9", recall)
	}
}
