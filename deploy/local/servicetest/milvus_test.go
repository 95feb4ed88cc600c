package servicetest

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/fairstream/fairstream/internal/testenv"
)

// milvusCallTimeout bounds every single call to Milvus; Milvus Lite answers
// in milliseconds, index builds and loads on a few rows included.
const milvusCallTimeout = 30 * time.Second

// The collection mirrors what the embed stage will write: one row per chunk,
// keyed by its chunk ID, with the envelope's source, worker and event time as
// scalar fields to filter on.
const (
	milvusDim      = 8
	fieldChunkID   = "chunk_id"
	fieldEmbedding = "embedding"
	fieldSource    = "source"
	fieldWorker    = "worker"
	fieldEventTime = "event_time"
)

// milvusRow is one chunk as the test writes it.
type milvusRow struct {
	chunkID   string
	source    string
	worker    string
	eventTime int64 // Unix milliseconds
	vec       []float32
}

// milvusVector returns a unit vector of milvusDim dimensions pointing
// mostly along axis i%milvusDim, distinct for every i.
func milvusVector(i int) []float32 {
	v := make([]float32, milvusDim)
	for d := range v {
		v[d] = float32(math.Sin(float64(i*milvusDim+d+1))) * 0.1
	}
	v[i%milvusDim] += 1
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	for d := range v {
		v[d] = float32(float64(v[d]) / math.Sqrt(n))
	}
	return v
}

// milvusRows returns n chunks: sources alternate web/twitter, workers cycle
// w0..w3, event times are a minute apart.
func milvusRows(n int, base time.Time) []milvusRow {
	rows := make([]milvusRow, n)
	for i := range rows {
		rows[i] = milvusRow{
			chunkID:   fmt.Sprintf("chunk-%03d", i),
			source:    []string{"web", "twitter"}[i%2],
			worker:    fmt.Sprintf("w%d", i%4),
			eventTime: base.Add(time.Duration(i) * time.Minute).UnixMilli(),
			vec:       milvusVector(i),
		}
	}
	return rows
}

// milvusWrite is what the client's column-based option is: an insert and
// an upsert.
type milvusWrite interface {
	milvusclient.InsertOption
	milvusclient.UpsertOption
}

// milvusColumns turns rows into the column-based insert (or upsert) option.
func milvusColumns(collection string, rows []milvusRow) milvusWrite {
	var ids, sources, workers []string
	var times []int64
	var vecs [][]float32
	for _, r := range rows {
		ids = append(ids, r.chunkID)
		sources = append(sources, r.source)
		workers = append(workers, r.worker)
		times = append(times, r.eventTime)
		vecs = append(vecs, r.vec)
	}
	return milvusclient.NewColumnBasedInsertOption(collection).
		WithVarcharColumn(fieldChunkID, ids).
		WithVarcharColumn(fieldSource, sources).
		WithVarcharColumn(fieldWorker, workers).
		WithInt64Column(fieldEventTime, times).
		WithFloatVectorColumn(fieldEmbedding, milvusDim, vecs)
}

// milvusCall runs one call to Milvus under its own deadline.
func milvusCall[T any](t *testing.T, call func(context.Context) (T, error)) (T, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), milvusCallTimeout)
	defer cancel()
	return call(ctx)
}

// milvusMust fails the test when err is not nil. what names the Milvus call
// and why fairstream needs it, so that a gap in Milvus Lite is reported
// precisely: an UNIMPLEMENTED status says the RPC does not exist there.
func milvusMust(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if status.Code(err) == codes.Unimplemented {
		t.Fatalf("Milvus at this address does not implement %s (gRPC UNIMPLEMENTED): %v", what, err)
	}
	t.Fatalf("%s: %v", what, err)
}

// stringsOf reads a varchar column.
func stringsOf(t *testing.T, c column.Column) []string {
	t.Helper()
	if c == nil {
		t.Fatal("a column the call should have returned is missing")
	}
	out := make([]string, c.Len())
	for i := range out {
		s, err := c.GetAsString(i)
		if err != nil {
			t.Fatalf("column %s row %d: %v", c.Name(), i, err)
		}
		out[i] = s
	}
	return out
}

