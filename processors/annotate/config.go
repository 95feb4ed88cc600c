package annotate

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Config holds the annotate stage's limits and its optional LLM backend.
type Config struct {
	// MaxTextChars caps, in characters (code points), the text annotated:
	// the title, a blank line and the text. Longer text is cut and
	// Annotations.text_capped is set.
	MaxTextChars int `mapstructure:"max_text_chars"`
	// MaxKeywords caps the RAKE keywords kept, the best first.
	MaxKeywords int `mapstructure:"max_keywords"`
	// MaxTopics caps the topics kept, the best first.
	MaxTopics int `mapstructure:"max_topics"`
	// LLM is the optional OpenAI-compatible backend; it is enabled when
	// llm.base_url is set.
	LLM LLMConfig `mapstructure:"llm"`
}

// LLMConfig configures an OpenAI-compatible chat-completions backend
// (OpenAI, Ollama, vLLM, llama.cpp's server): POST {base_url}/chat/completions.
type LLMConfig struct {
	// BaseURL is the API root, such as "http://localhost:11434/v1"; empty
	// disables the backend.
	BaseURL string `mapstructure:"base_url"`
	// Model is the model name sent with every request.
	Model string `mapstructure:"model"`
	// APIKey is sent as "Authorization: Bearer <api_key>" when set.
	APIKey string `mapstructure:"api_key" secret:"true"`
	// Timeout bounds one request, reading the reply included.
	Timeout time.Duration `mapstructure:"timeout"`
	// MaxConcurrency caps the requests in flight across the stage.
	MaxConcurrency int `mapstructure:"max_concurrency"`
	// MaxInputChars caps the characters of text sent in one request.
	MaxInputChars int `mapstructure:"max_input_chars"`
	// PricePer1kPromptTokens and PricePer1kCompletionTokens price the
	// tokens the backend reports in usage, in any currency unit; they feed
	// fairstream_annotate_llm_cost_total. Zero for a local model.
	PricePer1kPromptTokens     float64 `mapstructure:"price_per_1k_prompt_tokens"`
	PricePer1kCompletionTokens float64 `mapstructure:"price_per_1k_completion_tokens"`
}

// Enabled reports whether the backend is configured.
func (c LLMConfig) Enabled() bool { return c.BaseURL != "" }

// DefaultConfig returns 20,000 characters of text, 10 keywords, 5 topics,
// and the LLM backend off, with a 30 s timeout, 4 requests at once and
// 4,000 characters per request once llm.base_url is set.
func DefaultConfig() Config {
	return Config{
		MaxTextChars: 20000,
		MaxKeywords:  10,
		MaxTopics:    5,
		LLM: LLMConfig{
			Timeout:        30 * time.Second,
			MaxConcurrency: 4,
			MaxInputChars:  4000,
		},
	}
}

// Validate reports every field that is out of range, naming each as it is
// spelled in configuration files.
func (c Config) Validate() error {
	var errs []error
	if c.MaxTextChars <= 0 {
		errs = append(errs, fmt.Errorf("max_text_chars: must be > 0, got %d", c.MaxTextChars))
	}
	if c.MaxKeywords < 0 {
		errs = append(errs, fmt.Errorf("max_keywords: must be >= 0, got %d", c.MaxKeywords))
	}
	if c.MaxTopics < 0 {
		errs = append(errs, fmt.Errorf("max_topics: must be >= 0, got %d", c.MaxTopics))
	}
	l := c.LLM
	if l.BaseURL != "" {
		if u, err := url.Parse(l.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("llm.base_url: must be an absolute http(s) URL, got %q", l.BaseURL))
		}
		if l.Model == "" {
			errs = append(errs, errors.New("llm.model: must be set when llm.base_url is"))
		}
	}
	if l.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("llm.timeout: must be > 0, got %s", l.Timeout))
	}
	if l.MaxConcurrency <= 0 {
		errs = append(errs, fmt.Errorf("llm.max_concurrency: must be > 0, got %d", l.MaxConcurrency))
	}
	if l.MaxInputChars <= 0 {
		errs = append(errs, fmt.Errorf("llm.max_input_chars: must be > 0, got %d", l.MaxInputChars))
	}
	if l.PricePer1kPromptTokens < 0 {
		errs = append(errs, fmt.Errorf("llm.price_per_1k_prompt_tokens: must be >= 0, got %g", l.PricePer1kPromptTokens))
	}
	if l.PricePer1kCompletionTokens < 0 {
		errs = append(errs, fmt.Errorf("llm.price_per_1k_completion_tokens: must be >= 0, got %g", l.PricePer1kCompletionTokens))
	}
	return errors.Join(errs...)
}
