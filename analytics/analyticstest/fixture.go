package analyticstest

import (
	"context"
	"math"
	"math/rand/v2"
	"time"

	"github.com/fairstream/fairstream/analytics"
)

// Schema is the suite's tables, as migrations that follow the project's
// own (analytics.Migrations): contributions, per-worker windows in a
// ReplacingMergeTree, and a table of every type the package reads and
// writes.
func Schema() []analytics.Migration {
	return append(analytics.Migrations(),
		analytics.Migration{Version: 9001, Name: "conformance_events", Statements: []string{`
CREATE TABLE IF NOT EXISTS conf_events (
    day Date,
    ts DateTime('UTC'),
    worker LowCardinality(String),
    source LowCardinality(String),
    event_id String,
    content_hash String,
    bytes UInt64,
    score Float64,
    verified Nullable(UInt8),
    note Nullable(String),
    tags Array(String)
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (worker, ts, event_id)
SETTINGS index_granularity = 8192`}},
		analytics.Migration{Version: 9002, Name: "conformance_windows", Statements: []string{`
CREATE TABLE IF NOT EXISTS conf_windows (
    worker LowCardinality(String),
    window_start DateTime('UTC'),
    records UInt64,
    utility Float64,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (worker, window_start)`}},
		analytics.Migration{Version: 9003, Name: "conformance_types", Statements: []string{`
CREATE TABLE IF NOT EXISTS conf_types (
    id UInt32,
    u8 UInt8, u16 UInt16, u32 UInt32, u64 UInt64,
    i8 Int8, i16 Int16, i32 Int32, i64 Int64,
    f32 Float32, f64 Float64,
    s String, fs FixedString(4),
    e Enum8('a' = 1, 'b' = 2),
    uid UUID,
    d Date, dt DateTime('UTC'),
    ns Nullable(String), nf Nullable(Float64),
    lc LowCardinality(String), lcn LowCardinality(Nullable(String)),
    arr Array(UInt64), arrs Array(Nullable(String)), arr2 Array(Array(String)),
    arrlc Array(LowCardinality(String))
) ENGINE = MergeTree()
ORDER BY id`}},
		analytics.Migration{Version: 9004, Name: "conformance_floats", Statements: []string{`
CREATE TABLE IF NOT EXISTS conf_floats (
    id UInt32,
    f32 Float32,
    f64 Float64
) ENGINE = MergeTree()
ORDER BY id`}},
	)
}

// Floats are n floats of every magnitude (subnormals, extremes, ±0,
// values whose shortest decimal form is long), the same for every call.
func Floats(n int) (f32 []float32, f64 []float64) {
	rng := rand.New(rand.NewPCG(1, 2))
	fixed := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1.0 / 3, math.MaxFloat64, -math.MaxFloat64,
		math.SmallestNonzeroFloat64, 2.2250738585072014e-308, 5e-324, 1e23, 9007199254740993, 123456789.12345678}
	for i := range n {
		var f float64
		switch {
		case i < len(fixed):
			f = fixed[i]
		case i%3 == 0:
			f = math.Float64frombits(rng.Uint64()) // any bit pattern
		default:
			f = (rng.Float64() - 0.5) * math.Pow(10, float64(rng.IntN(40)-20))
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			f = float64(i)
		}
		f64 = append(f64, f)
		g := float32(math.Float32frombits(rng.Uint32()))
		if math.IsNaN(float64(g)) || math.IsInf(float64(g), 0) {
			g = float32(i)
		}
		f32 = append(f32, g)
	}
	return f32, f64
}

// T parses "2006-01-02 15:04:05" in UTC.
func T(s string) time.Time {
	t, err := time.ParseInLocation(time.DateTime, s, time.UTC)
	if err != nil {
		panic(err)
	}
	return t
}

// D parses "2006-01-02" in UTC.
func D(s string) time.Time {
	t, err := time.ParseInLocation(time.DateOnly, s, time.UTC)
	if err != nil {
		panic(err)
	}
	return t
}