// TestMilvusLite proves that the Go client (github.com/milvus-io/milvus/client/v2)
// does against Milvus Lite everything the embed stage will need: a collection
// keyed by chunk ID, inserts, an HNSW index, filtered top-k search, queries by
// filter, upserts by chunk ID, and deletes by ID and by filter.
func TestMilvusLite(t *testing.T) {
	addr := testenv.Require(t, "milvus", "FAIRSTREAM_MILVUS_ADDR")

	cli, err := milvusCall(t, func(ctx context.Context) (*milvusclient.Client, error) {
		return milvusclient.New(ctx, &milvusclient.ClientConfig{Address: addr})
	})
	milvusMust(t, "Connect to "+addr, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), milvusCallTimeout)
		defer cancel()
		if err := cli.Close(ctx); err != nil {
			t.Errorf("closing the Milvus client: %v", err)
		}
	})

	version, err := milvusCall(t, func(ctx context.Context) (string, error) {
		return cli.GetServerVersion(ctx, milvusclient.NewGetServerVersionOption())
	})
	milvusMust(t, "GetVersion", err)
	t.Logf("Milvus at %s reports version %q", addr, version)

	// A unique name: tests run concurrently, and a collection left by a
	// crashed run must not collide.
	name := fmt.Sprintf("fairstream_test_%d", time.Now().UnixNano())
	schema := entity.NewSchema().WithName(name).WithDescription("fairstream servicetest: embedded chunks").
		WithField(entity.NewField().WithName(fieldChunkID).WithDataType(entity.FieldTypeVarChar).
			WithMaxLength(64).WithIsPrimaryKey(true).WithIsAutoID(false)).
		WithField(entity.NewField().WithName(fieldEmbedding).WithDataType(entity.FieldTypeFloatVector).WithDim(milvusDim)).
		WithField(entity.NewField().WithName(fieldSource).WithDataType(entity.FieldTypeVarChar).WithMaxLength(32)).
		WithField(entity.NewField().WithName(fieldWorker).WithDataType(entity.FieldTypeVarChar).WithMaxLength(128)).
		WithField(entity.NewField().WithName(fieldEventTime).WithDataType(entity.FieldTypeInt64))

	_, err = milvusCall(t, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema).
			WithConsistencyLevel(entity.ClStrong))
	})
	milvusMust(t, "CreateCollection (varchar chunk_id primary key, 8-dim float vector, scalar fields)", err)
	dropped := false
	t.Cleanup(func() {
		if dropped {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), milvusCallTimeout)
		defer cancel()
		if err := cli.DropCollection(ctx, milvusclient.NewDropCollectionOption(name)); err != nil {
			t.Errorf("dropping collection %s: %v", name, err)
		}
	})

	coll, err := milvusCall(t, func(ctx context.Context) (*entity.Collection, error) {
		return cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption(name))
	})
	milvusMust(t, "DescribeCollection", err)
	if got := coll.Schema.PKFieldName(); got != fieldChunkID {
		t.Fatalf("DescribeCollection: primary key is %q, want %q", got, fieldChunkID)
	}
	if len(coll.Schema.Fields) != 5 {
		t.Fatalf("DescribeCollection: %d fields, want 5: %+v", len(coll.Schema.Fields), coll.Schema.Fields)
	}

	base := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	rows := milvusRows(20, base)
	ins, err := milvusCall(t, func(ctx context.Context) (milvusclient.InsertResult, error) {
		return cli.Insert(ctx, milvusColumns(name, rows))
	})
	milvusMust(t, "Insert", err)
	if ins.InsertCount != int64(len(rows)) {
		t.Fatalf("Insert: count %d, want %d", ins.InsertCount, len(rows))
	}
	if got := stringsOf(t, ins.IDs); !slices.Equal(got, chunkIDs(rows)) {
		t.Fatalf("Insert: IDs %v, want %v", got, chunkIDs(rows))
	}

	// Flush seals the inserted rows into a segment. Milvus Lite builds vector
	// indexes per sealed segment when the collection loads and searches
	// rows still in its memtable by brute force, so without the flush the
	// search below would never touch the HNSW index.
	_, err = milvusCall(t, func(ctx context.Context) (struct{}, error) {
		task, err := cli.Flush(ctx, milvusclient.NewFlushOption(name))
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, task.Await(ctx)
	})
	milvusMust(t, "Flush", err)

	// HNSW is what the embed stage wants; Milvus Lite builds it with FAISS.
	//
	// Two Milvus Lite quirks shape this call:
	//   - the Go client sends HNSW's build parameters as top-level index
	//     params (M=16, efConstruction=64), which Milvus proper reads but
	//     Milvus Lite ignores: it reads only a JSON "params" entry (what
	//     pymilvus sends) and otherwise builds with its defaults (M 16,
	//     efConstruction 200), silently. So the parameters go in both forms;
	//     Milvus proper parses a JSON "params" entry as well.
	//   - the index keeps its default name, the field's: Milvus Lite
	//     ignores a custom index name (DescribeIndex reports every index
	//     under its field's name), so the client's CreateIndexTask.Await,
	//     which waits for an index of the requested name, would never return.
	hnsw := milvusclient.NewCreateIndexOption(name, fieldEmbedding, index.NewHNSWIndex(entity.COSINE, 16, 64))
	hnsw.WithExtraParam("params", `{"M":16,"efConstruction":64}`)
	_, err = milvusCall(t, func(ctx context.Context) (struct{}, error) {
		task, err := cli.CreateIndex(ctx, hnsw)
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, task.Await(ctx)
	})
	milvusMust(t, "CreateIndex HNSW (COSINE, M=16, efConstruction=64)", err)
	idx, err := milvusCall(t, func(ctx context.Context) (milvusclient.IndexDescription, error) {
		return cli.DescribeIndex(ctx, milvusclient.NewDescribeIndexOption(name, fieldEmbedding))
	})
	milvusMust(t, "DescribeIndex", err)
	if got := idx.Params()[index.IndexTypeKey]; got != string(index.HNSW) {
		t.Fatalf("DescribeIndex: index type %q, want HNSW (params %v)", got, idx.Params())
	}
	if got := idx.Params()[index.MetricTypeKey]; got != string(entity.COSINE) {
		t.Fatalf("DescribeIndex: metric %q, want COSINE (params %v)", got, idx.Params())
	}
	if got := idx.Params()["params"]; !strings.Contains(got, `"M": 16`) || !strings.Contains(got, `"efConstruction": 64`) {
		t.Fatalf("DescribeIndex: build params %q, want M 16 and efConstruction 64 (params %v)", got, idx.Params())
	}
	if idx.State != index.IndexState(commonpb.IndexState_Finished) {
		t.Fatalf("DescribeIndex: state %v, want finished", idx.State)
	}
	t.Logf("index on %s: params %v", fieldEmbedding, idx.Params())

	_, err = milvusCall(t, func(ctx context.Context) (struct{}, error) {
		task, err := cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, task.Await(ctx)
	})
	milvusMust(t, "LoadCollection", err)
	state, err := milvusCall(t, func(ctx context.Context) (entity.LoadState, error) {
		return cli.GetLoadState(ctx, milvusclient.NewGetLoadStateOption(name))
	})
	milvusMust(t, "GetLoadState", err)
	if state.State != entity.LoadStateLoaded {
		t.Fatalf("GetLoadState: %v, want loaded", state.State)
	}

	// Filtered top-k search: the nearest web chunks to chunk 4's vector.
	// Chunk 4 is a web chunk, so it must come first with a cosine of ~1, and
	// every hit must be from the web.
	hits := milvusSearch(t, cli, name, rows[4].vec, 5, fieldSource+` == "web"`)
	if len(hits.ids) != 5 {
		t.Fatalf("filtered search: %d hits, want 5: %v", len(hits.ids), hits.ids)
	}
	if hits.ids[0] != rows[4].chunkID || hits.scores[0] < 0.999 {
		t.Fatalf("filtered search: first hit %s (score %v), want %s with score ~1", hits.ids[0], hits.scores[0], rows[4].chunkID)
	}
	for i, s := range hits.sources {
		if s != "web" {
			t.Fatalf("filtered search: hit %s has source %q; the filter asked for web only", hits.ids[i], s)
		}
	}
	if !slices.IsSortedFunc(hits.scores, func(a, b float32) int { return -cmpFloat(a, b) }) {
		t.Fatalf("filtered search: COSINE scores not in descending order: %v", hits.scores)
	}
	// A filter on several fields, the way a developer's RAG query scopes it.
	scoped := milvusSearch(t, cli, name, rows[4].vec, 10,
		fmt.Sprintf(`%s == "w1" and %s >= %d`, fieldWorker, fieldEventTime, rows[8].eventTime))
	if want := []string{"chunk-009", "chunk-013", "chunk-017"}; !sameSet(scoped.ids, want) {
		t.Fatalf("search filtered by worker and time: hits %v, want %v", scoped.ids, want)
	}

	// Query by filter, no vector.
	got := milvusQueryIDs(t, cli, name, fmt.Sprintf(`%s == "twitter" and %s < %d`, fieldSource, fieldEventTime, rows[6].eventTime))
	if want := []string{"chunk-001", "chunk-003", "chunk-005"}; !slices.Equal(got, want) {
		t.Fatalf("query by filter: %v, want %v", got, want)
	}

	// Upsert by chunk ID: a replay of the log writes the same chunk again; a
	// changed chunk replaces its row rather than adding one.
	changed := rows[2]
	changed.source = "discord"
	changed.vec = milvusVector(5)
	fresh := milvusRow{chunkID: "chunk-100", source: "telegram", worker: "w9", eventTime: base.UnixMilli(), vec: milvusVector(6)}
	ups, err := milvusCall(t, func(ctx context.Context) (milvusclient.UpsertResult, error) {
		return cli.Upsert(ctx, milvusColumns(name, []milvusRow{changed, fresh}))
	})
	milvusMust(t, "Upsert by chunk ID", err)
	if ups.UpsertCount != 2 {
		t.Fatalf("Upsert: count %d, want 2", ups.UpsertCount)
	}
	if got := milvusQueryIDs(t, cli, name, fieldSource+` == "discord"`); !slices.Equal(got, []string{changed.chunkID}) {
		t.Fatalf("after upsert, discord chunks: %v, want [%s]", got, changed.chunkID)
	}
	if got := milvusQueryIDs(t, cli, name, fieldChunkID+` != ""`); len(got) != len(rows)+1 {
		t.Fatalf("after upserting one existing and one new chunk: %d rows, want %d: %v", len(got), len(rows)+1, got)
	}
	// The upserted vector is the one searched: chunk 2 now sits where chunk 5 is.
	near := milvusSearch(t, cli, name, milvusVector(5), 2, fieldSource+` != "twitter"`)
	if len(near.ids) == 0 || near.ids[0] != changed.chunkID {
		t.Fatalf("search after upsert: hits %v, want %s first (its vector was replaced)", near.ids, changed.chunkID)
	}
	// Get by primary key sees the new values.
	gotRow, err := milvusCall(t, func(ctx context.Context) (milvusclient.ResultSet, error) {
		return cli.Get(ctx, milvusclient.NewQueryOption(name).
			WithIDs(column.NewColumnVarChar(fieldChunkID, []string{changed.chunkID})).
			WithOutputFields(fieldSource, fieldWorker).WithConsistencyLevel(entity.ClStrong))
	})
	milvusMust(t, "Get by chunk ID", err)
	if src := stringsOf(t, gotRow.GetColumn(fieldSource)); !slices.Equal(src, []string{"discord"}) {
		t.Fatalf("Get %s after upsert: source %v, want [discord]", changed.chunkID, src)
	}

	// Delete by chunk IDs, then by filter.
	del, err := milvusCall(t, func(ctx context.Context) (milvusclient.DeleteResult, error) {
		return cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithStringIDs(fieldChunkID, []string{"chunk-004", "chunk-100"}))
	})
	milvusMust(t, "Delete by chunk IDs", err)
	t.Logf("delete by IDs: server reports %d deleted", del.DeleteCount)
	del, err = milvusCall(t, func(ctx context.Context) (milvusclient.DeleteResult, error) {
		return cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithExpr(fieldWorker+` == "w3"`))
	})
	milvusMust(t, "Delete by filter", err)
	t.Logf("delete by filter: server reports %d deleted", del.DeleteCount)

	gone := []string{"chunk-004", "chunk-100", "chunk-003", "chunk-007", "chunk-011", "chunk-015", "chunk-019"}
	left := milvusQueryIDs(t, cli, name, fieldChunkID+` != ""`)
	for _, id := range gone {
		if slices.Contains(left, id) {
			t.Fatalf("%s was deleted but a query still returns it: %v", id, left)
		}
	}
	if len(left) != len(rows)+1-len(gone) {
		t.Fatalf("after deleting %d chunks: %d left, want %d: %v", len(gone), len(left), len(rows)+1-len(gone), left)
	}
	again := milvusSearch(t, cli, name, rows[4].vec, 5, fieldSource+` == "web"`)
	if slices.Contains(again.ids, "chunk-004") {
		t.Fatalf("search still returns the deleted chunk-004: %v", again.ids)
	}
	if len(again.ids) != 5 {
		t.Fatalf("search after delete: %d hits, want 5: %v", len(again.ids), again.ids)
	}

	_, err = milvusCall(t, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, cli.DropCollection(ctx, milvusclient.NewDropCollectionOption(name))
	})
	milvusMust(t, "DropCollection", err)
	dropped = true
	has, err := milvusCall(t, func(ctx context.Context) (bool, error) {
		return cli.HasCollection(ctx, milvusclient.NewHasCollectionOption(name))
	})
	milvusMust(t, "HasCollection", err)
	if has {
		t.Fatalf("collection %s still exists after DropCollection", name)
	}
}

