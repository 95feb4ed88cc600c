package hnsw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fairstream/fairstream/processors/embed/vectors"
)

// Config configures the embedded index.
type Config struct {
	// Dir holds one file per collection; "" keeps everything in memory
	// (tests, benchmarks).
	Dir string `mapstructure:"dir"`
	// M is the number of links per node above layer 0 (2M on layer 0).
	M int `mapstructure:"m"`
	// EfConstruction is the beam width when inserting.
	EfConstruction int `mapstructure:"ef_construction"`
	// EfSearch is the beam width when searching (at least k).
	EfSearch int `mapstructure:"ef_search"`
	// FlushInterval is how often changed collections are written to Dir.
	// 0 writes the collection before every Upsert or Delete returns.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
}

// DefaultConfig returns the defaults: 16 links, efConstruction 200, efSearch
// 128 (see docs/benchmarks.md), and a write-through flush.
func DefaultConfig() Config {
	return Config{Dir: "", M: 16, EfConstruction: 200, EfSearch: 128, FlushInterval: 0}
}

// Validate reports the first bad key.
func (c Config) Validate() error {
	switch {
	case c.M < 2 || c.M > 256:
		return fmt.Errorf("hnsw: m = %d: want 2 to 256", c.M)
	case c.EfConstruction < c.M || c.EfConstruction > 4096:
		return fmt.Errorf("hnsw: ef_construction = %d: want m (%d) to 4096", c.EfConstruction, c.M)
	case c.EfSearch < 1 || c.EfSearch > vectors.MaxK:
		return fmt.Errorf("hnsw: ef_search = %d: want 1 to %d", c.EfSearch, vectors.MaxK)
	case c.FlushInterval < 0:
		return fmt.Errorf("hnsw: flush_interval = %v: want 0 (every write) or more", c.FlushInterval)
	}
	return nil
}

// Store is the embedded vector store. It is safe for concurrent use: searches
// of a collection run in parallel; writes to it are serialised.
type Store struct {
	cfg Config
	log *slog.Logger

	mu     sync.RWMutex
	colls  map[string]*collection
	closed bool

	stop chan struct{}
	done chan struct{}
}

var _ vectors.Store = (*Store)(nil)

// Open loads every collection under cfg.Dir (creating the directory) and,
// with a FlushInterval, starts the background flusher.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{cfg: cfg, log: log, colls: map[string]*collection{}}
	if cfg.Dir != "" {
		if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("hnsw: %w", err)
		}
		files, err := filepath.Glob(filepath.Join(cfg.Dir, "*"+suffix))
		if err != nil {
			return nil, fmt.Errorf("hnsw: %w", err)
		}
		for _, f := range files {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			name := strings.TrimSuffix(filepath.Base(f), suffix)
			if vectors.CheckCollectionName(name) != nil {
				continue
			}
			start := time.Now()
			c, err := load(f, name)
			if err != nil {
				return nil, fmt.Errorf("hnsw: loading collection %s: %w", name, err)
			}
			s.colls[name] = c
			log.Info("vector collection loaded", "collection", name, "records", len(c.byID), "file", f, "took", time.Since(start))
		}
	}
	if cfg.Dir != "" && cfg.FlushInterval > 0 {
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.flusher()
	}
	return s, nil
}

// Config returns the store's configuration.
func (s *Store) Config() Config { return s.cfg }

func (s *Store) flusher() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if err := s.Flush(context.Background()); err != nil {
				s.log.Error("flushing vector collections", "err", err)
			}
		}
	}
}

// Flush writes every changed collection to Dir.
func (s *Store) Flush(ctx context.Context) error {
	s.mu.RLock()
	colls := make([]*collection, 0, len(s.colls))
	for _, c := range s.colls {
		colls = append(colls, c)
	}
	s.mu.RUnlock()
	var errs []error
	for _, c := range colls {
		if err := ctx.Err(); err != nil {
			return err
		}
		errs = append(errs, s.persist(c))
	}
	return errors.Join(errs...)
}

