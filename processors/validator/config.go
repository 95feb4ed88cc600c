package validator

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ScoringVersion names the scoring function below; it is written into every
// window, and changes whenever the formula or its meaning changes.
const ScoringVersion = "validator/v1"

// Config tunes the scorer. Durations are on event time.
type Config struct {
	// ValidatorID names this validator in the windows it emits.
	ValidatorID string `mapstructure:"validator_id"`
	// Seed is the validator's secret. Sampling is keyed by it, so a
	// worker cannot tell which of its records will be re-fetched. Keep it
	// out of logs; two validators with the same seed sample alike.
	Seed string `mapstructure:"seed" secret:"true"`

	// Window is the length of the tumbling windows, aligned on the Unix
	// epoch.
	Window time.Duration `mapstructure:"window"`
	// AllowedLateness is how long after a window closes (watermark past its
	// end) late events and verifications still amend it, re-emitting it with
	// revision+1. Later events are counted in LateDropped and not scored.
	AllowedLateness time.Duration `mapstructure:"allowed_lateness"`
	// MaxClockSkew is how far an event's time may lie after its ingestion
	// time; an event from further in the future is invalid.
	MaxClockSkew time.Duration `mapstructure:"max_clock_skew"`

	// SampleRate is the fraction of each worker's valid records the
	// validator re-fetches and compares.
	SampleRate float64 `mapstructure:"sample_rate"`

	// FreshnessHalfLife is the age (ingestion time minus source time) at
	// which a unique record is worth half as much as a brand-new one.
	FreshnessHalfLife time.Duration `mapstructure:"freshness_half_life"`

	// CredibilityAlpha is the weight of a window's verification pass rate
	// in the credibility EMA.
	CredibilityAlpha float64 `mapstructure:"credibility_alpha"`
	// CredibilityExponent is κ in utility = credibility^κ × base.
	CredibilityExponent float64 `mapstructure:"credibility_exponent"`
	// InitialCredibility is a worker's credibility before any of its
	// records has been verified or found to mismatch.
	InitialCredibility float64 `mapstructure:"initial_credibility"`

	// NearDuplicateBands and NearDuplicateRows shape the MinHash LSH: a
	// signature of bands×rows MinHashes over the word and bigram shingles,
	// cut into bands of rows; a record sharing any band with an earlier one
	// is a near-duplicate. With Jaccard similarity J the chance of that is
	// 1−(1−J^rows)^bands: for 10×5, 99.99% at J=0.9, 98% at 0.8, 27% at
	// 0.5, 2.4% at 0.3.
	NearDuplicateBands int `mapstructure:"near_duplicate_bands"`
	NearDuplicateRows  int `mapstructure:"near_duplicate_rows"`
	// NearDuplicateMinTokens: texts with fewer normalised words are
	// deduplicated exactly only (the shingles of a few words are noise).
	NearDuplicateMinTokens int `mapstructure:"near_duplicate_min_tokens"`
	// DedupHorizon is how far back in event time the duplicate index
	// remembers records; DedupMaxEntries caps its size whatever the rate.
	// An older copy counts as unique again, and freshness makes it worth
	// next to nothing. The index takes about 264 bytes per record, up to
	// a table sized for dedup_max_entries (256 MiB for the default 1M):
	// size it to the ingest rate times the horizon wanted.
	DedupHorizon    time.Duration `mapstructure:"dedup_horizon"`
	DedupMaxEntries int           `mapstructure:"dedup_max_entries"`

	// Weights of the utility terms.
	WeightRecord     float64 `mapstructure:"weight_record"`
	WeightJob        float64 `mapstructure:"weight_job"`
	WeightProcessing float64 `mapstructure:"weight_processing"`
	// JobLatencyHalfLife is the job latency at which a fulfilled job is
	// worth half of WeightJob.
	JobLatencyHalfLife time.Duration `mapstructure:"job_latency_half_life"`
	// JobHorizon is how long the scorer remembers a job (from jobs.v1) to
	// match its completion.
	JobHorizon time.Duration `mapstructure:"job_horizon"`

	// What follows runs the scorer on the bus (Processor); the scorer
	// itself ignores it.

	// Inputs are the topics scored: the raw topics and the jobs. The
	// validator's own verdicts (scores.verifications.v1) are always read.
	Inputs []string `mapstructure:"inputs"`
	// MergeHold: the inputs are merged in timestamp order; a partition
	// with nothing left to read is taken to hold nothing older than now
	// minus merge_hold. It must exceed how long a producer's transaction
	// can keep its records invisible, or a live run scores slightly
	// differently from a replay of the same log.
	MergeHold time.Duration `mapstructure:"merge_hold"`
	// MaxBuffered pauses fetching a partition that is this many records
	// ahead of the merge.
	MaxBuffered int `mapstructure:"max_buffered"`
	// CommitInterval is how often outputs are committed (one Kafka
	// transaction with the checkpoint).
	CommitInterval time.Duration `mapstructure:"commit_interval"`
	// TickInterval: while the inputs are quiet, the watermark follows the
	// wall clock (less merge_hold) in steps of this length, each a tick
	// written to scores.ticks.v1 and read back.
	TickInterval time.Duration `mapstructure:"tick_interval"`
	// RefetchWorkers re-fetch sampled records concurrently, each within
	// RefetchTimeout; RefetchQueue bounds the samples waiting. A sample
	// that finds the queue full is unverifiable (a validator fault, which
	// costs the worker nothing).
	RefetchWorkers int           `mapstructure:"refetch_workers"`
	RefetchTimeout time.Duration `mapstructure:"refetch_timeout"`
	RefetchQueue   int           `mapstructure:"refetch_queue"`
}

