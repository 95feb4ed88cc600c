package embed

import (
	"errors"
	"fmt"
	"time"

	"github.com/fairstream/fairstream/processors/embed/vectors"
)

// Config sizes the chunks and names the collection the stage writes.
type Config struct {
	// Collection is the vector store collection (one per dataset).
	Collection string `mapstructure:"collection"`
	// ChunkTokens is the most tokens a chunk holds (the model reads at most
	// 256, and all-MiniLM-L6-v2 was trained on 128); OverlapTokens how many
	// a chunk shares with the one before.
	ChunkTokens   int `mapstructure:"chunk_tokens"`
	OverlapTokens int `mapstructure:"overlap_tokens"`
	// MaxTextChars: a longer text is skipped, with the reason recorded on
	// docs.embedded.v1.
	MaxTextChars int `mapstructure:"max_text_chars"`
	// RetryInitial and RetryMax bound the jittered backoff while the vector
	// store is unavailable; the stage retries until it is back or the
	// stage stops, committing nothing meanwhile.
	RetryInitial time.Duration `mapstructure:"retry_initial"`
	RetryMax     time.Duration `mapstructure:"retry_max"`
}

// DefaultConfig returns the defaults: collection "fairstream", chunks of
// 128 tokens overlapping by 32, texts up to 1,000,000 characters.
func DefaultConfig() Config {
	return Config{Collection: "fairstream", ChunkTokens: 128, OverlapTokens: 32, MaxTextChars: 1_000_000,
		RetryInitial: time.Second, RetryMax: time.Minute}
}

// Validate reports every invalid setting, naming its key.
func (c Config) Validate() error {
	var errs []error
	if err := vectors.CheckCollectionName(c.Collection); err != nil {
		errs = append(errs, fmt.Errorf("collection: %w", err))
	}
	if c.ChunkTokens < 8 || c.ChunkTokens > 254 {
		errs = append(errs, fmt.Errorf("chunk_tokens: must be between 8 and 254 (the model reads 256 with [CLS] and [SEP]), got %d", c.ChunkTokens))
	}
	if c.OverlapTokens < 0 || c.OverlapTokens > c.ChunkTokens/2 {
		errs = append(errs, fmt.Errorf("overlap_tokens: must be between 0 and half of chunk_tokens (%d), got %d", c.ChunkTokens/2, c.OverlapTokens))
	}
	if c.MaxTextChars <= 0 {
		errs = append(errs, fmt.Errorf("max_text_chars: must be > 0, got %d", c.MaxTextChars))
	}
	if c.RetryInitial <= 0 || c.RetryMax < c.RetryInitial {
		errs = append(errs, fmt.Errorf("retry_initial, retry_max: want 0 < retry_initial <= retry_max, got %s and %s", c.RetryInitial, c.RetryMax))
	}
	return errors.Join(errs...)
}
