package analytics

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseType(t *testing.T) {
	for _, c := range []struct {
		in, name string
		check    func(*chType) bool
	}{
		{"UInt64", "UInt64", nil},
		{"DateTime('UTC')", "DateTime", func(t *chType) bool { return t.tz.String() == "UTC" }},
		{"DateTime", "DateTime", func(t *chType) bool { return t.tz == nil }},
		{"FixedString(16)", "FixedString", func(t *chType) bool { return t.size == 16 }},
		{"Enum8('a' = 1, 'b\\'c' = -2)", "Enum8", func(t *chType) bool { return t.enum["a"] == 1 && t.enumName[-2] == "b'c" }},
		{"Array(LowCardinality(Nullable(String)))", "Array", func(t *chType) bool {
			b, null := t.elems[0].base()
			return b.name == "String" && null
		}},
		{"Tuple(UInt8, Array(String))", "Tuple", func(t *chType) bool { return len(t.elems) == 2 && t.elems[1].name == "Array" }},
		{"Tuple(a UInt8, b DateTime('UTC'))", "Tuple", func(t *chType) bool { return t.elems[1].tz != nil }},
		{"Decimal(18, 4)", "Decimal", nil},
		{"DateTime64(3, 'UTC')", "DateTime64", nil},
	} {
		typ, err := parseType(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if typ.name != c.name || typ.String() != c.in || (c.check != nil && !c.check(typ)) {
			t.Errorf("%s: parsed as %+v", c.in, typ)
		}
	}
	for _, bad := range []string{"", "Array(", "Array(String", "Nullable(String, String)", "Enum8('a' = x)", "UInt64 junk", "DateTime('No/Such_Zone')"} {
		if typ, err := parseType(bad); err == nil {
			t.Errorf("%q parsed as %+v", bad, typ)
		}
	}
}

func mustType(t *testing.T, s string) *chType {
	t.Helper()
	typ, err := parseType(s)
	if err != nil {
		t.Fatal(err)
	}
	return typ
}

// TestRowBinary encodes values as chDB's Insert does and decodes them as
// its Query does: every supported type survives, exactly.
func TestRowBinary(t *testing.T) {
	ts := time.Date(2024, 5, 1, 10, 30, 15, 0, time.UTC)
	for _, c := range []struct {
		typ  string
		in   any
		want any
	}{
		{"UInt8", 255, uint64(255)},
		{"UInt64", uint64(math.MaxUint64), uint64(math.MaxUint64)},
		{"Int8", -128, int64(-128)},
		{"Int16", -2, int64(-2)},
		{"Int64", int64(math.MinInt64), int64(math.MinInt64)},
		{"Float32", float32(1.1), float64(float32(1.1))},
		{"Float64", 5e-324, 5e-324},
		{"Float64", math.Inf(-1), math.Inf(-1)},
		{"Bool", true, true},
		{"String", "a\x00\xff", "a\x00\xff"},
		{"FixedString(3)", "a", "a\x00\x00"},
		{"Enum8('x' = -1, 'y' = 7)", "x", "x"},
		{"Enum16('big' = 1000)", "big", "big"},
		{"UUID", "123e4567-e89b-12d3-a456-426614174000", "123e4567-e89b-12d3-a456-426614174000"},
		{"Date", ts, time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)},
		{"DateTime('UTC')", ts.Add(999 * time.Millisecond), ts},
		{"Nullable(String)", nil, nil},
		{"Nullable(String)", "x", "x"},
		{"LowCardinality(Nullable(String))", "lc", "lc"},
		{"Array(Nullable(UInt32))", []any{1, nil}, []any{uint64(1), nil}},
		{"Array(Array(String))", [][]string{{"a"}, {}}, []any{[]any{"a"}, []any{}}},
	} {
		typ := mustType(t, c.typ)
		v, err := toColumn(typ, c.in)
		if err != nil {
			t.Errorf("%s: toColumn(%v): %v", c.typ, c.in, err)
			continue
		}
		buf, err := appendRowBinary(nil, typ, v)
		if err != nil {
			t.Errorf("%s: encode: %v", c.typ, err)
			continue
		}
		r := &rbReader{buf: buf}
		got, err := r.value(typ)
		if err != nil || r.i != len(buf) {
			t.Errorf("%s: decode: %v (read %d of %d bytes)", c.typ, err, r.i, len(buf))
			continue
		}
		if !reflect.DeepEqual(got, c.want) && !(c.typ == "Float64" && got == c.want) {
			t.Errorf("%s: %#v came back as %#v, want %#v", c.typ, c.in, got, c.want)
		}
	}
}

func TestDecodeRowBinary(t *testing.T) {
	// SELECT 1 AS x, 'a' AS y FORMAT RowBinaryWithNamesAndTypes, from chDB.
	buf := []byte("\x02\x01x\x01y\x05UInt8\x06String\x01\x01a")
	res, err := decodeRowBinary(buf)
	if err != nil {
		t.Fatal(err)
	}
	want := &Result{Columns: []Column{{"x", "UInt8"}, {"y", "String"}}, Rows: [][]any{{uint64(1), "a"}}}
	if !reflect.DeepEqual(res, want) {
		t.Fatalf("got %+v", res)
	}
	for _, bad := range [][]byte{buf[:len(buf)-1], buf[:5], []byte("\x01\x01x\x07Decimal\x00")} {
		if res, err := decodeRowBinary(bad); err == nil {
			t.Errorf("%q decoded as %+v", bad, res)
		}
	}
	if _, err := decodeRowBinary([]byte("\x01\x01d\x0dDecimal(9, 2)\x00\x00\x00\x00")); !errors.Is(err, ErrType) {
		t.Errorf("Decimal: got %v, want ErrType", err)
	}
}