// DefaultInputs are the topics a validator scores by default.
func DefaultInputs() []string {
	return []string{"raw.twitter.v1", "raw.web.v1", "raw.discord.v1", "raw.telegram.v1", "raw.podcast.v1", "jobs.v1", "jobs.status.v1"}
}

// DefaultConfig returns the defaults: 10-minute windows, 10 minutes of
// lateness, 1% sampling, a 1-hour freshness half-life, credibility EMA α
// 0.15 with exponent 2.5, MinHash LSH of 10 bands of 5 rows.
func DefaultConfig() Config {
	return Config{
		ValidatorID:            "validator",
		Window:                 10 * time.Minute,
		AllowedLateness:        10 * time.Minute,
		MaxClockSkew:           5 * time.Minute,
		SampleRate:             0.01,
		FreshnessHalfLife:      time.Hour,
		CredibilityAlpha:       0.15,
		CredibilityExponent:    2.5,
		InitialCredibility:     0,
		NearDuplicateBands:     10,
		NearDuplicateRows:      5,
		NearDuplicateMinTokens: 4,
		DedupHorizon:           24 * time.Hour,
		DedupMaxEntries:        1_000_000,
		WeightRecord:           1,
		WeightJob:              5,
		WeightProcessing:       1,
		JobLatencyHalfLife:     10 * time.Minute,
		JobHorizon:             24 * time.Hour,
		Inputs:                 DefaultInputs(),
		MergeHold:              5 * time.Second,
		MaxBuffered:            10_000,
		CommitInterval:         200 * time.Millisecond,
		TickInterval:           time.Second,
		RefetchWorkers:         4,
		RefetchTimeout:         30 * time.Second,
		RefetchQueue:           1024,
	}
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// Validate reports invalid settings, naming their keys.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, args...)...))
	}
	if c.ValidatorID == "" {
		bad("validator_id", "must be set")
	}
	if c.Window <= 0 || c.Window%time.Second != 0 {
		bad("window", "must be a positive whole number of seconds, got %s", c.Window)
	}
	if c.AllowedLateness < 0 {
		bad("allowed_lateness", "must be >= 0, got %s", c.AllowedLateness)
	}
	if c.MaxClockSkew < 0 {
		bad("max_clock_skew", "must be >= 0, got %s", c.MaxClockSkew)
	}
	if !(c.SampleRate >= 0 && c.SampleRate <= 1) {
		bad("sample_rate", "must be in [0, 1], got %v", c.SampleRate)
	}
	if c.FreshnessHalfLife <= 0 {
		bad("freshness_half_life", "must be > 0, got %s", c.FreshnessHalfLife)
	}
	if !(c.CredibilityAlpha > 0 && c.CredibilityAlpha <= 1) {
		bad("credibility_alpha", "must be in (0, 1], got %v", c.CredibilityAlpha)
	}
	if !(c.CredibilityExponent > 0) || !finite(c.CredibilityExponent) {
		bad("credibility_exponent", "must be > 0, got %v", c.CredibilityExponent)
	}
	if !(c.InitialCredibility >= 0 && c.InitialCredibility <= 1) {
		bad("initial_credibility", "must be in [0, 1], got %v", c.InitialCredibility)
	}
	if c.NearDuplicateBands < 1 || c.NearDuplicateBands > 64 {
		bad("near_duplicate_bands", "must be in [1, 64], got %d", c.NearDuplicateBands)
	}
	if c.NearDuplicateRows < 1 || c.NearDuplicateRows > 16 {
		bad("near_duplicate_rows", "must be in [1, 16], got %d", c.NearDuplicateRows)
	}
	if c.NearDuplicateMinTokens < 1 {
		bad("near_duplicate_min_tokens", "must be >= 1, got %d", c.NearDuplicateMinTokens)
	}
	if c.DedupHorizon <= 0 {
		bad("dedup_horizon", "must be > 0, got %s", c.DedupHorizon)
	}
	if c.DedupMaxEntries < dedupGenerations {
		bad("dedup_max_entries", "must be >= %d, got %d", dedupGenerations, c.DedupMaxEntries)
	}
	for _, w := range []struct {
		key string
		v   float64
	}{{"weight_record", c.WeightRecord}, {"weight_job", c.WeightJob}, {"weight_processing", c.WeightProcessing}} {
		if !(w.v >= 0) || !finite(w.v) {
			bad(w.key, "must be a finite number >= 0, got %v", w.v)
		}
	}
	if c.JobLatencyHalfLife <= 0 {
		bad("job_latency_half_life", "must be > 0, got %s", c.JobLatencyHalfLife)
	}
	if c.JobHorizon <= 0 {
		bad("job_horizon", "must be > 0, got %s", c.JobHorizon)
	}
	if len(c.Inputs) == 0 {
		bad("inputs", "must name at least one topic")
	}
	if c.MergeHold < 0 {
		bad("merge_hold", "must be >= 0, got %s", c.MergeHold)
	}
	if c.MaxBuffered < 1 {
		bad("max_buffered", "must be >= 1, got %d", c.MaxBuffered)
	}
	if c.CommitInterval <= 0 {
		bad("commit_interval", "must be > 0, got %s", c.CommitInterval)
	}
	if c.TickInterval <= 0 {
		bad("tick_interval", "must be > 0, got %s", c.TickInterval)
	}
	if c.RefetchWorkers < 1 {
		bad("refetch_workers", "must be >= 1, got %d", c.RefetchWorkers)
	}
	if c.RefetchTimeout <= 0 {
		bad("refetch_timeout", "must be > 0, got %s", c.RefetchTimeout)
	}
	if c.RefetchQueue < 1 {
		bad("refetch_queue", "must be >= 1, got %d", c.RefetchQueue)
	}
	return errors.Join(errs...)
}
