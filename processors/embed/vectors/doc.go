// Package vectors defines the vector store the embed stage writes chunk
// embeddings to and `fairstream search` reads from, behind one interface with
// two backends:
//
//   - vectors/milvus: a Milvus server through its Go client (production);
//   - vectors/hnsw: an in-process HNSW index persisted to a directory
//     (`fairstream dev`).
//
// Both pass the same conformance suite (vectors/vectorstest); they differ only
// in their constructor.
//
// # Model
//
// A store holds collections, one per dataset. A collection has a fixed
// vector dimension, set when EnsureCollection first creates it, and holds
// Records keyed by ID, the chunk ID the embed stage derives from the log.
// Every write is idempotent on that key: Upsert replaces a record with the
// same ID, so replaying the log leaves the same records (and the same Count),
// and Delete of an absent ID is not an error. Similarity is cosine: Search
// returns Hits best first with Score the cosine similarity in [-1, 1] (1 for
// the stored vector itself). A Filter narrows a search by equality on the
// scalar fields and by a time range; ParseFilter reads it from CLI strings.
//
// # Errors
//
// Errors wrap one of the sentinels below so the caller can decide what to do
// without parsing text: ErrUnavailable is transient (the server cannot be
// reached, or timed out): the stage retries with backoff and commits no
// offset. ErrInvalid (a bad record or argument: wrong dimension, empty ID, a
// field too long) will fail again on retry: the stage dead-letters the input.
// ErrNotFound names a collection that does not exist; ErrDimensionMismatch is
// EnsureCollection meeting an existing collection of another dimension, or a
// vector of the wrong length (it also matches ErrInvalid).
package vectors
