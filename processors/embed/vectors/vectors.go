package vectors

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// Sentinel errors; every error a Store returns wraps at most one of them
// (ErrDimensionMismatch also matches ErrInvalid).
var (
	// ErrUnavailable marks a transient failure of the store: the server is
	// unreachable, overloaded or timed out. Retrying later may succeed.
	ErrUnavailable = errors.New("vector store unavailable")
	// ErrInvalid marks a request the store refuses as such: retrying it
	// cannot succeed.
	ErrInvalid = errors.New("invalid vector store request")
	// ErrNotFound marks an operation on a collection that does not exist.
	ErrNotFound = errors.New("collection not found")
	// ErrDimensionMismatch marks a vector, or a collection, whose dimension
	// differs from the collection's. It matches ErrInvalid too.
	ErrDimensionMismatch = fmt.Errorf("%w: dimension mismatch", ErrInvalid)
)

// MaxK is the largest k Search accepts (Milvus's limit on top-k).
const MaxK = 16384

// Record is one embedded chunk.
type Record struct {
	ID         string    // chunk ID, deterministic, from the log: the key of every write
	Vector     []float32 // the embedding; its length is the collection's dimension
	DocumentID string    // the annotated document the chunk belongs to
	Source     string    // the connector the document came from ("podcast", "web", …)
	Worker     string    // the worker (public key) that contributed it
	Speaker    string    // the speaker of a transcript chunk, if any
	Language   string    // ISO 639-1 code of the chunk's language
	Time       int64     // the event time, Unix milliseconds
	Start, End int32     // the chunk's span in the document's text
	Text       string    // the chunk's text, returned by Search
}

// Hit is one search result: the record without its vector, and its score.
type Hit struct {
	ID         string
	DocumentID string
	Source     string
	Worker     string
	Speaker    string
	Language   string
	Time       int64
	Start, End int32
	Text       string
	// Score is the cosine similarity of the query and the record's vector:
	// 1 for the same direction; higher is better.
	Score float32
}

// HitOf returns r's hit with the given score.
func HitOf(r Record, score float32) Hit {
	return Hit{
		ID: r.ID, DocumentID: r.DocumentID, Source: r.Source, Worker: r.Worker, Speaker: r.Speaker,
		Language: r.Language, Time: r.Time, Start: r.Start, End: r.End, Text: r.Text, Score: score,
	}
}

// Store is a vector store. Implementations are safe for concurrent use.
// Every method takes a context that bounds it.
type Store interface {
	// EnsureCollection creates the collection with vectors of dims
	// dimensions, or does nothing when it exists with that dimension. It
	// refuses (ErrDimensionMismatch) an existing collection of another
	// dimension.
	EnsureCollection(ctx context.Context, name string, dims int) error
	// Upsert inserts recs, replacing records with the same IDs. Within recs
	// the last record of an ID wins. An error means some or none of recs
	// may be stored; retrying the same call is safe.
	Upsert(ctx context.Context, collection string, recs []Record) error
	// Delete removes the records with the given IDs; absent IDs are ignored.
	Delete(ctx context.Context, collection string, ids []string) error
	// DeleteByDocument removes every record of the document.
	DeleteByDocument(ctx context.Context, collection, documentID string) error
	// Search returns at most k records that pass f, nearest to vector first.
	Search(ctx context.Context, collection string, vector []float32, k int, f Filter) ([]Hit, error)
	// Count returns the number of records in the collection.
	Count(ctx context.Context, collection string) (int64, error)
	// DropCollection deletes the collection and its records; dropping an
	// absent collection is not an error.
	DropCollection(ctx context.Context, name string) error
	// Close releases the store; a store that persists makes its data
	// durable first.
	Close() error
}

// CheckCollectionName returns an ErrInvalid error unless name is a valid
// collection name: 1 to 255 ASCII letters, digits and underscores, not
// starting with a digit (Milvus's rule; it also makes a safe file name).
func CheckCollectionName(name string) error {
	if name == "" || len(name) > 255 {
		return fmt.Errorf("%w: collection name %q: want 1 to 255 characters", ErrInvalid, name)
	}
	for i, c := range name {
		ok := c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || (i > 0 && '0' <= c && c <= '9')
		if !ok {
			return fmt.Errorf("%w: collection name %q: want letters, digits and underscores, not starting with a digit", ErrInvalid, name)
		}
	}
	return nil
}

// CheckDims returns an ErrInvalid error unless dims is a usable dimension.
func CheckDims(dims int) error {
	if dims < 1 || dims > 32768 {
		return fmt.Errorf("%w: dimension %d: want 1 to 32768", ErrInvalid, dims)
	}
	return nil
}

// CheckVector returns an error unless v has dims finite components and is
// not zero (cosine similarity is undefined for a zero vector).
func CheckVector(v []float32, dims int) error {
	if len(v) != dims {
		return fmt.Errorf("%w: vector has %d dimensions, the collection %d", ErrDimensionMismatch, len(v), dims)
	}
	var n float64
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("%w: vector has a non-finite component", ErrInvalid)
		}
		n += float64(x) * float64(x)
	}
	if n == 0 {
		return fmt.Errorf("%w: zero vector (cosine similarity is undefined)", ErrInvalid)
	}
	return nil
}

// CheckK returns an ErrInvalid error unless 1 <= k <= MaxK.
func CheckK(k int) error {
	if k < 1 || k > MaxK {
		return fmt.Errorf("%w: k = %d: want 1 to %d", ErrInvalid, k, MaxK)
	}
	return nil
}

// PrepareRecords checks recs against the collection's dimension and returns
// them with duplicate IDs removed, the last of each ID kept, in the order of
// the kept records.
func PrepareRecords(recs []Record, dims int) ([]Record, error) {
	last := make(map[string]int, len(recs))
	for i, r := range recs {
		if r.ID == "" {
			return nil, fmt.Errorf("%w: record %d has an empty ID", ErrInvalid, i)
		}
		if err := CheckVector(r.Vector, dims); err != nil {
			return nil, fmt.Errorf("record %q: %w", r.ID, err)
		}
		last[r.ID] = i
	}
	if len(last) == len(recs) {
		return recs, nil
	}
	out := make([]Record, 0, len(last))
	for i, r := range recs {
		if last[r.ID] == i {
			out = append(out, r)
		}
	}
	return out, nil
}
