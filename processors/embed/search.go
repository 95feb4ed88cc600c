package embed

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fairstream/fairstream/processors/embed/vectors"
)

// Result is one passage a search found: the chunk's text and where it
// came from.
type Result struct {
	Score      float32   `json:"score"`
	Text       string    `json:"text"`
	DocumentID string    `json:"document_id"`
	ChunkID    string    `json:"chunk_id"`
	Source     string    `json:"source"`
	Worker     string    `json:"worker,omitempty"`
	Speaker    string    `json:"speaker,omitempty"`
	Language   string    `json:"language,omitempty"`
	Time       time.Time `json:"time"`
	// Start and End are the chunk's code-point offsets in the document's
	// text.
	Start int32 `json:"start"`
	End   int32 `json:"end"`
}

// Searcher answers questions from a collection: it embeds the query with
// the model that embedded the chunks and returns the nearest. The
// developer API serves it over HTTP.
type Searcher struct {
	emb        Embedder
	store      vectors.Store
	collection string
}

// NewSearcher returns a searcher over collection.
func NewSearcher(emb Embedder, store vectors.Store, collection string) (*Searcher, error) {
	if err := vectors.CheckCollectionName(collection); err != nil {
		return nil, err
	}
	return &Searcher{emb: emb, store: store, collection: collection}, nil
}

// Search returns the k chunks nearest to query that pass f, best first.
func (s *Searcher) Search(ctx context.Context, query string, k int, f vectors.Filter) ([]Result, error) {
	if strings.TrimSpace(query) == "" {
		return nil, errors.New("search: the query is empty")
	}
	if err := vectors.CheckK(k); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	vecs, err := s.emb.Embed(ctx, []string{query})
	if err != nil {
		return nil, fmt.Errorf("search: embedding the query with %s: %w", s.emb.Name(), err)
	}
	if len(vecs) != 1 {
		return nil, fmt.Errorf("search: %s returned %d vectors for one query", s.emb.Name(), len(vecs))
	}
	hits, err := s.store.Search(ctx, s.collection, vecs[0], k, f)
	if err != nil {
		if errors.Is(err, vectors.ErrNotFound) {
			return nil, fmt.Errorf("search: collection %s does not exist yet: the embed stage creates it when it runs (fairstream dev, or fairstream processor run embed): %w", s.collection, err)
		}
		if errors.Is(err, vectors.ErrDimensionMismatch) {
			return nil, fmt.Errorf("search: the model %s makes %d-dimensional vectors, not the collection's: %w", s.emb.Name(), s.emb.Dimensions(), err)
		}
		return nil, fmt.Errorf("search: %w", err)
	}
	out := make([]Result, len(hits))
	for i, h := range hits {
		out[i] = Result{Score: h.Score, Text: h.Text, DocumentID: h.DocumentID, ChunkID: h.ID, Source: h.Source, Worker: h.Worker,
			Speaker: h.Speaker, Language: h.Language, Time: time.UnixMilli(h.Time).UTC(), Start: h.Start, End: h.End}
	}
	return out, nil
}