// milvusHits is one query vector's search result.
type milvusHits struct {
	ids     []string
	sources []string
	scores  []float32
}

func milvusSearch(t *testing.T, cli *milvusclient.Client, name string, vec []float32, k int, filter string) milvusHits {
	t.Helper()
	res, err := milvusCall(t, func(ctx context.Context) ([]milvusclient.ResultSet, error) {
		return cli.Search(ctx, milvusclient.NewSearchOption(name, k, []entity.Vector{entity.FloatVector(vec)}).
			WithANNSField(fieldEmbedding).
			WithFilter(filter).
			WithAnnParam(index.NewHNSWAnnParam(64)).
			WithOutputFields(fieldSource, fieldWorker, fieldEventTime).
			WithConsistencyLevel(entity.ClStrong))
	})
	milvusMust(t, fmt.Sprintf("Search top-%d with filter %s", k, filter), err)
	if len(res) != 1 {
		t.Fatalf("search: %d result sets for one query vector", len(res))
	}
	if res[0].Err != nil {
		t.Fatalf("search with filter %s: %v", filter, res[0].Err)
	}
	return milvusHits{
		ids:     stringsOf(t, res[0].IDs),
		sources: stringsOf(t, res[0].GetColumn(fieldSource)),
		scores:  res[0].Scores,
	}
}

// milvusQueryIDs returns the chunk IDs matching filter, sorted.
func milvusQueryIDs(t *testing.T, cli *milvusclient.Client, name, filter string) []string {
	t.Helper()
	res, err := milvusCall(t, func(ctx context.Context) (milvusclient.ResultSet, error) {
		return cli.Query(ctx, milvusclient.NewQueryOption(name).
			WithFilter(filter).
			WithOutputFields(fieldChunkID, fieldSource).
			WithLimit(1000).
			WithConsistencyLevel(entity.ClStrong))
	})
	milvusMust(t, "Query with filter "+filter, err)
	ids := stringsOf(t, res.GetColumn(fieldChunkID))
	slices.Sort(ids)
	return ids
}

func chunkIDs(rows []milvusRow) []string {
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.chunkID
	}
	return ids
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func cmpFloat(a, b float32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
