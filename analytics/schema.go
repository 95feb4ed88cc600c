package analytics

// The project's tables. Each is a ReplacingMergeTree whose sorting key is
// the row's identity in the log and whose version column comes from the
// log too, so that replaying a topic into its table any number of times
// leaves the same rows once merged: read them with FINAL, or with argMax
// over the version column (see docs/analytics.md).
//
// Counts are Int64 because the payloads carry int64; booleans are UInt8;
// amounts of tokens are decimal strings of base units (they exceed
// UInt64, and 18.16 has no UInt256).
const (
	// WorkerUtilityTable holds one row per (worker, window start): the
	// latest revision of each fairstreampb.WorkerWindow from
	// scores.windows.v1.
	WorkerUtilityTable = "worker_utility"
	// ContributionsTable holds one row per contributed record, by event
	// ID: its metadata and what the validator found, never its content.
	ContributionsTable = "contributions"
	// EpochsTable holds one row per reward epoch (the rewards emitter).
	EpochsTable = "epochs"
	// PayoutsTable holds one row per (epoch, worker) paid.
	PayoutsTable = "payouts"
)

const workerUtilityDDL = `CREATE TABLE IF NOT EXISTS worker_utility (
    worker LowCardinality(String),
    window_start DateTime('UTC'),
    window_end DateTime('UTC'),
    revision UInt32,
    records Int64,
    bytes Int64,
    valid_records Int64,
    unique_records Int64,
    exact_duplicates Int64,
    near_duplicates Int64,
    freshness Float64,
    jobs_fulfilled Int64,
    job_latency_seconds Float64,
    processing_accepted Int64,
    sampled Int64,
    verified Int64,
    mismatched Int64,
    unverifiable Int64,
    credibility Float64,
    utility Float64,
    validator LowCardinality(String),
    scoring_version LowCardinality(String),
    event_id String,
    ingested DateTime('UTC')
) ENGINE = ReplacingMergeTree(revision)
PARTITION BY toYYYYMM(window_start)
ORDER BY (worker, window_start)`

const contributionsDDL = `CREATE TABLE IF NOT EXISTS contributions (
    event_id String,
    worker LowCardinality(String),
    source LowCardinality(String),
    event_type LowCardinality(String),
    event_time DateTime('UTC'),
    ingested DateTime('UTC'),
    bytes UInt64,
    content_hash String,
    valid UInt8,
    invalid_reason String,
    is_unique UInt8,
    duplicate Enum8('none' = 0, 'exact' = 1, 'near' = 2),
    duplicate_of String,
    verification Enum8('unsampled' = 0, 'verified' = 1, 'mismatched' = 2, 'unverifiable' = 3),
    window_start DateTime('UTC'),
    revision UInt32
) ENGINE = ReplacingMergeTree(revision)
PARTITION BY toYYYYMM(event_time)
ORDER BY (source, worker, event_id)`

// contributionsSampledDDL adds the value of a sampled record whose verdict
// is pending.
const contributionsSampledDDL = `ALTER TABLE contributions MODIFY COLUMN verification Enum8('unsampled' = 0, 'verified' = 1, 'mismatched' = 2, 'unverifiable' = 3, 'sampled' = 4)`

const epochsDDL = `CREATE TABLE IF NOT EXISTS epochs (
    epoch UInt64,
    start_time DateTime('UTC'),
    end_time DateTime('UTC'),
    merkle_root String,
    tx_hash String,
    status LowCardinality(String),
    total_amount String,
    workers UInt32,
    revision UInt32
) ENGINE = ReplacingMergeTree(revision)
ORDER BY epoch`

const payoutsDDL = `CREATE TABLE IF NOT EXISTS payouts (
    epoch UInt64,
    worker LowCardinality(String),
    address String,
    amount String,
    utility Float64,
    utility_share Float64,
    revision UInt32
) ENGINE = ReplacingMergeTree(revision)
ORDER BY (epoch, worker)`

// WorkerUtilityColumns are worker_utility's columns, in the order
// WindowRow returns their values.
var WorkerUtilityColumns = []string{
	"worker", "window_start", "window_end", "revision",
	"records", "bytes", "valid_records", "unique_records", "exact_duplicates", "near_duplicates",
	"freshness", "jobs_fulfilled", "job_latency_seconds", "processing_accepted",
	"sampled", "verified", "mismatched", "unverifiable",
	"credibility", "utility", "validator", "scoring_version", "event_id", "ingested",
}

// ContributionColumns are contributions' columns, in the order
// Contribution.Row returns their values.
var ContributionColumns = []string{
	"event_id", "worker", "source", "event_type", "event_time", "ingested", "bytes", "content_hash",
	"valid", "invalid_reason", "is_unique", "duplicate", "duplicate_of", "verification", "window_start", "revision",
}

// EpochColumns are epochs' columns.
var EpochColumns = []string{
	"epoch", "start_time", "end_time", "merkle_root", "tx_hash", "status", "total_amount", "workers", "revision",
}

// PayoutColumns are payouts' columns.
var PayoutColumns = []string{"epoch", "worker", "address", "amount", "utility", "utility_share", "revision"}