// EventColumns are conf_events' columns in the order of Events' values.
var EventColumns = []string{"day", "ts", "worker", "source", "event_id", "content_hash", "bytes", "score", "verified", "note", "tags"}

// Events are conf_events' rows, in two batches (two parts). Scores are
// exact binary fractions, so that sums do not depend on the order engines
// add them in.
func Events() [2][][]any {
	ev := func(ts, worker, source, id, hash string, bytes uint64, score float64, verified any, note any, tags []string) []any {
		t := T(ts)
		return []any{t, t, worker, source, id, hash, bytes, score, verified, note, tags}
	}
	return [2][][]any{{
		ev("2024-05-01 09:58:00", "w1", "web", "e01", "h1", 100, 0.5, 1, nil, []string{"a"}),
		ev("2024-05-01 10:01:00", "w1", "web", "e02", "h2", 200, 1.0, uint8(1), "ok", []string{"a", "b"}),
		ev("2024-05-01 10:04:30", "w1", "twitter", "e03", "h2", 300, 0.25, nil, nil, []string{}),
		ev("2024-05-01 10:09:59", "w1", "web", "e04", "h3", 400, 0.75, 0, nil, []string{"b"}),
		ev("2024-05-01 10:10:00", "w1", "web", "e05", "h4", 500, 1.5, 1, nil, []string{"a"}),
		ev("2024-05-01 10:00:00", "w2", "twitter", "e06", "h1", 50, 2.0, 1, "dup", []string{"c"}),
	}, {
		ev("2024-05-01 10:05:00", "w2", "twitter", "e07", "h5", 60, 0.5, nil, nil, nil),
		ev("2024-05-01 10:19:59", "w2", "web", "e08", "h6", 70, 1.25, 1, nil, []string{"c", "a"}),
		ev("2024-05-01 10:20:00", "w3", "web", "e09", "h7", 1000, 3.0, 0, "late", []string{}),
		ev("2024-05-01 10:59:59", "w3", "web", "e10", "h8", 10, 0.125, 1, nil, []string{"d"}),
		ev("2024-05-01 11:00:00", "w3", "web", "e11", "h9", 20, 4.0, 1, nil, []string{"d"}),
		ev("2024-04-30 23:59:59", "w2", "web", "e12", "h1", 5, 8.0, 1, nil, []string{}),
	}}
}

// WindowColumns are conf_windows' columns in the order of Windows' values.
var WindowColumns = []string{"worker", "window_start", "records", "utility", "version"}

// Windows are conf_windows' rows, in two batches: the second replaces one
// window with a higher version and offers a stale (lower) version of
// another, which FINAL must ignore.
func Windows() [2][][]any {
	return [2][][]any{{
		{"w1", T("2024-05-01 10:00:00"), 3, 0.5, 1},
		{"w2", T("2024-05-01 10:00:00"), 2, 0.25, 1},
		{"w1", T("2024-05-01 10:10:00"), 1, 0.1, 1},
	}, {
		{"w1", T("2024-05-01 10:00:00"), 4, 0.75, 2},
		{"w2", T("2024-05-01 10:00:00"), 9, 0.2, 0},
	}}
}

// TypeColumns are conf_types' columns in the order of TypeRows' values.
var TypeColumns = []string{"id", "u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "f32", "f64",
	"s", "fs", "e", "uid", "d", "dt", "ns", "nf", "lc", "lcn", "arr", "arrs", "arr2", "arrlc"}

