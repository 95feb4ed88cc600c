// Package analytics is fairstream's ClickHouse side: the schema and its
// migrations, and the Backend the window sink and the analyst query path
// run their SQL on.
//
// # Backends
//
// A Backend runs one statement at a time: Exec (DDL), Insert (rows into
// named columns, one block), Query (a whole result) and Close. Its two
// implementations differ only in their constructor:
//
//   - OpenClickHouse: a ClickHouse server, through clickhouse-go v2 over the
//     native protocol (the HTTP protocol does not work with 18.16);
//   - OpenChDB: ClickHouse in-process (chDB, libchdb.so), the
//     single-machine default of `fairstream dev`. The library is loaded when
//     the first chDB backend opens, not at program start, so a program that
//     never opens one does not need it. One may be open per process. The
//     engine installs crash handlers for the fault signals; OpenChDB puts
//     the Go runtime's back, so that Go panics stay panics.
//
// Open picks one from Config.Backend. Both return results as the same Go
// values (see Result), so code and tests compare them directly.
//
// # Migrations
//
// Migrations lists the project's schema as ordered, numbered migrations;
// Migrate applies the ones the ledger table (fairstream_migrations:
// version, name, checksum, applied_at) lacks, once each, and refuses to
// run when an applied one has changed (ErrMigrationChanged) or is unknown
// to the program (ErrUnknownMigration).
//
// # Tables
//
// Migrations 2 to 5 create worker_utility (one row per worker and window,
// every fairstreampb.WorkerWindow field), contributions (per-record
// metadata, never content), epochs and payouts. Each is a
// ReplacingMergeTree keyed by the row's identity in the log and versioned
// by a revision from the log, so a replay leaves the same rows; read them
// with FINAL or argMax(col, revision) (docs/analytics.md).
//
// # The sink
//
// Sink consumes topics into tables, one Route (topic, table, columns,
// Mapper) each: by default scores.windows.v1 into worker_utility. It
// batches rows into one Backend.Insert per table, commits Kafka offsets
// only after ClickHouse acknowledged the batch, retries with backoff while
// ClickHouse is down, and sends records its Mapper rejects to the topic's
// dead-letter twin with the streams package's dlq.* headers.
//
// # The analyst path
//
// QueryFormat runs one query and writes the result as an aligned table,
// RFC 4180 CSV or JSON Lines: what `fairstream sql` prints.
//
// # The SQL subset
//
// The project's SQL must run unchanged on Debian bookworm's ClickHouse
// server 18.16.1 and on current ClickHouse (chDB 26.x);
// analyticstest.Run proves it for every statement shape below, on both.
// Write only this:
//
//   - Tables: CREATE TABLE IF NOT EXISTS … ENGINE = MergeTree() or
//     ReplacingMergeTree(version), with ORDER BY, optionally PARTITION BY,
//     PRIMARY KEY and SETTINGS index_granularity; DROP TABLE IF EXISTS;
//     CREATE DATABASE IF NOT EXISTS; OPTIMIZE TABLE … FINAL.
//   - Column types: UInt8…UInt64, Int8…Int64, Float32, Float64, String,
//     FixedString(N), Enum8, UUID, Date, DateTime('UTC'), and
//     LowCardinality, Nullable and Array of them. Booleans are UInt8.
//     Always DateTime('UTC'), never bare DateTime: 18.16 has no
//     session_timezone, so a bare DateTime follows each server's zone.
//   - Writes: Backend.Insert with an explicit column list. INSERT … SELECT
//     through Exec is fine; INSERT … VALUES through Exec is refused
//     (ErrInlineInsert).
//   - Queries: WHERE on time ranges written
//     ts >= toDateTime('2024-05-01 10:00:00', 'UTC'); GROUP BY with count,
//     sum, avg, min, max, argMax, argMin, uniqExact, countIf/sumIf; HAVING;
//     FINAL on ReplacingMergeTree; ORDER BY, LIMIT n OFFSET m; IN (list or
//     subquery); ARRAY JOIN; has, length, notEmpty, arraySort; ifNull,
//     isNull; JOIN … USING between subqueries that have aliases;
//     WITH <expression> AS <name>.
//   - Windows: toStartOfMinute, toStartOfFiveMinute,
//     toStartOfFifteenMinutes, toStartOfHour, toStartOfDay, toDate,
//     toYYYYMM; any other width as
//     toDateTime(intDiv(toUInt32(ts), 600) * 600, 'UTC').
//
// And not this, which 18.16 lacks or does differently:
//
//   - DateTime64, now64; Bool, Map, JSON types; TTL; column CODECs.
//   - toStartOfInterval, toStartOfTenMinutes (unknown functions in 18.16).
//   - ALTER TABLE … ADD COLUMN IF NOT EXISTS / DROP COLUMN IF EXISTS
//     (syntax errors in 18.16): put such an ALTER in a migration of its own.
//   - WITH name AS (subquery) (18.16 has only expression aliases);
//     LIMIT … WITH TIES; ORDER BY … WITH FILL.
//   - SET statements and query SETTINGS that name settings: the names
//     differ. LowCardinality needs allow_experimental_low_cardinality_type
//     on 18.16, a setting current ClickHouse rejects as unknown;
//     OpenClickHouse sets it per query where the server has it.
//   - A Nullable condition in an -If aggregate: countIf(verified = 1) is
//     Nullable(UInt64) on 18.16 and NULL when no row's condition is
//     non-NULL, but UInt64 0 on current ClickHouse. Write
//     countIf(ifNull(verified, 0) = 1).
//   - JOIN of subqueries without aliases (current ClickHouse requires
//     them); SELECT * over JOIN … USING (18.16 repeats the key column).
//   - An alias equal to a column's name (countIf(…) AS verified next to
//     count(verified)): the alias replaces the column in the whole query,
//     on both, and the query fails.
//   - FINAL on a plain MergeTree (an error on both).
//
// Result types of a query (column types) also match between the two for
// everything above; TestBackendsAgree checks that too.
package analytics
