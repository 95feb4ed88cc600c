package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fairstream/fairstream/processors/embed"
	"github.com/fairstream/fairstream/processors/embed/model"
	"github.com/fairstream/fairstream/processors/embed/vectors"
	"github.com/fairstream/fairstream/processors/embed/vectors/hnsw"
	"github.com/fairstream/fairstream/processors/embed/vectors/milvus"
	"github.com/fairstream/fairstream/streams"
)

// EmbedConfig is the embed stage's section: chunking and the collection,
// and the model.
type EmbedConfig struct {
	embed.Config `mapstructure:",squash"`
	Model        model.Config `mapstructure:"model"`
}

// VectorsConfig chooses the vector store: the embedded HNSW index (the
// single-machine default) or Milvus.
type VectorsConfig struct {
	Store    string        `mapstructure:"store"`
	Embedded hnsw.Config   `mapstructure:"embedded"`
	Milvus   milvus.Config `mapstructure:"milvus"`
}

// The vector stores.
const (
	storeEmbedded = "embedded"
	storeMilvus   = "milvus"
)

func defaultVectorsConfig() VectorsConfig {
	return VectorsConfig{Store: storeEmbedded, Embedded: hnsw.DefaultConfig(), Milvus: milvus.DefaultConfig()}
}

// Validate reports invalid settings, naming their keys.
func (c VectorsConfig) Validate() error {
	var errs []error
	switch c.Store {
	case storeEmbedded:
		errs = append(errs, streams.PrefixErr("embedded.", c.Embedded.Validate()))
	case storeMilvus:
		if err := c.Milvus.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("milvus.%s", strings.TrimPrefix(err.Error(), "milvus: ")))
		}
	default:
		errs = append(errs, fmt.Errorf("store: must be %q or %q, got %q", storeEmbedded, storeMilvus, c.Store))
	}
	return errors.Join(errs...)
}

// errDisabled marks a processor `fairstream dev` runs without, saying why.
var errDisabled = errors.New("disabled")

// openVectors opens the configured vector store.
func (a *app) openVectors(ctx context.Context) (vectors.Store, error) {
	c := a.cfg.Vectors
	switch c.Store {
	case storeMilvus:
		s, err := milvus.Open(ctx, c.Milvus, a.log)
		if err != nil {
			return nil, fmt.Errorf("vectors: milvus at %s: %w", c.Milvus.Address, err)
		}
		return s, nil
	default:
		hc := c.Embedded
		if hc.Dir == "" {
			hc.Dir = filepath.Join(a.cfg.DataDir, "vectors")
		}
		s, err := hnsw.Open(ctx, hc, a.log)
		if err != nil {
			return nil, fmt.Errorf("vectors: embedded index in %s: %w", hc.Dir, err)
		}
		return s, nil
	}
}

// loadModel loads the configured embedding model and the tokenizer the
// chunker counts with.
func (a *app) loadModel() (embed.Embedder, embed.Tokenizer, error) {
	mc := a.cfg.Processors.Embed.Model
	if mc.Backend == model.BackendMiniLM && mc.ModelDir == "" {
		mc.ModelDir = model.DefaultModelDir()
	}
	emb, err := model.New(mc)
	if err != nil {
		return nil, nil, fmt.Errorf("embedding model: %w", err)
	}
	if m, ok := emb.(*model.MiniLM); ok {
		return emb, miniLMTokens{m}, nil
	}
	return emb, embed.WordTokenizer{}, nil
}

// miniLMTokens gives the chunker the model's own tokens.
type miniLMTokens struct{ m *model.MiniLM }

func (t miniLMTokens) TokenSpans(text string) []embed.Span {
	spans := t.m.TokenSpans(text)
	out := make([]embed.Span, len(spans))
	for i, s := range spans {
		out[i] = embed.Span{Start: s.Start, End: s.End}
	}
	return out
}

// embedComponent is the embed runner and the store it writes, closed
// after it.
type embedComponent struct {
	*streams.Runner
	store vectors.Store
}

func (c embedComponent) Close() {
	c.Runner.Close()
	_ = c.store.Close()
}

func (a *app) buildEmbed() ([]component, error) {
	emb, tok, err := a.loadModel()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errDisabled, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	store, err := a.openVectors(ctx)
	if err != nil {
		return nil, err
	}
	st, err := embed.New(ctx, a.cfg.Processors.Embed.Config, emb, tok, store, a.cfg.Vectors.Store, embed.WithLogger(a.log))
	if err != nil {
		_ = store.Close()
		return nil, err
	}
	r, err := streams.NewRunner(a.cfg.Kafka, a.cfg.Runner, st.Streams(), a.streamOpts()...)
	if err != nil {
		_ = store.Close()
		return nil, fmt.Errorf("%s: %w", embed.Name, err)
	}
	return []component{embedComponent{Runner: r, store: store}}, nil
}

func (a *app) searchCmd() *cobra.Command {
	var (
		collection string
		k          int
		filters    []string
		asJSON     bool
	)
	cmd := &cobra.Command{
		Use:   "search QUERY",
		Short: "Semantic search over the embedded chunks",
		Long: `Embed QUERY with the embed stage's model and print the k nearest chunks of the
collection: score, text, source, speaker, time, document and worker. Filters
(repeatable): source=, worker=, speaker=, language=, document_id=, and
time>=RFC3339 / time<RFC3339. The store is vectors.store: the embedded index
under data_dir/vectors (what fairstream dev writes) or Milvus.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.setup(); err != nil {
				return err
			}
			f, err := vectors.ParseFilter(filters)
			if err != nil {
				return exitError{exitUsage, err}
			}
			if collection == "" {
				collection = a.cfg.Processors.Embed.Collection
			}
			emb, _, err := a.loadModel()
			if err != nil {
				return exitError{exitUsage, err}
			}
			ctx := cmd.Context()
			store, err := a.openVectors(ctx)
			if err != nil {
				return err
			}
			defer store.Close()
			s, err := embed.NewSearcher(emb, store, collection)
			if err != nil {
				return exitError{exitUsage, err}
			}
			res, err := s.Search(ctx, args[0], k, f)
			if err != nil {
				return err
			}
			for i, r := range res {
				if asJSON {
					b, _ := json.Marshal(r)
					fmt.Fprintln(a.stdout, string(b))
					continue
				}
				who := r.Source
				if r.Speaker != "" {
					who += ", " + r.Speaker
				}
				fmt.Fprintf(a.stdout, "%2d. %.3f  %s  (%s, %s)\n    document %s [%d:%d]  worker %s\n", i+1, r.Score, clip(r.Text, 300), who,
					r.Time.Format(time.RFC3339), r.DocumentID, r.Start, r.End, r.Worker)
			}
			if len(res) == 0 && !asJSON {
				fmt.Fprintln(a.stdout, "no results")
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&collection, "collection", "", "collection to search (default processors.embed.collection)")
	fs.IntVar(&k, "k", 10, "number of results")
	fs.StringArrayVar(&filters, "filter", nil, "filter, e.g. source=podcast or time>=2026-01-01T00:00:00Z (repeatable)")
	fs.BoolVar(&asJSON, "json", false, "print one JSON object per result")
	return cmd
}
