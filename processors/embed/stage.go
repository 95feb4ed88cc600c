package embed

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/processors/embed/vectors"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
	"github.com/fairstream/fairstream/streams"
)

// Name is the stage's name: its consumer group, so it never changes.
const Name = "embed"

// Version is recorded in lineage; bump it when the chunks or the vectors of
// some input change (a new chunker, another model).
const Version = "1"

// The stage's topics.
const (
	Input  = "docs.annotated.v1"
	Output = "docs.embedded.v1"
)

// Embedder turns texts into vectors: the in-process model
// (processors/embed/model) or an OpenAI-compatible endpoint.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	Dimensions() int
	Name() string
}

// Stage is the embed stage, bound to a model and a store.
type Stage struct {
	cfg       Config
	emb       Embedder
	tok       Tokenizer
	store     vectors.Store
	storeName string
	log       *slog.Logger
}

// Option configures New.
type Option func(*Stage)

// WithLogger logs the store's retries; the default discards.
func WithLogger(l *slog.Logger) Option { return func(s *Stage) { s.log = l } }

// New checks cfg, makes sure the collection exists with the model's
// dimension, and returns the stage. A collection of another dimension is
// refused here, before anything is consumed. storeName ("embedded",
// "milvus") is recorded on docs.embedded.v1. ctx bounds the store calls.
func New(ctx context.Context, cfg Config, emb Embedder, tok Tokenizer, store vectors.Store, storeName string, opts ...Option) (*Stage, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Stage{cfg: cfg, emb: emb, tok: tok, store: store, storeName: storeName, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(s)
	}
	if err := store.EnsureCollection(ctx, cfg.Collection, emb.Dimensions()); err != nil {
		if errors.Is(err, vectors.ErrDimensionMismatch) {
			return nil, fmt.Errorf("embed: the model %s makes %d-dimensional vectors, but %w; use another processors.embed.collection or drop it",
				emb.Name(), emb.Dimensions(), err)
		}
		return nil, fmt.Errorf("embed: collection %s: %w", cfg.Collection, err)
	}
	return s, nil
}

// Streams returns the runner stage: every annotated document becomes its
// chunks' vectors in the store and a doc.embedded/v1 record of them on
// docs.embedded.v1, keyed by the document ID.
func (s *Stage) Streams() streams.Stage[*fairstreampb.AnnotatedDocument, *fairstreampb.EmbeddedDocument] {
	return streams.Stage[*fairstreampb.AnnotatedDocument, *fairstreampb.EmbeddedDocument]{
		Spec: streams.Spec{Name: Name, Version: Version, Inputs: []string{Input}, Outputs: []string{Output}},
		Process: func(ctx context.Context, in streams.Event[*fairstreampb.AnnotatedDocument]) ([]streams.Output[*fairstreampb.EmbeddedDocument], error) {
			out, err := s.Process(ctx, in.Envelope.GetId(), in.Envelope.GetType(), in.Envelope.GetContentHash(), in.Envelope.GetTime().AsTime(), in.Payload)
			if err != nil {
				return nil, err
			}
			return []streams.Output[*fairstreampb.EmbeddedDocument]{{Key: out.GetDocumentId(), Payload: out}}, nil
		},
	}
}

