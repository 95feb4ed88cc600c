package model

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// Embedder turns texts into vectors, one per text, in order. Every vector
// has Dimensions() values; Name identifies the model (it is recorded with
// the vectors, so a change of model is visible downstream).
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	Dimensions() int
	Name() string
}

// The backends Config.Backend names.
const (
	BackendMiniLM = "minilm"
	BackendOpenAI = "openai"
)

// Config selects and configures the embedding model of the embed stage.
type Config struct {
	// Backend is "minilm" (all-MiniLM-L6-v2 in-process, the default) or
	// "openai" (an OpenAI-compatible POST /v1/embeddings endpoint).
	Backend string `mapstructure:"backend"`
	// ModelDir is the all-MiniLM-L6-v2 folder; empty means DefaultModelDir().
	ModelDir string `mapstructure:"model_dir"`
	// BatchSize is how many texts one forward pass of the in-process model
	// takes.
	BatchSize int `mapstructure:"batch_size"`
	// OpenAI configures the "openai" backend.
	OpenAI OpenAIConfig `mapstructure:"openai"`
}

// OpenAIConfig configures an OpenAI-compatible embeddings endpoint (OpenAI,
// Hugging Face TEI, Ollama, vLLM): POST {base_url}/embeddings.
type OpenAIConfig struct {
	// BaseURL is the API root, such as "https://api.openai.com/v1" or
	// "http://127.0.0.1:8080/v1"; /embeddings is appended.
	BaseURL string `mapstructure:"base_url"`
	// Model is the model name sent with every request.
	Model string `mapstructure:"model"`
	// APIKey is sent as "Authorization: Bearer <api_key>" when set.
	APIKey string `mapstructure:"api_key" secret:"true"`
	// Dimensions is the length every returned vector must have. It is also
	// sent as the request's "dimensions" when SendDimensions is set (for
	// models that can shorten their vectors).
	Dimensions int `mapstructure:"dimensions"`
	// SendDimensions sends "dimensions" in each request; most servers
	// other than OpenAI's reject it, so it is off by default.
	SendDimensions bool `mapstructure:"send_dimensions"`
	// BatchSize caps the texts in one request.
	BatchSize int `mapstructure:"batch_size"`
	// Timeout bounds one request, reading the reply included.
	Timeout time.Duration `mapstructure:"timeout"`
	// MaxRetries is how many times a request that got 429, a 5xx or a
	// transport error is retried, after a jittered exponential backoff
	// (or the server's Retry-After).
	MaxRetries int `mapstructure:"max_retries"`
}

// DefaultConfig is the in-process model from DefaultModelDir() in batches
// of 32; the openai section, unused by default, has batches of 64, a 60 s
// timeout and 5 retries.
func DefaultConfig() Config {
	return Config{
		Backend:   BackendMiniLM,
		BatchSize: 32,
		OpenAI: OpenAIConfig{
			BatchSize:  64,
			Timeout:    60 * time.Second,
			MaxRetries: 5,
		},
	}
}

// DefaultModelDir is ${FAIRSTREAM_CACHE:-$HOME/.cache/fairstream}/models/all-MiniLM-L6-v2,
// where deploy/local/fetch-model installs the model.
func DefaultModelDir() string {
	cache := os.Getenv("FAIRSTREAM_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = "."
		}
		cache = filepath.Join(home, ".cache", "fairstream")
	}
	return filepath.Join(cache, "models", MiniLMName)
}

// Validate reports every field that is out of range, naming each as it is
// spelled in configuration files.
func (c Config) Validate() error {
	var errs []error
	switch c.Backend {
	case BackendMiniLM:
		if c.BatchSize <= 0 {
			errs = append(errs, fmt.Errorf("batch_size: must be > 0, got %d", c.BatchSize))
		}
	case BackendOpenAI:
		errs = append(errs, c.OpenAI.validate()...)
	default:
		errs = append(errs, fmt.Errorf("backend: must be %q or %q, got %q", BackendMiniLM, BackendOpenAI, c.Backend))
	}
	return errors.Join(errs...)
}

func (c OpenAIConfig) validate() []error {
	var errs []error
	if c.BaseURL == "" {
		errs = append(errs, errors.New("openai.base_url: must be set when backend is \"openai\""))
	} else if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("openai.base_url: want an http(s) URL such as http://127.0.0.1:8080/v1, got %q", c.BaseURL))
	}
	if c.Model == "" {
		errs = append(errs, errors.New("openai.model: must be set when backend is \"openai\""))
	}
	if c.Dimensions <= 0 {
		errs = append(errs, fmt.Errorf("openai.dimensions: must be > 0 (the length of the model's vectors), got %d", c.Dimensions))
	}
	if c.BatchSize <= 0 {
		errs = append(errs, fmt.Errorf("openai.batch_size: must be > 0, got %d", c.BatchSize))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("openai.timeout: must be > 0, got %s", c.Timeout))
	}
	if c.MaxRetries < 0 {
		errs = append(errs, fmt.Errorf("openai.max_retries: must be >= 0, got %d", c.MaxRetries))
	}
	return errs
}

// New checks cfg and returns its embedder: the in-process model loaded
// from model_dir, or an OpenAI-compatible client.
func New(cfg Config) (Embedder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Backend == BackendOpenAI {
		return NewOpenAI(cfg.OpenAI)
	}
	return Load(cfg.ModelDir, WithBatchSize(cfg.BatchSize))
}
