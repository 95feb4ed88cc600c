// Package milvus is the vectors.Store on a Milvus server, through the
// official Go client (github.com/milvus-io/milvus/client/v2).
//
// # Collections
//
// A collection per dataset, created idempotently by EnsureCollection:
//
//	chunk_id    VarChar(512), primary key, not auto-generated: the record ID
//	embedding   FloatVector(dims), HNSW index (COSINE by default, or IP)
//	document_id VarChar(512)   source VarChar(64)   worker VarChar(256)
//	speaker     VarChar(256)   language VarChar(32)
//	event_time  Int64 (Unix ms)   span_start, span_end Int32
//	chunk_text  VarChar(65535)
//
// EnsureCollection then builds the index if it is missing and loads the
// collection. An existing collection with another vector dimension, or
// without these fields, is refused, naming what differs.
//
// Writes are Milvus upserts keyed by chunk_id, so a replay of the log leaves
// the same rows. Reads use Strong consistency: a search sees every write that
// returned before it. Filters become Milvus boolean expressions in which every
// value is a quoted string literal (strconv.Quote, which Milvus's parser
// unquotes) or an integer, never spliced text, so a filter value cannot
// change the expression.
//
// # Milvus Lite
//
// The tests and benchmarks run against Milvus Lite (deploy/local/services);
// the store works around its quirks, each harmless on Milvus proper:
// HNSW build parameters are sent both as top-level index params and as a
// JSON "params" entry (Lite reads only the latter); the index keeps its
// default name (Lite drops custom names); a collection is loaded on first use
// by each Store (Lite does not reload collections after a restart), and again
// when a call reports it not loaded. Lite indexes only flushed (sealed) rows
// and searches the rest by brute force; Flush seals them (the benchmark
// calls it after bulk loading; Milvus proper seals on its own).
//
// # Errors
//
// A failure to reach the server, a timeout of the per-call deadline
// (Config.Timeout) and Milvus's retriable errors (not ready, rate limited)
// wrap vectors.ErrUnavailable; a missing collection wraps
// vectors.ErrNotFound; a record Milvus would refuse (a field over its
// length) is caught before the call and wraps vectors.ErrInvalid.
package milvus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/fairstream/fairstream/processors/embed/vectors"
)

// Field names of a collection.
const (
	FieldID         = "chunk_id"
	FieldVector     = "embedding"
	FieldDocumentID = "document_id"
	FieldSource     = "source"
	FieldWorker     = "worker"
	FieldSpeaker    = "speaker"
	FieldLanguage   = "language"
	FieldTime       = "event_time"
	FieldStart      = "span_start"
	FieldEnd        = "span_end"
	FieldText       = "chunk_text"
)

// varchars are the VarChar fields and their maximum lengths in bytes.
var varchars = []struct {
	name string
	max  int
	get  func(*vectors.Record) string
}{
	{FieldID, 512, func(r *vectors.Record) string { return r.ID }},
	{FieldDocumentID, 512, func(r *vectors.Record) string { return r.DocumentID }},
	{FieldSource, 64, func(r *vectors.Record) string { return r.Source }},
	{FieldWorker, 256, func(r *vectors.Record) string { return r.Worker }},
	{FieldSpeaker, 256, func(r *vectors.Record) string { return r.Speaker }},
	{FieldLanguage, 32, func(r *vectors.Record) string { return r.Language }},
	{FieldText, 65535, func(r *vectors.Record) string { return r.Text }},
}

// outputFields are the fields a search returns.
var outputFields = []string{FieldDocumentID, FieldSource, FieldWorker, FieldSpeaker, FieldLanguage, FieldTime, FieldStart, FieldEnd, FieldText}

// HNSWConfig holds the index's parameters.
type HNSWConfig struct {
	M              int `mapstructure:"m"`               // links per node
	EfConstruction int `mapstructure:"ef_construction"` // beam width when building
	Ef             int `mapstructure:"ef"`              // beam width when searching (at least k)
}

