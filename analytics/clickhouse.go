package analytics

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// OpenClickHouse connects to the ClickHouse server in cfg.ClickHouse over
// the native protocol (clickhouse-go v2), creates cfg.Database when it is
// missing, and returns a Backend on it. cfg.Backend is ignored.
//
// It works with servers from 18.16 (Debian bookworm's package) on: on a
// server that still has the setting allow_experimental_low_cardinality_type
// (18.x), every query sets it, so that the project's LowCardinality columns
// need nothing from the SQL.
func OpenClickHouse(ctx context.Context, cfg Config) (Backend, error) {
	cfg.Backend = BackendClickHouse
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("clickhouse: invalid configuration: %w", err)
	}
	where := strings.Join(cfg.ClickHouse.Addr, ",")
	options := func(database string, settings clickhouse.Settings) *clickhouse.Options {
		return &clickhouse.Options{
			Protocol: clickhouse.Native,
			Addr:     cfg.ClickHouse.Addr,
			Auth: clickhouse.Auth{
				Database: database,
				Username: cfg.ClickHouse.Username,
				Password: cfg.ClickHouse.Password,
			},
			DialTimeout:  cfg.ClickHouse.DialTimeout,
			MaxOpenConns: cfg.ClickHouse.MaxOpenConns,
			MaxIdleConns: min(5, cfg.ClickHouse.MaxOpenConns),
			Settings:     settings,
			ClientInfo: clickhouse.ClientInfo{Products: []struct{ Name, Version string }{
				{Name: "fairstream", Version: "1"},
			}},
		}
	}

	// First, on the user's default database: create ours, and learn what
	// the server needs.
	boot, err := clickhouse.Open(options("", nil))
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", where, err)
	}
	defer boot.Close()
	if err := boot.Ping(ctx); err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", where, err)
	}
	if err := boot.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+cfg.Database); err != nil {
		return nil, fmt.Errorf("clickhouse %s: create database %s: %w", where, cfg.Database, err)
	}
	settings := clickhouse.Settings{}
	rows, err := boot.Query(ctx, "SELECT name FROM system.settings WHERE name = 'allow_experimental_low_cardinality_type'")
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: read settings: %w", where, err)
	}
	for rows.Next() {
		settings["allow_experimental_low_cardinality_type"] = 1
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: read settings: %w", where, err)
	}

	conn, err := clickhouse.Open(options(cfg.Database, settings))
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", where, err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("clickhouse %s: %w", where, err)
	}
	return &serverBackend{conn: conn, where: where}, nil
}

type serverBackend struct {
	conn   driver.Conn
	where  string
	closed atomic.Bool
}

var _ Backend = (*serverBackend)(nil)

func (s *serverBackend) Exec(ctx context.Context, stmt string) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := checkExec(stmt); err != nil {
		return fmt.Errorf("clickhouse: %s: %w", short(stmt), err)
	}
	if err := s.conn.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("clickhouse: %s: %w", short(stmt), err)
	}
	return nil
}

func (s *serverBackend) Insert(ctx context.Context, table string, columns []string, rows [][]any) error {
	if s.closed.Load() {
		return ErrClosed
	}
	prefix, err := insertPrefix(table, columns)
	if err != nil {
		return fmt.Errorf("clickhouse: %w", err)
	}
	if err := checkRows(table, columns, rows); err != nil {
		return fmt.Errorf("clickhouse: %w", err)
	}
	if len(rows) == 0 {
		return nil
	}
	batch, err := s.conn.PrepareBatch(ctx, prefix)
	if err != nil {
		return fmt.Errorf("clickhouse: %s: %w", prefix, err)
	}
	defer batch.Close()
	cols := batch.Columns()
	if len(cols) != len(columns) {
		return fmt.Errorf("clickhouse: %s: the server expects %d columns", prefix, len(cols))
	}
	types := make([]*chType, len(cols))
	for i, c := range cols {
		if c.Name() != columns[i] {
			return fmt.Errorf("clickhouse: %s: column %d is %s on the server", prefix, i, c.Name())
		}
		if types[i], err = parseType(string(c.Type())); err != nil {
			return fmt.Errorf("clickhouse: %s: %w", prefix, err)
		}
	}
	converted, err := convertRows(table, columns, types, rows)
	if err != nil {
		return fmt.Errorf("clickhouse: %w", err)
	}
	for i, r := range converted {
		if err := batch.Append(r...); err != nil {
			return fmt.Errorf("clickhouse: insert into %s: row %d: %w", table, i, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("clickhouse: insert into %s: %w", table, err)
	}
	return nil
}

func (s *serverBackend) Query(ctx context.Context, query string) (*Result, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := s.conn.Query(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: %s: %w", short(query), err)
	}
	defer rows.Close()
	cts := rows.ColumnTypes()
	res := &Result{Columns: make([]Column, len(cts))}
	types := make([]*chType, len(cts))
	scanTypes := make([]reflect.Type, len(cts))
	for i, ct := range cts {
		res.Columns[i] = Column{Name: ct.Name(), Type: ct.DatabaseTypeName()}
		if types[i], err = parseType(ct.DatabaseTypeName()); err != nil {
			return nil, fmt.Errorf("clickhouse: %s: %w", short(query), err)
		}
		scanTypes[i] = ct.ScanType()
	}
	dest := make([]any, len(cts))
	for rows.Next() {
		for i, st := range scanTypes {
			dest[i] = reflect.New(st).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("clickhouse: %s: row %d: %w", short(query), len(res.Rows), err)
		}
		row := make([]any, len(cts))
		for i, d := range dest {
			if row[i], err = fromColumn(types[i], d); err != nil {
				return nil, fmt.Errorf("clickhouse: %s: column %s: %w", short(query), res.Columns[i].Name, err)
			}
		}
		res.Rows = append(res.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clickhouse: %s: %w", short(query), err)
	}
	return res, nil
}

func (s *serverBackend) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if err := s.conn.Close(); err != nil {
		return fmt.Errorf("clickhouse: close: %w", err)
	}
	return nil
}
