package embed

import (
	"context"
	"crypto/sha256"
	"errors"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/processors/embed/vectors"
	"github.com/fairstream/fairstream/processors/embed/vectors/hnsw"
	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
	"github.com/fairstream/fairstream/streams"
	"github.com/fairstream/fairstream/streams/embedded"
)

// hashEmbedder is a deterministic bag-of-words embedder for the stage's
// own logic (the real model's tests are in processors/embed/model): each
// word adds to a dimension chosen by its hash, then the vector is
// normalised.
type hashEmbedder struct {
	dims  int
	calls atomic.Int64
}

func (h *hashEmbedder) Name() string    { return "hash-bow" }
func (h *hashEmbedder) Dimensions() int { return h.dims }
func (h *hashEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	h.calls.Add(1)
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, h.dims)
		for _, w := range strings.Fields(strings.ToLower(t)) {
			s := sha256.Sum256([]byte(strings.Trim(w, ".,;:!?")))
			v[int(s[0])%h.dims] += 1
		}
		v[h.dims-1] += 0.01 // never a zero vector
		var n float64
		for _, x := range v {
			n += float64(x * x)
		}
		for j := range v {
			v[j] /= float32(math.Sqrt(n))
		}
		out[i] = v
	}
	return out, nil
}

func memStore(t *testing.T) *hnsw.Store {
	t.Helper()
	st, err := hnsw.Open(context.Background(), hnsw.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func annotated(id, text string) *fairstreampb.AnnotatedDocument {
	return &fairstreampb.AnnotatedDocument{
		Document: &fairstreampb.Document{Id: id, Source: "web", Text: text, Language: "en",
			Published: timestamppb.New(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)),
			Lineage:   &fairstreampb.Lineage{Worker: "0xW"}},
		Annotations: &fairstreampb.Annotations{Language: "en"},
	}
}

func longText(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("Fair data networks pay workers for verified and fresh records number ")
		b.WriteString(strings.Repeat("z", i%5+1))
		b.WriteString(". ")
	}
	return b.String()
}

func TestStageWritesChunksAndReplayUpserts(t *testing.T) {
	ctx := context.Background()
	st := memStore(t)
	emb := &hashEmbedder{dims: 32}
	cfg := DefaultConfig()
	cfg.ChunkTokens, cfg.OverlapTokens = 24, 6
	s, err := New(ctx, cfg, emb, wordPieces{}, st, "embedded")
	if err != nil {
		t.Fatal(err)
	}
	doc := annotated("web:a", longText(40))
	out, err := s.Process(ctx, "01EVENT", "doc.annotated/v1", []byte{1}, time.Now(), doc)
	if err != nil {
		t.Fatal(err)
	}
	if out.GetSkipped() != "" || len(out.GetChunks()) < 5 || out.GetModel() != "hash-bow" || out.GetDimensions() != 32 ||
		out.GetStore() != "embedded" || out.GetCollection() != "fairstream" || out.GetLineage().GetStage() != Name || out.GetLineage().GetEventId() != "01EVENT" {
		t.Fatalf("embedded record: %v", out)
	}
	n, err := st.Count(ctx, "fairstream")
	if err != nil || n != int64(len(out.GetChunks())) {
		t.Fatalf("count %d (%v), want %d chunks", n, err, len(out.GetChunks()))
	}
	// A replay of the same input leaves the same vectors.
	again, err := s.Process(ctx, "01EVENT", "doc.annotated/v1", []byte{1}, time.Now(), doc)
	if err != nil {
		t.Fatal(err)
	}
	if n2, _ := st.Count(ctx, "fairstream"); n2 != n {
		t.Fatalf("after a replay: %d vectors, want %d", n2, n)
	}
	for i, c := range again.GetChunks() {
		if c.GetId() != out.GetChunks()[i].GetId() {
			t.Fatalf("chunk %d: ID %s on replay, %s before", i, c.GetId(), out.GetChunks()[i].GetId())
		}
	}
	// An edited, shorter version replaces the document's chunks.
	if _, err := s.Process(ctx, "01EDIT", "doc.annotated/v1", []byte{2}, time.Now(), annotated("web:a", "A short correction.")); err != nil {
		t.Fatal(err)
	}
	if n3, _ := st.Count(ctx, "fairstream"); n3 != 1 {
		t.Fatalf("after an edit to one chunk: %d vectors, want 1", n3)
	}
	// Search finds the chunk, with its lineage fields.
	sr, err := NewSearcher(emb, st, "fairstream")
	if err != nil {
		t.Fatal(err)
	}
	res, err := sr.Search(ctx, "a short correction", 3, vectors.Filter{})
	if err != nil || len(res) != 1 || res[0].DocumentID != "web:a" || res[0].Text != "A short correction." || res[0].Worker != "0xW" ||
		res[0].Source != "web" || !res[0].Time.Equal(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)) {
		t.Fatalf("search: %+v, %v", res, err)
	}
	if _, err := sr.Search(ctx, "  ", 3, vectors.Filter{}); err == nil {
		t.Error("an empty query: want an error")
	}
}

func TestStageSkipsEmptyAndOversized(t *testing.T) {
	ctx := context.Background()
	st := memStore(t)
	emb := &hashEmbedder{dims: 16}
	cfg := DefaultConfig()
	cfg.MaxTextChars = 100
	s, err := New(ctx, cfg, emb, wordPieces{}, st, "embedded")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ text, want string }{
		{"", "empty text"},
		{" \n\t ", "empty text"},
		{strings.Repeat("long words ", 20), "text of 220 characters is over processors.embed.max_text_chars (100)"},
	} {
		out, err := s.Process(ctx, "01E", "doc.annotated/v1", nil, time.Now(), annotated("web:x", c.text))
		if err != nil || out.GetSkipped() != c.want || len(out.GetChunks()) != 0 {
			t.Errorf("text %q: skipped %q, %d chunks, %v; want %q", c.text, out.GetSkipped(), len(out.GetChunks()), err, c.want)
		}
	}
	if emb.calls.Load() != 0 {
		t.Errorf("the model was called %d times for skipped documents", emb.calls.Load())
	}
	if n, _ := st.Count(ctx, "fairstream"); n != 0 {
		t.Errorf("%d vectors written for skipped documents", n)
	}
}

