// Package trends is the "trends" processor: it counts the hashtags and
// salient terms of one source's documents (Document.source "twitter") on
// docs.structured.v1 over sliding windows of event time, ranks them by
// velocity against a longer baseline, and writes a [fairstreampb.TrendSnapshot]
// per window to trends.twitter.v1, keyed "<source>/<window>"
// ("twitter/15m0s") so that the compacted topic keeps the latest.
//
// # Terms
//
// A document's terms are its hashtags (Document.hashtags, lower-cased, kept
// with their '#', kind "hashtag") and the words of its text (kind "term"):
// runs of letters, marks and digits of any script, lower-cased, with apostrophes (' and ’)
// inside a word dropped ("don't" is "dont"). Words of one rune, of
// digits only, longer than 64 bytes, in the embedded stopword list
// (English function words and social-post noise such as "rt", "amp",
// "https"), inside URLs, or right after '#' or '@' (hashtags come from the
// field, mentions are not terms) are skipped. Each term counts once per
// document, so a count is a number of documents. One document contributes
// at most 32 hashtags and 64 words, and only its first 8 KiB of text is
// read: a long or hostile document costs bounded time. Scripts written
// without spaces (Chinese, Japanese, Thai) give one term per run of
// characters up to 64 bytes; there is no word segmentation.
//
// # Windows
//
// Event time is Document.published, else the envelope's time (a published
// time more than an hour after the envelope's time is not believed). Time is
// cut into slices of one slide (default 30 s), aligned to the Unix epoch;
// the window ending at e (a multiple of the slide) covers the window/slide
// slices before e (default 15 minutes, so 30 slices), start inclusive, end
// exclusive. The baseline is kept in buckets of one window length, aligned
// the same way.
//
// The watermark is the newest event time minus allowed_lateness (default
// 1 m). Across the input's partitions the processor takes the slowest
// partition that still has records to read (see Processor), so that reading
// one partition ahead of another does not make the other's events late.
// Every window whose end is at or before the watermark is emitted once, in
// order; a window that counted no document is skipped. An event behind the
// watermark by at most allowed_lateness is still counted: the windows
// already emitted that contain it are emitted again with revision+1. An
// event further behind is dropped from the trends (never from the log) and
// counted in fairstream_trends_late_dropped_total. Because the compacted
// topic keeps the latest record per key, a revision of an older window is
// the latest there until the next window is emitted; readers order by
// window_end.
//
// When no record has arrived for idle_advance of wall-clock time (default
// 30 s; 0 disables it), the watermark advances with the wall clock from the
// newest event time, so the last windows of a quiet stream (a trickle in
// `fairstream dev`) are emitted too. The Aggregator itself reads no clock:
// the same calls in the same order give byte-identical snapshots.
//
// # Bounded memory: Space-Saving
//
// Each slice and each baseline bucket counts terms in a Space-Saving summary
// of capacity counters (default 2,000): a new term takes a free counter or
// replaces the one with the least count m, starting at m+1 with error m.
// A window merges its slices: a term's count is the sum of its counters
// plus, for each full slice that does not hold it, that slice's least count
// (it may have been evicted with up to that many), and count_error sums the
// errors and those least counts, so the true count lies in [count −
// count_error, count]; while no slice is full, counts are exact and
// count_error is 0. The state is at most (window+2·lateness)/slide + 2 slices
// and (baseline+window+2·lateness)/window + 3 buckets of capacity counters
// each (61 summaries, 122,000 counters and about 40 MB of heap by default),
// whatever the number of distinct terms: see docs/benchmarks.md.
//
// # Ranking: velocity
//
// A term's baseline rate is its count over the baseline buckets that lie
// wholly inside [window_start − baseline, window_start), counted from the
// first bucket that saw any document (so a young stream is not diluted by
// empty history); the window itself is not part of its baseline, so a burst
// does not raise its own bar. Then
//
//	baseline_count = baseline rate × window
//	velocity       = (count − count_error + α) / (baseline_count + α)
//
// with α = smoothing (default 5), which keeps a handful of new mentions
// from outranking a real burst and makes a term with no baseline rank by
// its count. Terms with a guaranteed count (count − count_error) below
// min_count (default 3) are not ranked. Terms are sorted by velocity, then
// guaranteed count, then hashtags before words (the words of the same posts
// tie with their hashtag), then term; the first top_n (default 20) are
// kept, each with up to samples_per_term (default 3) sample document IDs,
// the greatest IDs seen, so that the choice does not depend on arrival
// order. A term that is always frequent has velocity near 1 and does not
// trend however high its count.
//
// # Processor and recovery
//
// A global top-k needs every partition, so the processor is not a
// group-balanced streams.Runner stage: it assigns itself every partition of
// docs.structured.v1 and reads them read_committed, and writes snapshots
// with a streams.Producer. Run one instance per source and window; replicas
// would each compute and write the same snapshots (the same bytes, as the
// snapshot IDs derive from the key, window end and revision).
//
// Its state is rebuilt from the input on every start, never stored: it
// reads back the snapshots of its key on trends.twitter.v1 (streams.ReadToEnd)
// to learn the newest window emitted, then seeks each input partition to the
// first record whose record timestamp is at or after
//
//	(that window's end, or now if none) − window − baseline − window − 2·allowed_lateness − replay_margin
//
// (kadm ListOffsetsAfterMilli) and replays to the partitions' end offsets as
// of the start before going on live. Windows up to the newest emitted are
// neither emitted nor revised during the replay, so nothing is emitted or
// counted twice, and the next windows come out as an uninterrupted run
// would have written them. Record timestamps are ingestion times, and event
// times are normally earlier, so seeking by record time reads every event
// the state needs; replay_margin (default 15 m) covers events stamped later
// than their ingestion. Counts rebuilt this way equal the uninterrupted ones
// when no counter was evicted; once slices are full, eviction depends on the
// order partitions are interleaved, and recovered counts agree within
// count_error. Revision numbers continue from the snapshots still on the
// compacted topic.
//
// Records that do not decode as documents (garbage, another event type) are
// skipped with a log line and fairstream_trends_skipped_total{reason}; the
// annotate stage, a group runner on the same topic, dead-letters them.
// Documents of other sources are ignored. Other metrics:
// fairstream_trends_documents_total, fairstream_trends_snapshots_total and
// fairstream_trends_watermark_seconds.
package trends
