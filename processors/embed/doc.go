// Package embed is the "embed" processing stage: it turns annotated
// documents (doc.annotated/v1 on docs.annotated.v1) into vectors in a
// vector store, and records which chunk went where on docs.embedded.v1
// (doc.embedded/v1, keyed by the document ID) for lineage and for the
// validator. [Searcher] answers questions from the store with the same
// model; `fairstream search` and the developer API use it.
//
// # Chunks
//
// [Chunk] cuts a document's text (its title when it has no text) into
// chunks of at most chunk_tokens of the model's tokens (default 128, what
// all-MiniLM-L6-v2 was trained on; it reads at most 256), each sharing
// about overlap_tokens (default 32) with the one before, so that a passage
// cut at a chunk's end is whole in the next. A chunk ends at a word
// boundary when one lies in its last quarter. Transcript segments
// ([Segment], one per speaker turn) are chunked each on its own, never
// across turns, and every chunk carries its segment's speaker and time
// range; other documents are one segment. Every chunk carries the
// document ID, source, worker, language, time and its code-point offsets
// in the text.
//
// Chunk IDs are deterministic ([ChunkID]: the document ID, the chunk's
// position and the SHA-256 of its text), so replaying the log upserts the
// same IDs instead of adding vectors. Before writing a document's chunks
// the stage deletes the document's earlier chunks, so an edited document
// that got shorter leaves none behind.
//
// # Failure
//
// An empty text, or one longer than max_text_chars, is skipped: nothing is
// embedded and the record on docs.embedded.v1 says why (skipped). A
// collection whose dimension differs from the model's is refused by [New],
// before anything is consumed. While the store is unavailable
// (vectors.ErrUnavailable: Milvus down) the stage retries with jittered
// backoff, holding its partition, until the store is back or the stage
// stops; the runner then aborts the batch and commits no offset, so no
// vector is lost. A record the store refuses (vectors.ErrInvalid) is
// permanent and goes to the input's dead-letter topic with the reason.
//
// The models are in processors/embed/model (all-MiniLM-L6-v2 in pure Go,
// or an OpenAI-compatible /v1/embeddings endpoint); the stores in
// processors/embed/vectors (Milvus, and the embedded HNSW index that
// `fairstream dev` uses).
package embed
