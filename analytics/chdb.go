package analytics

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"unsafe"
)

// ErrChDBBusy is returned by OpenChDB while another chDB backend of this
// process is open: libchdb runs one engine per process.
var ErrChDBBusy = errors.New("chdb: the engine is already open in this process (one chDB backend at a time; Close it first)")

// engineOpen is true while a chDB backend is open. libchdb keeps one
// engine per process, and chdb_connect would silently close the first.
var engineOpen atomic.Bool

// OpenChDB starts ClickHouse in-process (chDB, libchdb.so) on the
// directory cfg.ChDB.Path, creates cfg.Database when it is missing, and
// returns a Backend on it. cfg.Backend is ignored. The library is found
// through cfg.ChDB.LibPath, else CHDB_LIB_PATH, else the dynamic linker;
// when it cannot be loaded the error wraps ErrNoLibrary. One chDB backend
// may be open per process (ErrChDBBusy).
//
// The session's time zone is UTC, whatever the machine's, as on the
// project's servers.
func OpenChDB(ctx context.Context, cfg Config) (Backend, error) {
	cfg.Backend = BackendChDB
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("chdb: invalid configuration: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("chdb: open: %w", err)
	}
	l, err := loadLib(cfg.ChDB.LibPath)
	if err != nil {
		return nil, fmt.Errorf("chdb: %w", err)
	}
	if !engineOpen.CompareAndSwap(false, true) {
		return nil, ErrChDBBusy
	}
	b := &chdbBackend{lib: l, path: cfg.ChDB.Path, sem: make(chan struct{}, 1)}
	fail := func(err error) (Backend, error) {
		b.shutdown()
		return nil, err
	}
	if b.path == "" {
		if b.path, err = os.MkdirTemp("", "fairstream-chdb-"); err != nil {
			return fail(fmt.Errorf("chdb: %w", err))
		}
		b.temp = true
	} else if err := os.MkdirAll(b.path, 0o755); err != nil {
		return fail(fmt.Errorf("chdb: %w", err))
	}
	if b.conn, err = l.open([]string{"--path=" + b.path}); err != nil {
		return fail(err)
	}
	for _, stmt := range []string{
		"SET session_timezone = 'UTC'",
		"CREATE DATABASE IF NOT EXISTS " + cfg.Database,
		"USE " + cfg.Database,
	} {
		if err := b.Exec(ctx, stmt); err != nil {
			return fail(fmt.Errorf("chdb: open %s: %w", b.path, err))
		}
	}
	return b, nil
}

type chdbBackend struct {
	lib  *chdbLib
	path string
	temp bool // path is ours to remove
	// sem serialises calls into the engine; whoever holds it may use conn.
	sem    chan struct{}
	conn   *unsafe.Pointer // nil once closed
	closed bool            // guarded by sem
}

var _ Backend = (*chdbBackend)(nil)

// run executes one statement in the engine. The C call cannot be
// interrupted: when ctx ends first, run returns ctx's error at once and the
// statement finishes in the background, holding the engine until it does.
func (b *chdbBackend) run(ctx context.Context, stmt, format string) ([]byte, error) {
	select {
	case b.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if b.closed {
		<-b.sem
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		<-b.sem
		return nil, err
	}
	type answer struct {
		buf []byte
		err error
	}
	done := make(chan answer, 1)
	go func() {
		buf, err := b.lib.run(b.conn, stmt, format)
		<-b.sem
		done <- answer{buf, err}
	}()
	select {
	case a := <-done:
		return a.buf, a.err
	case <-ctx.Done():
		select {
		case a := <-done:
			return a.buf, a.err
		default:
			return nil, ctx.Err()
		}
	}
}

func (b *chdbBackend) Exec(ctx context.Context, stmt string) error {
	if err := checkExec(stmt); err != nil {
		return fmt.Errorf("chdb: %s: %w", short(stmt), err)
	}
	if _, err := b.run(ctx, stmt, "TabSeparated"); err != nil {
		return fmt.Errorf("chdb: %s: %w", short(stmt), err)
	}
	return nil
}

func (b *chdbBackend) Query(ctx context.Context, query string) (*Result, error) {
	buf, err := b.run(ctx, query, "RowBinaryWithNamesAndTypes")
	if err != nil {
		return nil, fmt.Errorf("chdb: %s: %w", short(query), err)
	}
	res, err := decodeRowBinary(buf)
	if err != nil {
		return nil, fmt.Errorf("chdb: %s: %w", short(query), err)
	}
	return res, nil
}

func (b *chdbBackend) Insert(ctx context.Context, table string, columns []string, rows [][]any) error {
	prefix, err := insertPrefix(table, columns)
	if err != nil {
		return fmt.Errorf("chdb: %w", err)
	}
	if err := checkRows(table, columns, rows); err != nil {
		return fmt.Errorf("chdb: %w", err)
	}
	if len(rows) == 0 {
		return nil
	}
	desc, err := b.Query(ctx, "DESCRIBE TABLE "+table)
	if err != nil {
		return err
	}
	have := map[string]string{}
	for _, r := range desc.Rows {
		if len(r) >= 2 {
			name, _ := r[0].(string)
			typ, _ := r[1].(string)
			have[name] = typ
		}
	}
	types := make([]*chType, len(columns))
	for i, c := range columns {
		typ, ok := have[c]
		if !ok {
			return fmt.Errorf("chdb: insert into %s: no column %s in the table", table, c)
		}
		if types[i], err = parseType(typ); err != nil {
			return fmt.Errorf("chdb: insert into %s: %w", table, err)
		}
	}
	converted, err := convertRows(table, columns, types, rows)
	if err != nil {
		return fmt.Errorf("chdb: %w", err)
	}
	// The rows go in as RowBinary inside a string literal, read back by
	// the format() table function: exact for every type, where VALUES
	// would run floats through ClickHouse's text parser.
	var data []byte
	for _, r := range converted {
		for j, v := range r {
			if data, err = appendRowBinary(data, types[j], v); err != nil {
				return fmt.Errorf("chdb: insert into %s: column %s: %w", table, columns[j], err)
			}
		}
	}
	var structure strings.Builder
	for i, c := range columns {
		if i > 0 {
			structure.WriteString(", ")
		}
		structure.WriteString(c + " " + stripLowCardinality(types[i]))
	}
	var sb strings.Builder
	sb.Grow(len(prefix) + structure.Len() + 2*len(data) + 64)
	sb.WriteString(prefix)
	sb.WriteString(" SELECT * FROM format(RowBinary, ")
	quote(&sb, structure.String())
	sb.WriteString(", ")
	quote(&sb, string(data))
	sb.WriteString(")")
	if _, err := b.run(ctx, sb.String(), "TabSeparated"); err != nil {
		return fmt.Errorf("chdb: insert into %s: %w", table, err)
	}
	return nil
}

// Close waits for a statement in flight, then stops the engine.
func (b *chdbBackend) Close() error {
	b.sem <- struct{}{}
	defer func() { <-b.sem }()
	if b.closed {
		return nil
	}
	b.shutdown()
	return nil
}

// shutdown closes the connection, removes a temporary directory and frees
// the engine for another backend. The caller holds sem or is OpenChDB.
func (b *chdbBackend) shutdown() {
	b.closed = true
	if b.conn != nil {
		b.lib.closeConn(b.conn)
		b.conn = nil
	}
	if b.temp {
		os.RemoveAll(b.path)
	}
	engineOpen.Store(false)
}
