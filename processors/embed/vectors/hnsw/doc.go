// Package hnsw is the embedded vectors.Store of `fairstream dev`: an
// in-process HNSW index (Malkov & Yashunin, "Efficient and robust approximate
// nearest neighbor search using Hierarchical Navigable Small World graphs",
// 2018) per collection, persisted to a directory.
//
// # Why not a library
//
// github.com/coder/hnsw (v0.6.1, the established pure-Go HNSW) was evaluated
// and not used: its layer search stops at the first expansion that does not
// improve the nearest result (not the paper's termination), which costs
// recall; neighbour lists are maps, sorted on every expansion; it has no
// neighbour-selection heuristic; its Delete repairs neighbourhoods with a
// hard-coded cosine distance; the search beam (EfSearch) is a field of the
// graph, so widening it per query (which filtered search needs) would race
// with other searches; and it has no hook to filter candidates. The graph
// here is the paper's algorithms 1, 2 and 4 (with keepPrunedConnections),
// about 300 lines, on dense int32 node numbers and one flat []float32 of
// L2-normalised vectors; the inner product is gonum's SSE kernel. Distance is
// 1 - cosine; Hit.Score is the cosine.
//
// # Filtered search
//
// A search with a filter first scans the records' scalar fields (no vector
// maths). If at most 2048 records match, or no more than k, they are scored
// exactly: a selective filter is answered without the graph and without
// loss. Otherwise the graph is searched with every node as a waypoint but
// only matching nodes admitted to the result beam (as hnswlib does), and if
// fewer than k pass, the beam ef is widened fourfold until k pass or the beam
// covers the collection, where the search becomes exact.
//
// # Deletes and upserts
//
// Delete tombstones a node: it stays in the graph as a waypoint and out of
// results. Upserting an existing ID with the same vector (a replay) updates
// its fields in place; with a new vector it tombstones the old node and
// inserts a new one. When tombstones exceed a quarter of the nodes (and 64),
// the collection is compacted: the graph is rebuilt from its live nodes,
// under the collection's write lock (it blocks that collection's searches
// for as long as building it anew takes).
//
// # Persistence and durability
//
// Each collection is one file, <dir>/<name>.hnsw: the records, vectors and
// graph links as built, and a CRC-32C; Open loads it without rebuilding. A
// file is written whole to a temporary file, synced, renamed over the old one
// and the directory synced, so a crash leaves the old file or the new one,
// never a mix; a damaged file is refused at Open, naming it.
//
// With FlushInterval 0 (the default) every Upsert, Delete and
// DeleteByDocument writes the collection file before it returns: an
// acknowledged write is durable, so the embed stage, which commits its Kafka
// offset only after the write returns, loses nothing in a crash. The cost is
// a full write of the collection per batch (about 1.6 MB per 1,000 384-dim
// vectors), fine for dev-sized collections. With a FlushInterval, changed
// collections are written in the background at that interval and on Close;
// a crash loses the writes of the last interval even though their offsets
// may be committed. Writes are idempotent upserts keyed by chunk ID, so
// replaying the docs.annotated.v1 log (resetting the embed stage's consumer
// group to the start) restores exactly the same records.
//
// # Concurrency
//
// A Store is safe for concurrent use. Each collection has a read-write lock:
// searches share it, writes take it exclusively; a save holds it for reading.
package hnsw