// TypeRows are conf_types' rows as inserted (Go values of many kinds) and
// as every backend must read them back (the package's result types).
func TypeRows() (in, want [][]any) {
	in = [][]any{
		{1, 0, 0, 0, 0, 0, 0, 0, 0, float32(0), 0.0,
			"", "", "a", "00000000-0000-0000-0000-000000000000",
			D("1970-01-01"), T("1970-01-01 00:00:00"), nil, nil, "", nil,
			[]uint64{}, []any{}, [][]string{}, []string{}},
		{uint32(2), uint8(255), uint16(65535), uint32(math.MaxUint32), uint64(math.MaxUint64),
			int8(-128), int16(-32768), int32(math.MinInt32), int64(math.MinInt64),
			float32(math.MaxFloat32), -1.5e300,
			"a'b\\c\x00\n\t\xff ünï \u2603", "abcd", "b", "123E4567-E89B-12D3-A456-426614174000",
			time.Date(2100, 12, 31, 23, 0, 0, 0, time.FixedZone("x", -5*3600)), T("2100-01-01 00:00:00"),
			"x", 2.5, "lc", "v",
			[]uint64{1, math.MaxUint64}, []any{"x", nil, ""}, [][]string{{"a"}, {}, {"b", "c"}}, []string{"p", "q", "p"}},
		{3, true, 1, 2, 3, int8(127), int16(32767), int32(math.MaxInt32), int64(math.MaxInt64),
			float32(math.Inf(-1)), math.Inf(1),
			"plain", "ab", "a", [16]byte{0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3, 0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0x01},
			D("2024-02-29"), time.Date(2024, 5, 1, 12, 30, 15, 999_000_000, time.FixedZone("y", 2*3600)),
			nil, math.NaN(), "lc", nil,
			[]uint64{7}, []*string{nil}, [][]string{{}}, []string{}},
	}
	want = [][]any{
		{uint64(1), uint64(0), uint64(0), uint64(0), uint64(0), int64(0), int64(0), int64(0), int64(0), 0.0, 0.0,
			"", "\x00\x00\x00\x00", "a", "00000000-0000-0000-0000-000000000000",
			D("1970-01-01"), T("1970-01-01 00:00:00"), nil, nil, "", nil,
			[]any{}, []any{}, []any{}, []any{}},
		{uint64(2), uint64(255), uint64(65535), uint64(math.MaxUint32), uint64(math.MaxUint64),
			int64(-128), int64(-32768), int64(math.MinInt32), int64(math.MinInt64),
			float64(float32(math.MaxFloat32)), -1.5e300,
			"a'b\\c\x00\n\t\xff ünï \u2603", "abcd", "b", "123e4567-e89b-12d3-a456-426614174000",
			D("2100-12-31"), T("2100-01-01 00:00:00"),
			"x", 2.5, "lc", "v",
			[]any{uint64(1), uint64(math.MaxUint64)}, []any{"x", nil, ""}, []any{[]any{"a"}, []any{}, []any{"b", "c"}}, []any{"p", "q", "p"}},
		{uint64(3), uint64(1), uint64(1), uint64(2), uint64(3), int64(127), int64(32767), int64(math.MaxInt32), int64(math.MaxInt64),
			math.Inf(-1), math.Inf(1),
			"plain", "ab\x00\x00", "a", "123e4567-e89b-12d3-a456-426614174001",
			D("2024-02-29"), T("2024-05-01 10:30:15"),
			nil, math.NaN(), "lc", nil,
			[]any{uint64(7)}, []any{nil}, []any{[]any{}}, []any{}},
	}
	return in, want
}

// Load applies Schema and inserts the fixture, each batch in one Insert.
func Load(ctx context.Context, b analytics.Backend) error {
	if _, err := analytics.Migrate(ctx, b, Schema()); err != nil {
		return err
	}
	for _, batch := range Events() {
		if err := b.Insert(ctx, "conf_events", EventColumns, batch); err != nil {
			return err
		}
	}
	for _, batch := range Windows() {
		if err := b.Insert(ctx, "conf_windows", WindowColumns, batch); err != nil {
			return err
		}
	}
	in, _ := TypeRows()
	return b.Insert(ctx, "conf_types", TypeColumns, in)
}
