// Package analyticstest is the conformance suite every analytics.Backend
// passes: the ClickHouse server (18.16, Debian bookworm's package, and
// newer) and chDB (current ClickHouse in-process) run the same migrations,
// DDL, inserts and queries, unchanged, and must give the same results.
//
// Run checks one backend against the expected results written here, so a
// backend that passes agrees with every other that passes. Fixture and
// Cases are exported so that a test holding two backends can also compare
// their answers directly, column types included (analytics' own
// TestBackendsAgree does).
//
// The SQL here is the project's subset (analytics' package documentation):
// MergeTree and ReplacingMergeTree tables of Date, DateTime('UTC'),
// (U)Int*, Float*, String, FixedString, Enum8, UUID, LowCardinality,
// Nullable and Array columns; explicit-column batch inserts; GROUP BY with
// count, sum, avg, min, max, argMax, argMin, uniqExact, countIf; FINAL;
// time-range WHERE; ORDER BY / LIMIT / OFFSET; HAVING; ARRAY JOIN; JOIN …
// USING; WITH expression aliases; and 10-minute windows computed as
// toDateTime(intDiv(toUInt32(ts), 600) * 600, 'UTC').
package analyticstest