// Config configures the Milvus store.
type Config struct {
	Address  string        `mapstructure:"address"` // host:port of Milvus's gRPC API
	Username string        `mapstructure:"username"`
	Password string        `mapstructure:"password" secret:"true"`
	DB       string        `mapstructure:"db"`      // database; "" is Milvus's default
	Metric   string        `mapstructure:"metric"`  // COSINE or IP (IP only for normalised vectors)
	HNSW     HNSWConfig    `mapstructure:"hnsw"`    // index parameters for new collections; Ef for every search
	Timeout  time.Duration `mapstructure:"timeout"` // per call; index builds and loads included
	// Keepalive is the interval of gRPC keepalive pings while calls are in
	// flight. Milvus Lite's (Python) gRPC server answers pings more often
	// than every 5 minutes with GOAWAY "too_many_pings", dropping the
	// connection; the client's own default is 5 s.
	Keepalive time.Duration `mapstructure:"keepalive"`
}

// DefaultConfig returns the defaults: a local Milvus, COSINE, HNSW M 16,
// efConstruction 200, ef 128, 60 s per call, keepalive pings every 5 min.
func DefaultConfig() Config {
	return Config{
		Address:   "127.0.0.1:19530",
		Metric:    string(entity.COSINE),
		HNSW:      HNSWConfig{M: 16, EfConstruction: 200, Ef: 128},
		Timeout:   60 * time.Second,
		Keepalive: 5 * time.Minute,
	}
}

// Validate reports the first bad key.
func (c Config) Validate() error {
	switch {
	case c.Address == "":
		return errors.New("milvus: address is empty")
	case c.Metric != string(entity.COSINE) && c.Metric != string(entity.IP):
		return fmt.Errorf("milvus: metric = %q: want COSINE or IP", c.Metric)
	case c.HNSW.M < 2 || c.HNSW.M > 2048:
		return fmt.Errorf("milvus: hnsw.m = %d: want 2 to 2048", c.HNSW.M)
	case c.HNSW.EfConstruction < 1 || c.HNSW.EfConstruction > 1<<31-1:
		return fmt.Errorf("milvus: hnsw.ef_construction = %d: want at least 1", c.HNSW.EfConstruction)
	case c.HNSW.Ef < 1 || c.HNSW.Ef > 32768:
		return fmt.Errorf("milvus: hnsw.ef = %d: want 1 to 32768", c.HNSW.Ef)
	case c.Timeout <= 0:
		return fmt.Errorf("milvus: timeout = %v: want more than 0", c.Timeout)
	case c.Keepalive < 10*time.Second:
		return fmt.Errorf("milvus: keepalive = %v: want at least 10s", c.Keepalive)
	case c.Password != "" && c.Username == "":
		return errors.New("milvus: password is set but username is empty")
	}
	return nil
}

// Store is the Milvus vector store. It is safe for concurrent use.
type Store struct {
	cfg Config
	cli *milvusclient.Client
	log *slog.Logger

	mu     sync.Mutex
	loaded map[string]int // collection → dims, for collections this Store has loaded
}

var _ vectors.Store = (*Store)(nil)

// Open connects to Milvus. A server that cannot be reached is an
// ErrUnavailable error.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	cli, err := milvusclient.New(cctx, &milvusclient.ClientConfig{
		Address: cfg.Address, Username: cfg.Username, Password: cfg.Password, DBName: cfg.DB,
		// The client's defaults, with our keepalive (a later option wins).
		DialOptions: append(slices.Clone(milvusclient.DefaultGrpcOpts), grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time: cfg.Keepalive, Timeout: 20 * time.Second,
		})),
	})
	if err != nil {
		return nil, classify(ctx, "connecting to "+cfg.Address, err)
	}
	return &Store{cfg: cfg, cli: cli, log: log, loaded: map[string]int{}}, nil
}

// Config returns the store's configuration (with the password).
func (s *Store) Config() Config { return s.cfg }

