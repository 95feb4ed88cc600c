package structure

import (
	"errors"
	"fmt"
)

// Config holds the limits of the structure stage.
type Config struct {
	// MaxTextBytes caps Document.text in bytes. Longer text is cut on a UTF-8
	// boundary and Document.text_truncated is set.
	MaxTextBytes int `mapstructure:"max_text_bytes"`
	// MaxLinks caps the number of links kept per page, in document order.
	MaxLinks int `mapstructure:"max_links"`
	// MaxBodyBytes is the largest body structured; a larger one is
	// unprocessable.
	MaxBodyBytes int `mapstructure:"max_body_bytes"`
}

// DefaultConfig returns the default limits: 1 MiB of text, 1000 links and
// 10 MiB of body.
func DefaultConfig() Config {
	return Config{
		MaxTextBytes: 1 << 20,
		MaxLinks:     1000,
		MaxBodyBytes: 10 << 20,
	}
}

// Validate reports every field that is out of range, naming each as it is
// spelled in configuration files.
func (c Config) Validate() error {
	var errs []error
	if c.MaxTextBytes <= 0 {
		errs = append(errs, fmt.Errorf("max_text_bytes: must be > 0, got %d", c.MaxTextBytes))
	}
	if c.MaxLinks <= 0 {
		errs = append(errs, fmt.Errorf("max_links: must be > 0, got %d", c.MaxLinks))
	}
	if c.MaxBodyBytes <= 0 {
		errs = append(errs, fmt.Errorf("max_body_bytes: must be > 0, got %d", c.MaxBodyBytes))
	}
	return errors.Join(errs...)
}