func TestToColumnRefuses(t *testing.T) {
	for _, c := range []struct {
		typ string
		v   any
	}{
		{"UInt8", 256},
		{"UInt8", -1},
		{"UInt64", 1.0},
		{"Int8", uint64(200)},
		{"Int64", uint64(math.MaxUint64)},
		{"Float64", "1.5"},
		{"String", 1},
		{"String", nil},
		{"FixedString(2)", "abc"},
		{"Enum8('a' = 1)", "b"},
		{"Enum8('a' = 1)", 1},
		{"UUID", "123e4567e89b12d3a456426614174000"},
		{"Date", "2024-01-01"},
		{"Date", time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)},
		{"DateTime", time.Date(2107, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"Array(String)", "abc"},
		{"Array(String)", []any{"a", nil}},
		{"Bool", 1},
		{"Decimal(9, 2)", 1.5},
		{"Map(String, String)", map[string]string{}},
	} {
		if v, err := toColumn(mustType(t, c.typ), c.v); !errors.Is(err, ErrValue) {
			t.Errorf("%s ← %#v: got %#v, %v; want ErrValue", c.typ, c.v, v, err)
		}
	}
	var p *string
	if v, err := toColumn(mustType(t, "Nullable(String)"), p); err != nil || v != nil {
		t.Errorf("nil *string for Nullable(String): %v %v", v, err)
	}
	s := "x"
	if v, err := toColumn(mustType(t, "String"), &s); err != nil || v != "x" {
		t.Errorf("*string for String: %v %v", v, err)
	}
}

func TestQuote(t *testing.T) {
	var b strings.Builder
	quote(&b, "a'b\\c\x00\n\x7f\xffé")
	if got, want := b.String(), `'a\'b\\c\x00\x0a\x7f`+"\xffé'"; got != want {
		t.Errorf("quote: %s, want %s", got, want)
	}
}

func TestInsertPrefix(t *testing.T) {
	got, err := insertPrefix("db.t", []string{"a", "b_2"})
	if err != nil || got != "INSERT INTO db.t (a, b_2)" {
		t.Errorf("got %q, %v", got, err)
	}
	for _, c := range []struct {
		table string
		cols  []string
	}{
		{"t;", []string{"a"}},
		{"a.b.c", []string{"a"}},
		{"t", nil},
		{"t", []string{"a", "a"}},
		{"t", []string{"a b"}},
		{"t", []string{"`a`"}},
	} {
		if got, err := insertPrefix(c.table, c.cols); err == nil {
			t.Errorf("%s %v: %q", c.table, c.cols, got)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default: %v", err)
	}
	c := DefaultConfig()
	c.Backend = BackendClickHouse
	if err := c.Validate(); err != nil {
		t.Fatalf("default with clickhouse: %v", err)
	}
	c.Backend = "duckdb"
	c.Database = "my-db"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "backend:") || !strings.Contains(err.Error(), "database:") {
		t.Errorf("got %v", err)
	}
	c = DefaultConfig()
	c.Backend = BackendClickHouse
	c.ClickHouse.Addr = []string{"nohost"}
	c.ClickHouse.DialTimeout = 0
	c.ClickHouse.MaxOpenConns = 0
	err := c.Validate()
	for _, key := range []string{"clickhouse.addr", "clickhouse.dial_timeout", "clickhouse.max_open_conns"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("want an error naming %s, got %v", key, err)
		}
	}
}

// TestMigrationChecksum pins the checksum of the project's first
// migration: changing how checksums are computed would make every
// deployed ledger look edited.
func TestMigrationChecksum(t *testing.T) {
	m := Migrations()
	if len(m) == 0 || m[0].Version != 1 || m[0].Statements[0] != ledgerDDL {
		t.Fatalf("migration 1 is not the ledger: %+v", m)
	}
	const want = "bba07b2225a44f2152eb9b85a6f5393991f20dc19a92d768e5da7e7474922284"
	if got := m[0].Checksum(); got != want {
		t.Errorf("checksum of migration 1 is %s, want %s", got, want)
	}
	edited := m[0]
	edited.Statements = []string{ledgerDDL + " "}
	if edited.Checksum() == m[0].Checksum() {
		t.Error("an edited statement keeps the checksum")
	}
	split := Migration{Version: 1, Name: m[0].Name, Statements: []string{"a", "b"}}
	joined := Migration{Version: 1, Name: m[0].Name, Statements: []string{"ab"}}
	if split.Checksum() == joined.Checksum() {
		t.Error("statement boundaries do not count")
	}
}

func TestCheckExec(t *testing.T) {
	for _, stmt := range []string{
		"INSERT INTO t VALUES (1)",
		"  insert into db.t (a, b) values (1, 'x')",
		"INSERT INTO t(a) FORMAT JSONEachRow {\"a\": 1}",
		"INSERT INTO TABLE t SETTINGS async_insert = 1 VALUES (1)",
	} {
		if err := checkExec(stmt); !errors.Is(err, ErrInlineInsert) {
			t.Errorf("%q: got %v, want ErrInlineInsert", stmt, err)
		}
	}
	for _, stmt := range []string{
		"INSERT INTO t (a) SELECT number FROM numbers(3)",
		"INSERT INTO t SELECT 'VALUES'",
		"CREATE TABLE t (values String) ENGINE = Memory",
		"SELECT 1 FORMAT TabSeparated",
	} {
		if err := checkExec(stmt); err != nil {
			t.Errorf("%q: %v", stmt, err)
		}
	}
}