// classify wraps err from the call op with the vectors sentinel it means.
func classify(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil { // the caller gave up: not the server's fault
		return fmt.Errorf("milvus: %s: %w", op, err)
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted:
		return fmt.Errorf("milvus: %s: %w: %w", op, vectors.ErrUnavailable, err)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded), merr.IsRetryableErr(err),
		errors.Is(err, merr.ErrServiceNotReady), errors.Is(err, merr.ErrServiceUnavailable),
		errors.Is(err, merr.ErrServiceRateLimit):
		return fmt.Errorf("milvus: %s: %w: %w", op, vectors.ErrUnavailable, err)
	case errors.Is(err, merr.ErrCollectionNotFound), strings.Contains(err.Error(), "collection not found"),
		strings.Contains(err.Error(), "can't find collection"):
		return fmt.Errorf("milvus: %s: %w: %w", op, vectors.ErrNotFound, err)
	}
	return fmt.Errorf("milvus: %s: %w", op, err)
}

// notLoaded reports whether err says the collection is not loaded.
func notLoaded(err error) bool {
	return err != nil && (errors.Is(err, merr.ErrCollectionNotLoaded) || strings.Contains(strings.ToLower(err.Error()), "not loaded"))
}

// call runs fn under the per-call deadline and classifies its error.
func call[T any](ctx context.Context, s *Store, op string, fn func(context.Context) (T, error)) (T, error) {
	cctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	v, err := fn(cctx)
	return v, classify(ctx, op, err)
}

func (s *Store) schema(name string, dims int) *entity.Schema {
	sch := entity.NewSchema().WithName(name).WithDescription("fairstream embedded chunks").
		WithField(entity.NewField().WithName(FieldID).WithDataType(entity.FieldTypeVarChar).
			WithMaxLength(512).WithIsPrimaryKey(true).WithIsAutoID(false)).
		WithField(entity.NewField().WithName(FieldVector).WithDataType(entity.FieldTypeFloatVector).WithDim(int64(dims)))
	for _, v := range varchars[1:] {
		sch.WithField(entity.NewField().WithName(v.name).WithDataType(entity.FieldTypeVarChar).WithMaxLength(int64(v.max)))
	}
	return sch.
		WithField(entity.NewField().WithName(FieldTime).WithDataType(entity.FieldTypeInt64)).
		WithField(entity.NewField().WithName(FieldStart).WithDataType(entity.FieldTypeInt32)).
		WithField(entity.NewField().WithName(FieldEnd).WithDataType(entity.FieldTypeInt32))
}

// EnsureCollection implements vectors.Store.
func (s *Store) EnsureCollection(ctx context.Context, name string, dims int) error {
	if err := vectors.CheckCollectionName(name); err != nil {
		return err
	}
	if err := vectors.CheckDims(dims); err != nil {
		return err
	}
	has, err := call(ctx, s, "HasCollection "+name, func(ctx context.Context) (bool, error) {
		return s.cli.HasCollection(ctx, milvusclient.NewHasCollectionOption(name))
	})
	if err != nil {
		return err
	}
	if !has {
		_, err := call(ctx, s, "CreateCollection "+name, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, s.cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, s.schema(name, dims)).
				WithConsistencyLevel(entity.ClStrong))
		})
		if err != nil {
			// Another process may have created it meanwhile: describe decides.
			s.log.Warn("creating Milvus collection", "collection", name, "err", err)
		} else {
			s.log.Info("Milvus collection created", "collection", name, "dims", dims)
		}
	}
	got, err := s.describe(ctx, name)
	if err != nil {
		return err
	}
	if got != dims {
		return fmt.Errorf("%w: collection %s has %d dimensions, not %d", vectors.ErrDimensionMismatch, name, got, dims)
	}
	if err := s.ensureIndex(ctx, name); err != nil {
		return err
	}
	return s.load(ctx, name, dims)
}

// describe returns the collection's dimension, checking its schema.
func (s *Store) describe(ctx context.Context, name string) (int, error) {
	coll, err := call(ctx, s, "DescribeCollection "+name, func(ctx context.Context) (*entity.Collection, error) {
		return s.cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption(name))
	})
	if err != nil {
		return 0, err
	}
	want := s.schema(name, 1)
	fields := map[string]*entity.Field{}
	for _, f := range coll.Schema.Fields {
		fields[f.Name] = f
	}
	for _, w := range want.Fields {
		f, ok := fields[w.Name]
		if !ok || f.DataType != w.DataType {
			return 0, fmt.Errorf("%w: Milvus collection %s has no %s field of type %v: it was not created by fairstream (fields: %v)",
				vectors.ErrInvalid, name, w.Name, w.DataType, fieldNames(coll.Schema))
		}
	}
	dims, err := fields[FieldVector].GetDim()
	if err != nil {
		return 0, fmt.Errorf("milvus: collection %s: %w", name, err)
	}
	return int(dims), nil
}