func TestStageRefusesDimensionMismatch(t *testing.T) {
	ctx := context.Background()
	st := memStore(t)
	if err := st.EnsureCollection(ctx, "fairstream", 8); err != nil {
		t.Fatal(err)
	}
	_, err := New(ctx, DefaultConfig(), &hashEmbedder{dims: 16}, wordPieces{}, st, "embedded")
	if err == nil || !errors.Is(err, vectors.ErrDimensionMismatch) || !strings.Contains(err.Error(), "16-dimensional") {
		t.Fatalf("New over an 8-dimensional collection with a 16-dimensional model: %v", err)
	}
}

// flakyStore is unavailable for its first failures calls, as a Milvus
// that is down and comes back.
type flakyStore struct {
	vectors.Store
	failures atomic.Int64
}

func (f *flakyStore) Upsert(ctx context.Context, c string, recs []vectors.Record) error {
	if f.failures.Add(-1) >= 0 {
		return errors.Join(vectors.ErrUnavailable, errors.New("connection refused"))
	}
	return f.Store.Upsert(ctx, c, recs)
}

func TestStageRetriesUnavailableStore(t *testing.T) {
	ctx := context.Background()
	fs := &flakyStore{Store: memStore(t)}
	fs.failures.Store(3)
	cfg := DefaultConfig()
	cfg.RetryInitial, cfg.RetryMax = time.Millisecond, 2*time.Millisecond
	s, err := New(ctx, cfg, &hashEmbedder{dims: 16}, wordPieces{}, fs, "milvus")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Process(ctx, "01E", "doc.annotated/v1", nil, time.Now(), annotated("web:r", "back again")); err != nil {
		t.Fatalf("after three unavailable attempts: %v", err)
	}
	if n, _ := fs.Count(ctx, "fairstream"); n != 1 {
		t.Fatalf("%d vectors, want 1", n)
	}
	// While it stays down, the stage gives up only when its context ends,
	// with an error (so the runner commits nothing).
	fs.failures.Store(1 << 30)
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := s.Process(cctx, "01F", "doc.annotated/v1", nil, time.Now(), annotated("web:s", "down")); err == nil || !(errors.Is(err, vectors.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)) {
		t.Fatalf("store down until the stage stops: %v", err)
	}
}

// TestRunner runs the stage through the streams runner on kfake: two
// passes over the same input (a replay) leave the same number of vectors,
// and an unknown event type goes to the input's DLQ.
func TestRunner(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	br, err := embedded.Start(ctx, embedded.Config{Listen: "127.0.0.1:0"}, streams.DefaultCatalog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	kcfg := streams.DefaultConfig()
	kcfg.Brokers = []string{br.Addr()}
	prod, err := streams.NewProducer(kcfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	const docs = 12
	for i := range docs {
		d := annotated("web:"+string(rune('a'+i)), longText(3+i))
		if _, err := prod.Publish(ctx, Input, d, schemas.Meta{Key: d.GetDocument().GetId(), Worker: "0xW"}); err != nil {
			t.Fatal(err)
		}
	}
	bad, _ := schemas.Builtin().Wrap(&fairstreampb.Document{Id: "x"}, schemas.Meta{Key: "x"})
	bad.Type = "doc.annotated/v9"
	raw, _ := schemas.MarshalEnvelope(bad)
	if err := prod.Client().ProduceSync(ctx, &kgo.Record{Topic: Input, Key: []byte("x"), Value: raw}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	st := memStore(t)
	emb := &hashEmbedder{dims: 32}
	cfg := DefaultConfig()
	cfg.ChunkTokens, cfg.OverlapTokens = 16, 4
	pass := func(group string) int64 {
		s, err := New(ctx, cfg, emb, wordPieces{}, st, "embedded")
		if err != nil {
			t.Fatal(err)
		}
		stage := s.Streams()
		stage.Spec.Name = group // a second group replays the whole input
		r, err := streams.NewRunner(kcfg, streams.DefaultRunnerConfig(), stage)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		rctx, rcancel := context.WithCancel(ctx)
		go func() { done <- r.Run(rctx) }()
		var outs []string
		deadline := time.Now().Add(time.Minute)
		for len(outs) < docs*(map[string]int{"embed": 1, "embed-replay": 2}[group]) && time.Now().Before(deadline) {
			outs = outs[:0]
			if err := streams.ReadToEnd(ctx, kcfg, Output, func(rec *kgo.Record) error {
				outs = append(outs, string(rec.Key))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		rcancel()
		<-done
		r.Close()
		n, err := st.Count(ctx, "fairstream")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	first := pass("embed")
	second := pass("embed-replay")
	if first == 0 || second != first {
		t.Fatalf("vectors after the first pass %d, after replaying the same input %d", first, second)
	}
	var dlq []*kgo.Record
	if err := streams.ReadToEnd(ctx, kcfg, Input+streams.DLQSuffix, func(rec *kgo.Record) error {
		dlq = append(dlq, rec)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(dlq) < 1 || !strings.Contains(streams.Header(dlq[0], streams.HeaderDLQReason), "doc.annotated/v9") {
		t.Fatalf("unknown event type: %d dead letters", len(dlq))
	}
}