// Process embeds one annotated document and writes its chunks to the
// store, returning the record of what was written. An empty or oversized
// text writes nothing and returns the record with the reason in skipped.
// While the store is unavailable it retries with backoff until ctx ends
// (then the runner aborts the batch and commits no offset, so no vector is
// lost); a request the store refuses is permanent.
func (s *Stage) Process(ctx context.Context, eventID, eventType string, contentHash []byte, eventTime time.Time, in *fairstreampb.AnnotatedDocument) (*fairstreampb.EmbeddedDocument, error) {
	doc := in.GetDocument()
	if doc.GetId() == "" {
		return nil, streams.Permanent(errors.New("embed: the annotated document has no document ID"))
	}
	out := &fairstreampb.EmbeddedDocument{
		DocumentId: doc.GetId(), Store: s.storeName, Collection: s.cfg.Collection,
		Model: s.emb.Name(), Dimensions: int32(s.emb.Dimensions()),
		Lineage: &fairstreampb.Lineage{EventId: eventID, EventType: eventType, Worker: doc.GetLineage().GetWorker(),
			ContentHash: contentHash, Stage: Name, StageVersion: Version},
	}
	text := doc.GetText()
	if strings.TrimSpace(text) == "" {
		text = doc.GetTitle()
	}
	switch n := runeLen(text); {
	case strings.TrimSpace(text) == "":
		out.Skipped = "empty text"
		return out, nil
	case n > s.cfg.MaxTextChars:
		out.Skipped = fmt.Sprintf("text of %d characters is over processors.embed.max_text_chars (%d)", n, s.cfg.MaxTextChars)
		return out, nil
	}
	pieces := Chunk(s.tok, text, nil, ChunkConfig{Size: s.cfg.ChunkTokens, Overlap: s.cfg.OverlapTokens})
	if len(pieces) == 0 {
		out.Skipped = "no tokens in the text"
		return out, nil
	}
	texts := make([]string, len(pieces))
	for i, p := range pieces {
		texts[i] = p.Text
	}
	vecs, err := s.emb.Embed(ctx, texts)
	if err != nil {
		return nil, fmt.Errorf("embed: %s: %w", s.emb.Name(), err)
	}
	if len(vecs) != len(pieces) {
		return nil, fmt.Errorf("embed: %s returned %d vectors for %d chunks", s.emb.Name(), len(vecs), len(pieces))
	}
	when := eventTime
	if p := doc.GetPublished(); p != nil && p.IsValid() && (p.GetSeconds() != 0 || p.GetNanos() != 0) {
		when = p.AsTime()
	}
	lang := in.GetAnnotations().GetLanguage()
	if lang == "" {
		lang = doc.GetLanguage()
	}
	recs := make([]vectors.Record, len(pieces))
	for i, p := range pieces {
		id := ChunkID(doc.GetId(), p.Index, p.Text)
		recs[i] = vectors.Record{ID: id, Vector: vecs[i], DocumentID: doc.GetId(), Source: doc.GetSource(),
			Worker: doc.GetLineage().GetWorker(), Speaker: p.Speaker, Language: lang, Time: when.UnixMilli(),
			Start: int32(p.Start), End: int32(p.End), Text: p.Text}
		sum := sha256.Sum256([]byte(p.Text))
		c := &fairstreampb.Chunk{Id: id, Index: int32(p.Index), Start: int32(p.Start), End: int32(p.End),
			Tokens: int32(p.Tokens), Speaker: p.Speaker, TextSha256: sum[:]}
		from, to := p.From, p.To
		if from.IsZero() {
			from, to = when, when
		}
		c.StartTime, c.EndTime = timestamppb.New(from), timestamppb.New(to)
		out.Chunks = append(out.Chunks, c)
	}
	if err := s.write(ctx, doc.GetId(), recs); err != nil {
		return nil, err
	}
	return out, nil
}

// write replaces the document's chunks in the store: the chunks of an
// earlier version of it go, and a replay upserts the same IDs. While the
// store is unavailable it retries with jittered backoff until ctx ends.
func (s *Stage) write(ctx context.Context, docID string, recs []vectors.Record) error {
	wait := s.cfg.RetryInitial
	for attempt := 1; ; attempt++ {
		err := s.store.DeleteByDocument(ctx, s.cfg.Collection, docID)
		if err == nil {
			err = s.store.Upsert(ctx, s.cfg.Collection, recs)
		}
		switch {
		case err == nil:
			return nil
		case errors.Is(err, vectors.ErrUnavailable) && ctx.Err() == nil:
			d := wait/2 + rand.N(wait/2+1)
			s.log.Warn("embed: vector store unavailable; retrying, nothing committed", "document", docID, "attempt", attempt, "retry_in", d, "err", err)
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("embed: vector store: %w (gave up: %v)", err, ctx.Err())
			case <-t.C:
			}
			wait = min(wait*2, s.cfg.RetryMax)
		case errors.Is(err, vectors.ErrInvalid):
			return streams.Permanent(fmt.Errorf("embed: vector store refused document %s: %w", docID, err))
		default:
			return fmt.Errorf("embed: vector store: %w", err)
		}
	}
}