// persist saves c if it changed since its last save.
func (s *Store) persist(c *collection) error {
	if s.cfg.Dir == "" {
		return nil
	}
	c.saveMu.Lock()
	defer c.saveMu.Unlock()
	c.mu.RLock()
	v := c.version
	if v == c.saved || c.dropped {
		c.mu.RUnlock()
		return nil
	}
	err := c.save(s.cfg.Dir)
	c.mu.RUnlock()
	if err != nil {
		return fmt.Errorf("hnsw: %w", err)
	}
	c.mu.Lock()
	c.saved = v
	c.mu.Unlock()
	return nil
}

// written makes a write durable per FlushInterval.
func (s *Store) written(c *collection) error {
	if s.cfg.FlushInterval > 0 {
		return nil
	}
	return s.persist(c)
}

func (s *Store) get(name string) (*collection, error) {
	if err := vectors.CheckCollectionName(name); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errors.New("hnsw: store closed")
	}
	c, ok := s.colls[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", vectors.ErrNotFound, name)
	}
	return c, nil
}

// EnsureCollection implements vectors.Store.
func (s *Store) EnsureCollection(ctx context.Context, name string, dims int) error {
	if err := vectors.CheckCollectionName(name); err != nil {
		return err
	}
	if err := vectors.CheckDims(dims); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("hnsw: store closed")
	}
	c, ok := s.colls[name]
	if ok {
		s.mu.Unlock()
		if c.dims != dims {
			return fmt.Errorf("%w: collection %s has %d dimensions, not %d", vectors.ErrDimensionMismatch, name, c.dims, dims)
		}
		return nil
	}
	c = newCollection(name, dims, s.cfg)
	c.version = 1
	s.colls[name] = c
	s.mu.Unlock()
	return s.written(c)
}

// Upsert implements vectors.Store.
func (s *Store) Upsert(ctx context.Context, collection string, recs []vectors.Record) error {
	c, err := s.get(collection)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	recs, err = vectors.PrepareRecords(recs, c.dims)
	if err != nil || len(recs) == 0 {
		return err
	}
	c.mu.Lock()
	c.upsert(recs)
	c.maybeCompact(s.cfg)
	c.mu.Unlock()
	return s.written(c)
}

// Delete implements vectors.Store.
func (s *Store) Delete(ctx context.Context, collection string, ids []string) error {
	c, err := s.get(collection)
	if err != nil || len(ids) == 0 {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.deleteIDs(ids)
	c.maybeCompact(s.cfg)
	c.mu.Unlock()
	return s.written(c)
}

// DeleteByDocument implements vectors.Store.
func (s *Store) DeleteByDocument(ctx context.Context, collection, documentID string) error {
	c, err := s.get(collection)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.deleteDocument(documentID)
	c.maybeCompact(s.cfg)
	c.mu.Unlock()
	return s.written(c)
}

// Search implements vectors.Store.
func (s *Store) Search(ctx context.Context, collection string, vector []float32, k int, f vectors.Filter) ([]vectors.Hit, error) {
	c, err := s.get(collection)
	if err != nil {
		return nil, err
	}
	if err := vectors.CheckK(k); err != nil {
		return nil, err
	}
	if err := vectors.CheckVector(vector, c.dims); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.search(vector, k, s.cfg.EfSearch, f), nil
}

// Count implements vectors.Store.
func (s *Store) Count(ctx context.Context, collection string) (int64, error) {
	c, err := s.get(collection)
	if err != nil {
		return 0, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return int64(len(c.byID)), ctx.Err()
}

// DropCollection implements vectors.Store.
func (s *Store) DropCollection(ctx context.Context, name string) error {
	if err := vectors.CheckCollectionName(name); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	c, ok := s.colls[name]
	delete(s.colls, name)
	s.mu.Unlock()
	if !ok || s.cfg.Dir == "" {
		return nil
	}
	c.saveMu.Lock() // no save of it may land after the removal
	defer c.saveMu.Unlock()
	c.mu.Lock()
	c.dropped = true
	c.mu.Unlock()
	if err := os.Remove(filepath.Join(s.cfg.Dir, name+suffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("hnsw: dropping %s: %w", name, err)
	}
	return syncDir(s.cfg.Dir)
}

// Close stops the flusher and writes every changed collection.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	if s.stop != nil {
		close(s.stop)
		<-s.done
	}
	return s.Flush(context.Background())
}
