// Package validator scores each worker's contribution per window of event
// time: the validator scoring processor behind scores.windows.v1, whose
// windows (fairstreampb.WorkerWindow) the rewards are paid from.
//
// # The core
//
// Scorer is a pure, deterministic state machine. Add takes every event of
// the contribution topics (raw records signed by workers, job requests and
// job statuses) with its ingestion time; AddVerification takes the
// validator's verdict on a sampled record; Advance moves the watermark and
// returns the windows that closed or changed. The same calls in the same
// order give the same windows, byte for byte (Envelope derives the output
// IDs and times from the window), so replaying the log rebuilds the scores.
//
// Processor runs a Scorer on the bus (fairstream validator run): it merges
// its inputs, its own verdicts and its watermark ticks in one order read
// from the log, so a replay writes byte-identical windows; it re-fetches
// samples through the connectors (FromConnector) and writes windows,
// contributions, verdicts and a checkpoint in Kafka transactions.
//
// # Windows
//
// Tumbling windows of event time per worker (window, 10 minutes, aligned on
// the Unix epoch). A window is emitted once, when the watermark passes its
// end; an event or verdict that arrives within allowed_lateness after that
// amends it, and it is emitted again with revision+1. Later events are
// counted in Stats.LateDropped and not scored — but their content still
// enters the duplicate index: it was published first, and a later copy must
// not take its credit.
//
// # What is measured
//
// For each record: bytes; valid (the signature verifies through
// connectors/identity — batch signatures with their Merkle proofs — the
// payload decodes, and its time is not after its ingestion by more than
// max_clock_skew); unique (first seen across all workers, in log order).
// Uniqueness is decided on the normalised text (Extract, then Normalize:
// lower case, words only): an exact duplicate has the same SHA-256 of it
// (the index compares 56 bits of a keyed hash of it: a false match is
// about 2^-42 per slot compared); a near-duplicate shares a MinHash LSH band with an earlier record
// (bands × rows MinHashes over word unigrams and bigrams; for 10 × 5 a
// record with Jaccard similarity 0.9 to an earlier one is caught with
// probability 99.99%, 0.5 with 27%, 0.3 with 2.4%). SimHash was measured
// first and rejected: a one-word edit of a 20-word text moves a 64-bit
// SimHash by 4 to 10 bits, beyond what a banded index can search. The index
// is bounded: a ring of eight generations over dedup_horizon of event time
// and at most dedup_max_entries records (about 264 bytes each), in one
// hash table of 8-slot buckets keyed by the validator's seed; a full
// bucket evicts its oldest key (about 1 key in 200 in a full index), which
// a later copy of it would then count as unique.
//
// A unique record's freshness is 2^(−age/freshness_half_life), age being its
// ingestion time minus its time at the source (the payload's created_at,
// timestamp, date, published or fetched_at; the event time if it has none):
// a record replayed with a new event time keeps its source time, and the
// re-fetch checks that time.
//
// # Verification
//
// The scorer picks a record for re-fetching when SHA-256(secret seed,
// window start, worker, event ID) falls below sample_rate × 2^64: a
// worker without the validator's seed cannot tell which of its records will
// be checked. Verify re-fetches it through a Refetcher (the validator's own
// connector) and compares the normalised text and the source time:
// Verified, Mismatch (different content, or ErrNotFound: the source has no
// such record), or Unverifiable (ErrSourceFault, ErrValidatorFault, any
// other error). Unverifiable never counts against the worker.
//
// # Utility
//
//	utility = c^κ × ( w_record     × Σ_{unique records i} 2^(−age_i / H)
//	                + w_job        × Σ_{jobs fulfilled j} 2^(−latency_j / H_job)
//	                + w_processing × processing_accepted )
//
// with κ = credibility_exponent (2.5), H = freshness_half_life (1 h),
// H_job = job_latency_half_life (10 min), w_record = 1, w_job = 5,
// w_processing = 1. A job is credited to the worker whose "done" status for
// it comes first, when the job is known from jobs.v1 (within job_horizon);
// its latency runs from the job's time to the status's.
//
// c, the credibility, is a bias-corrected EMA of the window pass rates
// r = verified / (verified + mismatched), over the windows with at least one
// verdict:
//
//	m ← (1−α)·m + α·r,   w ← (1−α)·w + α,   c = m / w
//
// with α = credibility_alpha (0.15); before its first verdict a worker has
// c = initial_credibility (0). A window's utility uses c after folding in its
// own verdicts and those of the earlier windows still open.
//
// Why this shape:
//
//   - No per-record reward for volume: only unique records count, and
//     exact and near duplicates earn nothing. The first contributor gets all
//     the credit. (data-universe shares a bucket's bytes among the miners
//     holding it because its miners' indexes are unordered; here the log
//     orders every record, so "first" is well defined and a copy earns 0.)
//   - Stale replays earn almost nothing: a record 5 hours old is worth 3%
//     of a fresh one, a day-old one 6·10⁻⁸. Records older than the dedup
//     horizon may count as unique again; freshness is what prices them.
//   - Fabrication is priced by credibility, with data-universe's exponent
//     2.5 and EMA α 0.15: a 90% pass rate keeps 77% of the utility, 50% keeps
//     18%, 0% nothing. The bias correction makes a new key's credibility its
//     observed pass rate from its first verdict on (a plain EMA from 0 would
//     make honest workers wait hours), while before that verdict it earns
//     nothing — so a fresh key is no way around a bad record.
//   - Validator faults cost nothing: unverifiable samples are not in the
//     pass rate, and a window without verdicts leaves c unchanged. (The
//     simulation checks that an honest worker whose samples all failed on
//     the validator's side for five windows earns exactly what it would
//     have.) A worker that has had no verdict yet keeps initial_credibility.
//   - Splitting across keys does not pay: the utility is linear in the
//     unique records, with no per-key base reward and no concave curve, so
//     with equal credibility the sum over keys equals the one key's utility;
//     and each new key starts with no credibility.
//   - Bytes are counted but not rewarded: they reward padding.
//   - No normalisation across workers in the window (Masa subnet 42
//     normalises each metric against the other miners, which makes a score
//     depend on everyone else's and not additive). Utilities are absolute
//     and additive; the rewards emitter normalises once per epoch:
//     payout_i = pool × U_i / Σ U.
//
// Every term is a deterministic function of the log; floating-point sums are
// taken in log order.
package validator
