package analytics

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Backend runs the project's ClickHouse SQL. Its two implementations, a
// ClickHouse server (OpenClickHouse) and chDB in-process (OpenChDB), differ
// only in their constructor: the same statements give the same results, as
// the same Go values, on both (analyticstest checks it).
//
// A Backend is safe for concurrent use. Each call takes one SQL statement,
// without a FORMAT clause or a trailing semicolon.
type Backend interface {
	// Exec runs a statement that returns no rows (DDL, OPTIMIZE, ...).
	Exec(ctx context.Context, stmt string) error
	// Insert writes rows into table's named columns, in one block. Each
	// row holds one value per column, of a Go type that fits the column
	// (see ErrValue); columns left out take their defaults.
	Insert(ctx context.Context, table string, columns []string, rows [][]any) error
	// Query runs a SELECT and returns its whole result.
	Query(ctx context.Context, query string) (*Result, error)
	// Close releases the backend; later calls return ErrClosed. It is
	// safe to call more than once.
	Close() error
}

// Result is a query's answer. Values are normalised so that both backends
// give identical ones:
//
//	nil                       NULL
//	uint64                    UInt8 … UInt64
//	int64                     Int8 … Int64
//	float64                   Float32, Float64 (NaN and ±Inf included)
//	bool                      Bool
//	string                    String, FixedString, Enum (its name), UUID (canonical text)
//	time.Time                 Date (midnight UTC), DateTime (UTC, whole seconds)
//	[]any                     Array, Tuple
//
// LowCardinality and Nullable columns give their inner type's values. Other
// types (Decimal, DateTime64, Map, ...) are an ErrType error.
type Result struct {
	Columns []Column
	Rows    [][]any
}

// Column is a result column: its name and its ClickHouse type as the
// engine reports it.
type Column struct {
	Name string
	Type string
}

// ErrClosed is returned by calls on a closed Backend.
var ErrClosed = errors.New("analytics: backend is closed")

// ErrInlineInsert is returned by Exec for an INSERT that carries its rows
// in the statement (VALUES, FORMAT): over the native protocol ClickHouse
// 18.16 never answers one. Use Insert; INSERT … SELECT is fine.
var ErrInlineInsert = errors.New("INSERT with inline data: use Backend.Insert")

var inlineInsertRE = regexp.MustCompile(`(?is)^\s*INSERT\s+INTO\s+(TABLE\s+)?[\w."` + "`" + `]+\s*(\([^)]*\))?\s*(SETTINGS\s.*?)?\b(VALUES|FORMAT)\b`)

// checkExec refuses statements Exec must not run.
func checkExec(stmt string) error {
	if inlineInsertRE.MatchString(stmt) {
		return ErrInlineInsert
	}
	return nil
}

// Open opens the backend cfg.Backend names.
func Open(ctx context.Context, cfg Config) (Backend, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("analytics: invalid configuration: %w", err)
	}
	switch cfg.Backend {
	case BackendClickHouse:
		return OpenClickHouse(ctx, cfg)
	default:
		return OpenChDB(ctx, cfg)
	}
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// insertPrefix validates table ("name" or "database.name") and the column
// names, and returns "INSERT INTO table (c1, c2)".
func insertPrefix(table string, columns []string) (string, error) {
	parts := strings.Split(table, ".")
	if len(parts) > 2 {
		return "", fmt.Errorf("table %q: want name or database.name", table)
	}
	for _, p := range parts {
		if !identRE.MatchString(p) {
			return "", fmt.Errorf("table %q: %q is not a plain identifier", table, p)
		}
	}
	if len(columns) == 0 {
		return "", fmt.Errorf("insert into %s: no columns named", table)
	}
	seen := map[string]bool{}
	for _, c := range columns {
		if !identRE.MatchString(c) {
			return "", fmt.Errorf("insert into %s: column %q is not a plain identifier", table, c)
		}
		if seen[c] {
			return "", fmt.Errorf("insert into %s: column %s named twice", table, c)
		}
		seen[c] = true
	}
	return "INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ")", nil
}

// checkRows checks that every row has one value per column.
func checkRows(table string, columns []string, rows [][]any) error {
	for i, r := range rows {
		if len(r) != len(columns) {
			return fmt.Errorf("insert into %s: row %d has %d values for %d columns", table, i, len(r), len(columns))
		}
	}
	return nil
}

// convertRows converts every value to its column's canonical Go value.
func convertRows(table string, columns []string, types []*chType, rows [][]any) ([][]any, error) {
	out := make([][]any, len(rows))
	for i, r := range rows {
		if rowCanonical(types, r) {
			out[i] = r // already the values toColumn would return: no copy
			continue
		}
		cr := make([]any, len(r))
		for j, v := range r {
			c, err := toColumn(types[j], v)
			if err != nil {
				return nil, fmt.Errorf("insert into %s: row %d, column %s: %w", table, i, columns[j], err)
			}
			cr[j] = c
		}
		out[i] = cr
	}
	return out, nil
}

// rowCanonical reports whether every value of r is canonical for its type.
func rowCanonical(types []*chType, r []any) bool {
	for j, v := range r {
		if !canonical(types[j], v) {
			return false
		}
	}
	return true
}

// short abbreviates a statement for error messages.
func short(stmt string) string {
	s := strings.Join(strings.Fields(stmt), " ")
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}