func fieldNames(sch *entity.Schema) []string {
	var out []string
	for _, f := range sch.Fields {
		out = append(out, f.Name)
	}
	return out
}

// ensureIndex builds the HNSW index on the vector field unless there is one.
func (s *Store) ensureIndex(ctx context.Context, name string) error {
	_, err := call(ctx, s, "DescribeIndex "+name, func(ctx context.Context) (milvusclient.IndexDescription, error) {
		return s.cli.DescribeIndex(ctx, milvusclient.NewDescribeIndexOption(name, FieldVector))
	})
	if err == nil {
		return nil
	}
	if errors.Is(err, vectors.ErrUnavailable) {
		return err
	}
	h := s.cfg.HNSW
	opt := milvusclient.NewCreateIndexOption(name, FieldVector, index.NewHNSWIndex(entity.MetricType(s.cfg.Metric), h.M, h.EfConstruction))
	// Milvus Lite reads the build parameters only from this JSON entry.
	opt.WithExtraParam("params", fmt.Sprintf(`{"M":%d,"efConstruction":%d}`, h.M, h.EfConstruction))
	_, err = call(ctx, s, "CreateIndex "+name, func(ctx context.Context) (struct{}, error) {
		task, err := s.cli.CreateIndex(ctx, opt)
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, task.Await(ctx)
	})
	return err
}

