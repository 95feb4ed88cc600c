package analyticstest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fairstream/fairstream/analytics"
)

// Open returns a backend on an empty database, for the suite's use only.
// The suite closes it (its last subtest checks Close); Open may register
// cleanups with t, such as dropping the database.
type Open func(t *testing.T) analytics.Backend

// cancelLimit is the most a blocking call may take to return once its
// context is cancelled.
const cancelLimit = time.Second

// Run runs the conformance suite against the backend open returns.
func Run(t *testing.T, open Open) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b := open(t)

	t.Run("Migrate", func(t *testing.T) { testMigrate(ctx, t, b) })
	if t.Failed() {
		return
	}
	t.Run("Insert", func(t *testing.T) {
		for _, batch := range Events() {
			if err := b.Insert(ctx, "conf_events", EventColumns, batch); err != nil {
				t.Fatal(err)
			}
		}
		for _, batch := range Windows() {
			if err := b.Insert(ctx, "conf_windows", WindowColumns, batch); err != nil {
				t.Fatal(err)
			}
		}
		in, _ := TypeRows()
		if err := b.Insert(ctx, "conf_types", TypeColumns, in); err != nil {
			t.Fatal(err)
		}
		if err := b.Insert(ctx, "conf_events", EventColumns, nil); err != nil {
			t.Errorf("Insert of no rows: %v", err)
		}
	})
	if t.Failed() {
		return
	}
	t.Run("Queries", func(t *testing.T) {
		for _, c := range Cases() {
			t.Run(c.Name, func(t *testing.T) {
				res, err := b.Query(ctx, c.SQL)
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, col := range res.Columns {
					names = append(names, col.Name)
				}
				if strings.Join(names, ",") != strings.Join(c.Columns, ",") {
					t.Errorf("columns %v, want %v", names, c.Columns)
				}
				if d := DiffRows(res.Rows, c.Want); d != "" {
					t.Errorf("rows differ from the expected ones:\n%s", d)
				}
			})
		}
	})
	t.Run("DDL", func(t *testing.T) {
		for _, stmt := range []string{
			"OPTIMIZE TABLE conf_windows FINAL",
			"DROP TABLE IF EXISTS conf_tmp",
			`CREATE TABLE IF NOT EXISTS conf_tmp (k String, d Date, v Nullable(Float64))
ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(d) PRIMARY KEY k ORDER BY (k, d)`,
			"CREATE TABLE IF NOT EXISTS conf_tmp (k String) ENGINE = MergeTree() ORDER BY k",
			"ALTER TABLE conf_tmp ADD COLUMN x UInt8 DEFAULT 7",
		} {
			if err := b.Exec(ctx, stmt); err != nil {
				t.Fatal(err)
			}
		}
		// After OPTIMIZE … FINAL the replaced rows are gone even without FINAL.
		if res, err := b.Query(ctx, "SELECT count() AS n FROM conf_windows"); err != nil || res.Rows[0][0] != uint64(3) {
			t.Errorf("conf_windows after OPTIMIZE FINAL: %v %v, want 3 rows", res, err)
		}
		if err := b.Insert(ctx, "conf_tmp", []string{"k", "d"}, [][]any{{"a", D("2024-01-01")}}); err != nil {
			t.Fatal(err)
		}
		res, err := b.Query(ctx, "SELECT k, d, v, x FROM conf_tmp")
		if err != nil {
			t.Fatal(err)
		}
		if d := DiffRows(res.Rows, [][]any{{"a", D("2024-01-01"), nil, uint64(7)}}); d != "" {
			t.Errorf("defaults:\n%s", d)
		}
		for range 2 {
			if err := b.Exec(ctx, "DROP TABLE IF EXISTS conf_tmp"); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("FloatsExact", func(t *testing.T) {
		f32, f64 := Floats(3000)
		rows := make([][]any, len(f64))
		for i := range rows {
			rows[i] = []any{i, f32[i], f64[i]}
		}
		if err := b.Insert(ctx, "conf_floats", []string{"id", "f32", "f64"}, rows); err != nil {
			t.Fatal(err)
		}
		res, err := b.Query(ctx, "SELECT id, f32, f64 FROM conf_floats ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rows) != len(rows) {
			t.Fatalf("%d rows, want %d", len(res.Rows), len(rows))
		}
		bad := 0
		for i, r := range res.Rows {
			g32, g64 := r[1].(float64), r[2].(float64)
			if math.Float32bits(float32(g32)) != math.Float32bits(f32[i]) || math.Float64bits(g64) != math.Float64bits(f64[i]) {
				if bad++; bad <= 5 {
					t.Errorf("row %d: got %v %v, want %v %v", i, g32, g64, f32[i], f64[i])
				}
			}
		}
		if bad > 0 {
			t.Errorf("%d of %d rows differ", bad, len(rows))
		}
	})
	t.Run("InsertErrors", func(t *testing.T) { testInsertErrors(ctx, t, b) })
	t.Run("Errors", func(t *testing.T) {
		if err := b.Exec(ctx, "CREATE TABLE conf_bad (x NoSuchType) ENGINE = MergeTree() ORDER BY x"); err == nil {
			t.Error("Exec of bad DDL: no error")
		}
		if _, err := b.Query(ctx, "SELECT no_such_column FROM conf_events"); err == nil {
			t.Error("Query of an unknown column: no error")
		}
		if _, err := b.Query(ctx, "SELECT toDecimal64(1, 2) AS d"); !errors.Is(err, analytics.ErrType) {
			t.Errorf("Query of a Decimal: got %v, want ErrType", err)
		}
		if err := b.Exec(ctx, "INSERT INTO conf_extra (k) VALUES ('x')"); !errors.Is(err, analytics.ErrInlineInsert) {
			t.Errorf("Exec of INSERT … VALUES: got %v, want ErrInlineInsert", err)
		}
		if err := b.Exec(ctx, "INSERT INTO conf_extra (k) SELECT DISTINCT worker FROM conf_events"); err != nil {
			t.Errorf("Exec of INSERT … SELECT: %v", err)
		} else if res, err := b.Query(ctx, "SELECT count() AS n FROM conf_extra"); err != nil || res.Rows[0][0] != uint64(3) {
			t.Errorf("INSERT … SELECT wrote %v (%v), want 3 rows", res, err)
		}
		// The backend still works after errors.
		if _, err := b.Query(ctx, "SELECT 1 AS one"); err != nil {
			t.Errorf("Query after errors: %v", err)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := b.Query(ctx, fmt.Sprintf("SELECT count() AS n FROM conf_events WHERE event_id != 'x%d'", i))
				if err == nil && (len(res.Rows) != 1 || res.Rows[0][0] != uint64(12)) {
					err = fmt.Errorf("query %d: got %v", i, res.Rows)
				}
				if err == nil {
					err = b.Insert(ctx, "conf_windows", WindowColumns, [][]any{{fmt.Sprintf("c%d", i), T("2024-05-01 12:00:00"), i, 0.0, 1}})
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
	})
	t.Run("Context", func(t *testing.T) { testContext(t, b) })
	t.Run("Close", func(t *testing.T) {
		if err := b.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := b.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if err := b.Exec(ctx, "SELECT 1"); !errors.Is(err, analytics.ErrClosed) {
			t.Errorf("Exec after Close: got %v, want ErrClosed", err)
		}
		if _, err := b.Query(ctx, "SELECT 1"); !errors.Is(err, analytics.ErrClosed) {
			t.Errorf("Query after Close: got %v, want ErrClosed", err)
		}
		if err := b.Insert(ctx, "conf_windows", WindowColumns, Windows()[0]); !errors.Is(err, analytics.ErrClosed) {
			t.Errorf("Insert after Close: got %v, want ErrClosed", err)
		}
	})
}

func testMigrate(ctx context.Context, t *testing.T, b analytics.Backend) {
	schema := Schema()
	ran, err := analytics.Migrate(ctx, b, schema)
	if err != nil {
		t.Fatal(err)
	}
	if len(ran) != len(schema) {
		t.Fatalf("first Migrate applied %d migrations, want %d", len(ran), len(schema))
	}
	ran, err = analytics.Migrate(ctx, b, schema)
	if err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if len(ran) != 0 {
		t.Errorf("second Migrate applied %d migrations, want none", len(ran))
	}
	applied, err := analytics.Applied(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != len(schema) {
		t.Fatalf("ledger has %d rows, want %d: %+v", len(applied), len(schema), applied)
	}
	for i, a := range applied {
		m := schema[i]
		if a.Version != m.Version || a.Name != m.Name || a.Checksum != m.Checksum() {
			t.Errorf("ledger row %d = %d %s %s, want %d %s %s", i, a.Version, a.Name, a.Checksum, m.Version, m.Name, m.Checksum())
		}
		if time.Since(a.AppliedAt) > time.Hour || time.Until(a.AppliedAt) > time.Minute {
			t.Errorf("ledger row %d applied_at %s is not about now", i, a.AppliedAt)
		}
	}

	// A new migration is applied alone.
	more := append(Schema(), analytics.Migration{Version: 9100, Name: "conformance_extra",
		Statements: []string{"CREATE TABLE IF NOT EXISTS conf_extra (k String) ENGINE = MergeTree() ORDER BY k"}})
	if ran, err = analytics.Migrate(ctx, b, more); err != nil || len(ran) != 1 || ran[0].Version != 9100 {
		t.Errorf("Migrate with one new migration: ran %v, err %v", ran, err)
	}

	// An edited migration stops everything.
	edited := append(Schema(), more[len(more)-1])
	edited[len(edited)-2].Statements = []string{strings.Replace(edited[len(edited)-2].Statements[0], "id UInt32", "id UInt64", 1)}
	edited = append(edited, analytics.Migration{Version: 9200, Name: "never", Statements: []string{"CREATE TABLE conf_never (k String) ENGINE = MergeTree() ORDER BY k"}})
	if _, err := analytics.Migrate(ctx, b, edited); !errors.Is(err, analytics.ErrMigrationChanged) {
		t.Errorf("Migrate with an edited migration: got %v, want ErrMigrationChanged", err)
	}
	// A migration the list lacks stops everything too.
	if _, err := analytics.Migrate(ctx, b, Schema()); !errors.Is(err, analytics.ErrUnknownMigration) {
		t.Errorf("Migrate without an applied migration: got %v, want ErrUnknownMigration", err)
	}
	if res, err := b.Query(ctx, "SELECT count() AS n FROM "+analytics.LedgerTable+" WHERE version = 9200"); err != nil || res.Rows[0][0] != uint64(0) {
		t.Errorf("a refused Migrate recorded something: %v %v", res, err)
	}
	if _, err := b.Query(ctx, "SELECT count() AS n FROM conf_never"); err == nil {
		t.Error("a refused Migrate created conf_never")
	}
	// Malformed lists.
	for name, list := range map[string][]analytics.Migration{
		"version 0":   {{Version: 0, Name: "zero", Statements: []string{"SELECT 1"}}},
		"not ordered": {{Version: 2, Name: "b", Statements: []string{"SELECT 1"}}, {Version: 1, Name: "a", Statements: []string{"SELECT 1"}}},
		"no name":     {{Version: 1, Statements: []string{"SELECT 1"}}},
		"empty":       {{Version: 1, Name: "empty"}},
	} {
		if _, err := analytics.Migrate(ctx, b, list); !errors.Is(err, analytics.ErrInvalidMigrations) {
			t.Errorf("Migrate(%s): got %v, want ErrInvalidMigrations", name, err)
		}
	}
}

func testInsertErrors(ctx context.Context, t *testing.T, b analytics.Backend) {
	count := func() uint64 {
		res, err := b.Query(ctx, "SELECT count() AS n FROM conf_types")
		if err != nil {
			t.Fatal(err)
		}
		return res.Rows[0][0].(uint64)
	}
	before := count()
	good := func() []any { in, _ := TypeRows(); r := append([]any(nil), in[0]...); r[0] = 100; return r }
	with := func(col string, v any) [][]any {
		r := good()
		for i, c := range TypeColumns {
			if c == col {
				r[i] = v
			}
		}
		return [][]any{good(), r}
	}
	for _, c := range []struct {
		name string
		rows [][]any
	}{
		{"UInt8 out of range", with("u8", 256)},
		{"UInt64 negative", with("u64", -1)},
		{"Int8 out of range", with("i8", 128)},
		{"string for an integer", with("u32", "5")},
		{"float for an integer", with("u32", 1.5)},
		{"integer for a string", with("s", 5)},
		{"nil for a non-Nullable", with("s", nil)},
		{"nil in a non-Nullable array", with("arr", []any{uint64(1), nil})},
		{"unknown enum name", with("e", "zz")},
		{"FixedString too long", with("fs", "abcde")},
		{"bad UUID", with("uid", "not-a-uuid")},
		{"string for a DateTime", with("dt", "2024-01-01 00:00:00")},
		{"DateTime before 1970", with("dt", T("1969-12-31 23:59:59"))},
		{"scalar for an Array", with("arr", uint64(1))},
	} {
		err := b.Insert(ctx, "conf_types", TypeColumns, c.rows)
		if !errors.Is(err, analytics.ErrValue) {
			t.Errorf("%s: got %v, want ErrValue", c.name, err)
		}
	}
	for _, c := range []struct {
		name    string
		table   string
		columns []string
		rows    [][]any
	}{
		{"short row", "conf_types", TypeColumns, [][]any{good()[:3]}},
		{"unknown column", "conf_types", []string{"id", "nope"}, [][]any{{1, 2}}},
		{"unknown table", "conf_nope", []string{"id"}, [][]any{{1}}},
		{"injected table", "conf_types; DROP TABLE conf_types", []string{"id"}, [][]any{{1}}},
		{"injected column", "conf_types", []string{"id) SELECT 1 --"}, [][]any{{1}}},
		{"no columns", "conf_types", nil, [][]any{{}}},
	} {
		if err := b.Insert(ctx, c.table, c.columns, c.rows); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	if n := count(); n != before {
		t.Errorf("failed inserts changed conf_types from %d to %d rows", before, n)
	}
}

func testContext(t *testing.T, b analytics.Backend) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Exec(done, "SELECT 1"); !errors.Is(err, context.Canceled) {
		t.Errorf("Exec with a cancelled context: got %v", err)
	}
	if _, err := b.Query(done, "SELECT 1"); !errors.Is(err, context.Canceled) {
		t.Errorf("Query with a cancelled context: got %v", err)
	}
	if err := b.Insert(done, "conf_windows", WindowColumns, Windows()[0]); !errors.Is(err, context.Canceled) {
		t.Errorf("Insert with a cancelled context: got %v", err)
	}

	// A running query returns soon after its context ends.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := b.Query(ctx, "SELECT sleep(2) AS s")
		errc <- err
	}()
	time.Sleep(300 * time.Millisecond)
	cancel()
	at := time.Now()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Query cancelled while running: got %v, want context.Canceled", err)
		}
		t.Logf("Query returned %s after its context was cancelled", time.Since(at).Round(time.Millisecond))
	case <-time.After(cancelLimit):
		t.Errorf("Query still blocked %s after its context was cancelled", cancelLimit)
		<-errc
	}
	// And the backend still answers.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel2()
	if res, err := b.Query(ctx2, "SELECT 2 AS two"); err != nil || res.Rows[0][0] != uint64(2) {
		t.Errorf("Query after a cancelled one: %v %v", res, err)
	}
}

// DiffRows describes how got differs from want; "" when they are equal.
// NaN equals NaN, times compare as instants, []any element-wise.
func DiffRows(got, want [][]any) string {
	var b strings.Builder
	if len(got) != len(want) {
		fmt.Fprintf(&b, "%d rows, want %d\n", len(got), len(want))
	}
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			fmt.Fprintf(&b, "row %d: missing, want %s\n", i, show(want[i]))
		case i >= len(want):
			fmt.Fprintf(&b, "row %d: %s, want none\n", i, show(got[i]))
		case !Equal(got[i], want[i]):
			fmt.Fprintf(&b, "row %d:\n   got %s\n  want %s\n", i, show(got[i]), show(want[i]))
		}
	}
	return b.String()
}

// Equal compares two result values (see analytics.Result).
func Equal(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || math.IsNaN(x) && math.IsNaN(y))
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

func show(v any) string {
	switch x := v.(type) {
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = show(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case string:
		return fmt.Sprintf("%q", x)
	case time.Time:
		return x.UTC().Format(time.DateTime)
	case nil:
		return "NULL"
	}
	return fmt.Sprintf("%v(%T)", v, v)
}
