package analytics

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Migration is one step of the schema: statements applied once, in
// version order, and recorded in the ledger table (LedgerTable).
//
// ClickHouse DDL is not transactional: when a statement fails, the ones
// before it stay applied and the migration is not recorded, so Migrate runs
// all of them again next time. Write each statement so that running it
// twice is harmless (CREATE TABLE IF NOT EXISTS, DROP TABLE IF EXISTS), and
// put a statement that cannot be repeated (ALTER TABLE … ADD COLUMN: 18.16
// has no IF NOT EXISTS for it) in a migration of its own.
type Migration struct {
	// Version orders migrations; versions are unique and > 0.
	Version uint32
	// Name says what it does, in snake_case.
	Name string
	// Statements are run one by one, each one statement without a
	// trailing semicolon, in the project's SQL subset (see the package
	// documentation).
	Statements []string
}

// Checksum identifies the migration's content: the hex SHA-256 of its
// version in decimal, NUL, its name, NUL, then for each statement its
// length in bytes in decimal, NUL, the statement, NUL. An applied migration
// whose checksum has changed stops Migrate.
func (m Migration) Checksum() string {
	h := sha256.New()
	fmt.Fprintf(h, "%d\x00%s\x00", m.Version, m.Name)
	for _, s := range m.Statements {
		fmt.Fprintf(h, "%d\x00%s\x00", len(s), s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// AppliedMigration is a row of the ledger.
type AppliedMigration struct {
	Version   uint32
	Name      string
	Checksum  string
	AppliedAt time.Time
}

// LedgerTable records applied migrations.
const LedgerTable = "fairstream_migrations"

// ledgerDDL creates LedgerTable; it is also the project's migration 1.
const ledgerDDL = `CREATE TABLE IF NOT EXISTS ` + LedgerTable + ` (
    version UInt32,
    name String,
    checksum String,
    applied_at DateTime('UTC')
) ENGINE = MergeTree()
ORDER BY version`

// Migration errors, wrapped with the version and names involved.
var (
	// ErrMigrationChanged: an applied migration's name or statements
	// differ from what was applied. Add a new migration instead.
	ErrMigrationChanged = errors.New("an applied migration has changed")
	// ErrUnknownMigration: the ledger holds a version the list lacks, so
	// the database is newer than this program.
	ErrUnknownMigration = errors.New("the database has a migration this program does not know")
	// ErrInvalidMigrations: the list itself is malformed.
	ErrInvalidMigrations = errors.New("invalid migration list")
)

// Migrations is the project's schema, in order. Later issues append to it;
// an entry, once released, is never edited.
func Migrations() []Migration {
	return []Migration{
		{Version: 1, Name: "migrations_ledger", Statements: []string{ledgerDDL}},
		{Version: 2, Name: "worker_utility", Statements: []string{workerUtilityDDL}},
		{Version: 3, Name: "contributions", Statements: []string{contributionsDDL}},
		{Version: 4, Name: "epochs", Statements: []string{epochsDDL}},
		{Version: 5, Name: "payouts", Statements: []string{payoutsDDL}},
		{Version: 6, Name: "contributions_sampled", Statements: []string{contributionsSampledDDL}},
	}
}

// Migrate applies the migrations the ledger lacks, in version order, and
// returns them. It first checks every applied migration against the list
// and refuses (ErrMigrationChanged, ErrUnknownMigration) to apply anything
// when one differs. Running it again applies nothing.
//
// Migrate does not lock: run it from one process at a time (the component
// that owns the schema, at start).
func Migrate(ctx context.Context, b Backend, migrations []Migration) ([]Migration, error) {
	if err := checkMigrations(migrations); err != nil {
		return nil, err
	}
	if err := b.Exec(ctx, ledgerDDL); err != nil {
		return nil, fmt.Errorf("migrate: create the ledger: %w", err)
	}
	applied, err := Applied(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	byVersion := make(map[uint32]Migration, len(migrations))
	for _, m := range migrations {
		byVersion[m.Version] = m
	}
	done := map[uint32]bool{}
	for _, a := range applied {
		m, ok := byVersion[a.Version]
		if !ok {
			return nil, fmt.Errorf("migrate: %w: version %d (%s), applied %s", ErrUnknownMigration, a.Version, a.Name, a.AppliedAt.Format(time.RFC3339))
		}
		if sum := m.Checksum(); sum != a.Checksum {
			return nil, fmt.Errorf("migrate: %w: version %d (%s) was applied with checksum %s, the program's has %s; add a new migration instead of editing it",
				ErrMigrationChanged, a.Version, a.Name, short12(a.Checksum), short12(sum))
		}
		done[a.Version] = true
	}
	var ran []Migration
	for _, m := range migrations {
		if done[m.Version] {
			continue
		}
		for i, stmt := range m.Statements {
			if err := b.Exec(ctx, stmt); err != nil {
				return ran, fmt.Errorf("migrate: version %d (%s), statement %d: %w", m.Version, m.Name, i+1, err)
			}
		}
		row := []any{m.Version, m.Name, m.Checksum(), time.Now()}
		if err := b.Insert(ctx, LedgerTable, []string{"version", "name", "checksum", "applied_at"}, [][]any{row}); err != nil {
			return ran, fmt.Errorf("migrate: version %d (%s) applied but not recorded: %w", m.Version, m.Name, err)
		}
		ran = append(ran, m)
	}
	return ran, nil
}

// Applied returns the ledger, in version order; a version recorded twice
// (two processes migrating at once) is returned once.
func Applied(ctx context.Context, b Backend) ([]AppliedMigration, error) {
	res, err := b.Query(ctx, "SELECT version, name, checksum, applied_at FROM "+LedgerTable+" ORDER BY version, applied_at")
	if err != nil {
		return nil, fmt.Errorf("read the ledger: %w", err)
	}
	var out []AppliedMigration
	for _, r := range res.Rows {
		v, _ := r[0].(uint64)
		name, _ := r[1].(string)
		sum, _ := r[2].(string)
		at, _ := r[3].(time.Time)
		a := AppliedMigration{Version: uint32(v), Name: name, Checksum: sum, AppliedAt: at}
		if n := len(out); n > 0 && out[n-1].Version == a.Version {
			if out[n-1].Checksum != a.Checksum {
				return nil, fmt.Errorf("%w: version %d is in the ledger twice, with different checksums", ErrMigrationChanged, a.Version)
			}
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

func checkMigrations(ms []Migration) error {
	var last uint32
	for i, m := range ms {
		switch {
		case m.Version == 0:
			return fmt.Errorf("migrate: %w: entry %d (%s) has version 0", ErrInvalidMigrations, i, m.Name)
		case i > 0 && m.Version <= last:
			return fmt.Errorf("migrate: %w: version %d (%s) follows %d; versions must increase", ErrInvalidMigrations, m.Version, m.Name, last)
		case m.Name == "":
			return fmt.Errorf("migrate: %w: version %d has no name", ErrInvalidMigrations, m.Version)
		case len(m.Statements) == 0:
			return fmt.Errorf("migrate: %w: version %d (%s) has no statements", ErrInvalidMigrations, m.Version, m.Name)
		}
		last = m.Version
	}
	return nil
}

func short12(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
