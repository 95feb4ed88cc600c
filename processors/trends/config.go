package trends

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config tunes the trends processor. Durations are on event time except
// IdleAdvance, which is wall-clock time.
type Config struct {
	// Source is the Document.source counted ("twitter"); documents of other
	// sources on docs.structured.v1 are ignored.
	Source string `mapstructure:"source"`
	// Window is the length of the ranked window; Slide how far it advances
	// per snapshot. Window must be a multiple of Slide.
	Window time.Duration `mapstructure:"window"`
	Slide  time.Duration `mapstructure:"slide"`
	// Baseline is the length of the longer window before each window whose
	// rate a term's velocity is measured against; it must be longer than
	// Window.
	Baseline time.Duration `mapstructure:"baseline"`
	// AllowedLateness is both how far the watermark trails the newest event
	// time and how far behind the watermark an event may still be counted
	// (re-emitting the windows it amends with revision+1).
	AllowedLateness time.Duration `mapstructure:"allowed_lateness"`
	// TopN is how many terms a snapshot holds.
	TopN int `mapstructure:"top_n"`
	// Capacity is the number of Space-Saving counters per window slice and
	// per baseline bucket: the memory bound, whatever the number of
	// distinct terms.
	Capacity int `mapstructure:"capacity"`
	// SamplesPerTerm is how many sample document IDs a term carries.
	SamplesPerTerm int `mapstructure:"samples_per_term"`
	// MinCount is the least count in the window for a term to be ranked.
	MinCount int64 `mapstructure:"min_count"`
	// Smoothing is α in the velocity (count+α)/(baseline_count+α).
	Smoothing float64 `mapstructure:"smoothing"`
	// IdleAdvance: when no record has arrived for this long (wall clock),
	// the watermark advances with the wall clock from the newest event
	// time, so the last windows of a stream that went quiet are emitted.
	// 0 disables it.
	IdleAdvance time.Duration `mapstructure:"idle_advance"`
	// ReplayMargin widens the replay on start: the input is re-read from
	// the record (ingestion) time of the oldest event time the state needs
	// minus this margin, for events whose event time is after their record
	// time (clock skew between sources and workers).
	ReplayMargin time.Duration `mapstructure:"replay_margin"`
}

// DefaultConfig returns the defaults: a 15-minute window every 30 s
// against a 6-hour baseline, 1 minute of lateness, the top 20 terms.
func DefaultConfig() Config {
	return Config{
		Source:          "twitter",
		Window:          15 * time.Minute,
		Slide:           30 * time.Second,
		Baseline:        6 * time.Hour,
		AllowedLateness: time.Minute,
		TopN:            20,
		Capacity:        2000,
		SamplesPerTerm:  3,
		MinCount:        3,
		Smoothing:       5,
		IdleAdvance:     30 * time.Second,
		ReplayMargin:    15 * time.Minute,
	}
}

// Key is the snapshots' record key, "<source>/<window>" ("twitter/15m0s").
func (c Config) Key() string { return c.Source + "/" + c.Window.String() }

// Topic is where the snapshots go: trends.<source>.v1.
func (c Config) Topic() string { return "trends." + c.Source + ".v1" }

// maxSlices bounds window/slide and baseline/window, so a typo cannot ask
// for millions of slices.
const maxSlices = 100_000

// Validate reports invalid settings, naming their keys.
func (c Config) Validate() error {
	var errs []error
	if c.Source == "" || strings.ContainsAny(c.Source, "/ \t\n") {
		errs = append(errs, fmt.Errorf("source: must be a non-empty name without spaces or slashes, got %q", c.Source))
	}
	if c.Window <= 0 {
		errs = append(errs, fmt.Errorf("window: must be > 0, got %s", c.Window))
	}
	if c.Slide <= 0 {
		errs = append(errs, fmt.Errorf("slide: must be > 0, got %s", c.Slide))
	}
	if c.Window > 0 && c.Slide > 0 {
		if c.Window%c.Slide != 0 {
			errs = append(errs, fmt.Errorf("window, slide: window must be a multiple of slide, got %s and %s", c.Window, c.Slide))
		} else if c.Window/c.Slide > maxSlices {
			errs = append(errs, fmt.Errorf("window, slide: window/slide must be <= %d, got %d", maxSlices, c.Window/c.Slide))
		}
	}
	if c.Baseline <= c.Window {
		errs = append(errs, fmt.Errorf("baseline: must be > window (%s), got %s", c.Window, c.Baseline))
	} else if c.Window > 0 && c.Baseline/c.Window > maxSlices {
		errs = append(errs, fmt.Errorf("baseline: baseline/window must be <= %d, got %d", maxSlices, c.Baseline/c.Window))
	}
	if c.AllowedLateness < 0 {
		errs = append(errs, fmt.Errorf("allowed_lateness: must be >= 0, got %s", c.AllowedLateness))
	}
	if c.TopN <= 0 {
		errs = append(errs, fmt.Errorf("top_n: must be > 0, got %d", c.TopN))
	}
	if c.Capacity < c.TopN {
		errs = append(errs, fmt.Errorf("capacity: must be >= top_n (%d), got %d", c.TopN, c.Capacity))
	}
	if c.SamplesPerTerm < 0 || c.SamplesPerTerm > 100 {
		errs = append(errs, fmt.Errorf("samples_per_term: must be in [0, 100], got %d", c.SamplesPerTerm))
	}
	if c.MinCount < 1 {
		errs = append(errs, fmt.Errorf("min_count: must be >= 1, got %d", c.MinCount))
	}
	if !(c.Smoothing > 0) {
		errs = append(errs, fmt.Errorf("smoothing: must be > 0, got %g", c.Smoothing))
	}
	if c.IdleAdvance < 0 {
		errs = append(errs, fmt.Errorf("idle_advance: must be >= 0 (0 disables it), got %s", c.IdleAdvance))
	}
	if c.ReplayMargin < 0 {
		errs = append(errs, fmt.Errorf("replay_margin: must be >= 0, got %s", c.ReplayMargin))
	}
	return errors.Join(errs...)
}