// load loads the collection and remembers its dimension.
func (s *Store) load(ctx context.Context, name string, dims int) error {
	_, err := call(ctx, s, "LoadCollection "+name, func(ctx context.Context) (struct{}, error) {
		task, err := s.cli.LoadCollection(ctx, milvusclient.NewLoadCollectionOption(name))
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, task.Await(ctx)
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.loaded[name] = dims
	s.mu.Unlock()
	return nil
}

// open returns the collection's dimension, loading it on first use.
func (s *Store) open(ctx context.Context, name string) (int, error) {
	if err := vectors.CheckCollectionName(name); err != nil {
		return 0, err
	}
	s.mu.Lock()
	dims, ok := s.loaded[name]
	s.mu.Unlock()
	if ok {
		return dims, nil
	}
	dims, err := s.describe(ctx, name)
	if err != nil {
		return 0, err
	}
	if err := s.ensureIndex(ctx, name); err != nil {
		return 0, err
	}
	return dims, s.load(ctx, name, dims)
}

// retry runs fn on the opened collection, and once more after reloading it
// when Milvus reports it not loaded (Milvus Lite after a restart).
func (s *Store) retry(ctx context.Context, name string, fn func(dims int) error) error {
	dims, err := s.open(ctx, name)
	if err != nil {
		return err
	}
	err = fn(dims)
	if !notLoaded(err) {
		return err
	}
	s.mu.Lock()
	delete(s.loaded, name)
	s.mu.Unlock()
	if dims, err = s.open(ctx, name); err != nil {
		return err
	}
	return fn(dims)
}

// Upsert implements vectors.Store.
func (s *Store) Upsert(ctx context.Context, collection string, recs []vectors.Record) error {
	return s.retry(ctx, collection, func(dims int) error {
		recs, err := vectors.PrepareRecords(recs, dims)
		if err != nil || len(recs) == 0 {
			return err
		}
		cols := make([][]string, len(varchars))
		times := make([]int64, len(recs))
		starts := make([]int32, len(recs))
		ends := make([]int32, len(recs))
		vecs := make([][]float32, len(recs))
		for i := range recs {
			r := &recs[i]
			for j, v := range varchars {
				x := v.get(r)
				if len(x) > v.max {
					return fmt.Errorf("%w: record %q: %s is %d bytes, over Milvus's limit of %d", vectors.ErrInvalid, r.ID, v.name, len(x), v.max)
				}
				cols[j] = append(cols[j], x)
			}
			times[i], starts[i], ends[i], vecs[i] = r.Time, r.Start, r.End, r.Vector
		}
		opt := milvusclient.NewColumnBasedInsertOption(collection).
			WithFloatVectorColumn(FieldVector, dims, vecs).
			WithInt64Column(FieldTime, times).
			WithInt32Column(FieldStart, starts).
			WithInt32Column(FieldEnd, ends)
		for j, v := range varchars {
			opt.WithVarcharColumn(v.name, cols[j])
		}
		_, err = call(ctx, s, fmt.Sprintf("Upsert %d records into %s", len(recs), collection), func(ctx context.Context) (milvusclient.UpsertResult, error) {
			return s.cli.Upsert(ctx, opt)
		})
		return err
	})
}

// Delete implements vectors.Store.
func (s *Store) Delete(ctx context.Context, collection string, ids []string) error {
	return s.retry(ctx, collection, func(int) error {
		if len(ids) == 0 {
			return nil
		}
		_, err := call(ctx, s, fmt.Sprintf("Delete %d IDs from %s", len(ids), collection), func(ctx context.Context) (milvusclient.DeleteResult, error) {
			return s.cli.Delete(ctx, milvusclient.NewDeleteOption(collection).WithStringIDs(FieldID, ids))
		})
		return err
	})
}

// DeleteByDocument implements vectors.Store.
func (s *Store) DeleteByDocument(ctx context.Context, collection, documentID string) error {
	return s.retry(ctx, collection, func(int) error {
		expr := FieldDocumentID + " == " + strconv.Quote(documentID)
		_, err := call(ctx, s, "Delete "+expr+" from "+collection, func(ctx context.Context) (milvusclient.DeleteResult, error) {
			return s.cli.Delete(ctx, milvusclient.NewDeleteOption(collection).WithExpr(expr))
		})
		return err
	})
}

// Expr returns f as a Milvus boolean expression ("" for the zero filter).
// String values are Go-quoted literals, which Milvus's parser unquotes the
// same way, so no value can break out of its literal.
func Expr(f vectors.Filter) string {
	var terms []string
	fields := map[string]string{
		"source": FieldSource, "worker": FieldWorker, "speaker": FieldSpeaker,
		"language": FieldLanguage, "document_id": FieldDocumentID,
	}
	for _, kv := range f.Equalities() {
		terms = append(terms, fields[kv[0]]+" == "+strconv.Quote(kv[1]))
	}
	if f.HasFrom {
		terms = append(terms, FieldTime+" >= "+strconv.FormatInt(f.From, 10))
	}
	if f.HasTo {
		terms = append(terms, FieldTime+" < "+strconv.FormatInt(f.To, 10))
	}
	return strings.Join(terms, " and ")
}

// Search implements vectors.Store.
func (s *Store) Search(ctx context.Context, collection string, vector []float32, k int, f vectors.Filter) ([]vectors.Hit, error) {
	if err := vectors.CheckK(k); err != nil {
		return nil, err
	}
	var hits []vectors.Hit
	err := s.retry(ctx, collection, func(dims int) error {
		if err := vectors.CheckVector(vector, dims); err != nil {
			return err
		}
		if f.Empty() {
			hits = []vectors.Hit{}
			return nil
		}
		opt := milvusclient.NewSearchOption(collection, k, []entity.Vector{entity.FloatVector(vector)}).
			WithANNSField(FieldVector).
			WithAnnParam(index.NewHNSWAnnParam(max(s.cfg.HNSW.Ef, k))).
			WithOutputFields(outputFields...).
			WithConsistencyLevel(entity.ClStrong)
		if expr := Expr(f); expr != "" {
			opt.WithFilter(expr)
		}
		res, err := call(ctx, s, "Search "+collection, func(ctx context.Context) ([]milvusclient.ResultSet, error) {
			return s.cli.Search(ctx, opt)
		})
		if err != nil {
			return err
		}
		if len(res) != 1 {
			return fmt.Errorf("milvus: Search %s: %d result sets for one query", collection, len(res))
		}
		if res[0].Err != nil {
			return classify(ctx, "Search "+collection, res[0].Err)
		}
		hits, err = readHits(res[0])
		return err
	})
	return hits, err
}

// readHits turns a result set into hits.
func readHits(rs milvusclient.ResultSet) ([]vectors.Hit, error) {
	n := rs.ResultCount
	if rs.IDs != nil {
		n = rs.IDs.Len()
	}
	hits := make([]vectors.Hit, n)
	str := func(name string, i int) (string, error) {
		c := rs.GetColumn(name)
		if c == nil {
			return "", fmt.Errorf("milvus: search result lacks field %s", name)
		}
		return c.GetAsString(i)
	}
	num := func(name string, i int) (int64, error) {
		c := rs.GetColumn(name)
		if c == nil {
			return 0, fmt.Errorf("milvus: search result lacks field %s", name)
		}
		return c.GetAsInt64(i)
	}
	for i := range hits {
		h := &hits[i]
		var err error
		if h.ID, err = rs.IDs.GetAsString(i); err != nil {
			return nil, fmt.Errorf("milvus: search result ID %d: %w", i, err)
		}
		h.Score = rs.Scores[i]
		for _, f := range []struct {
			name string
			dst  *string
		}{
			{FieldDocumentID, &h.DocumentID}, {FieldSource, &h.Source}, {FieldWorker, &h.Worker},
			{FieldSpeaker, &h.Speaker}, {FieldLanguage, &h.Language}, {FieldText, &h.Text},
		} {
			if *f.dst, err = str(f.name, i); err != nil {
				return nil, err
			}
		}
		if h.Time, err = num(FieldTime, i); err != nil {
			return nil, err
		}
		start, err := num(FieldStart, i)
		if err != nil {
			return nil, err
		}
		end, err := num(FieldEnd, i)
		if err != nil {
			return nil, err
		}
		h.Start, h.End = int32(start), int32(end)
	}
	return hits, nil
}

// Count implements vectors.Store.
func (s *Store) Count(ctx context.Context, collection string) (int64, error) {
	var n int64
	err := s.retry(ctx, collection, func(int) error {
		rs, err := call(ctx, s, "count(*) of "+collection, func(ctx context.Context) (milvusclient.ResultSet, error) {
			return s.cli.Query(ctx, milvusclient.NewQueryOption(collection).
				WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
		})
		if err != nil {
			return err
		}
		c := rs.GetColumn("count(*)")
		if c == nil || c.Len() != 1 {
			return fmt.Errorf("milvus: count(*) of %s: no count in the result", collection)
		}
		n, err = c.GetAsInt64(0)
		return err
	})
	return n, err
}

// Flush seals the collection's recent writes into segments, which Milvus
// Lite needs before it searches them through the index (see the package
// comment). It is not needed for correctness.
func (s *Store) Flush(ctx context.Context, collection string) error {
	_, err := call(ctx, s, "Flush "+collection, func(ctx context.Context) (struct{}, error) {
		task, err := s.cli.Flush(ctx, milvusclient.NewFlushOption(collection))
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, task.Await(ctx)
	})
	return err
}

// Reload releases the collection and loads it again, so that Milvus Lite
// builds the index over segments sealed since the last load (see Flush).
func (s *Store) Reload(ctx context.Context, collection string) error {
	dims, err := s.open(ctx, collection)
	if err != nil {
		return err
	}
	_, err = call(ctx, s, "ReleaseCollection "+collection, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, s.cli.ReleaseCollection(ctx, milvusclient.NewReleaseCollectionOption(collection))
	})
	if err != nil {
		return err
	}
	return s.load(ctx, collection, dims)
}

// DropCollection implements vectors.Store.
func (s *Store) DropCollection(ctx context.Context, name string) error {
	if err := vectors.CheckCollectionName(name); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.loaded, name)
	s.mu.Unlock()
	_, err := call(ctx, s, "DropCollection "+name, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, s.cli.DropCollection(ctx, milvusclient.NewDropCollectionOption(name))
	})
	if errors.Is(err, vectors.ErrNotFound) {
		return nil
	}
	return err
}

// Close closes the connection.
func (s *Store) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	return s.cli.Close(ctx)
}
