package analytics_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/fairstream/fairstream/analytics"
	"github.com/fairstream/fairstream/analytics/analyticstest"
	"github.com/fairstream/fairstream/internal/testenv"
)

// openServer opens the ClickHouse server at FAIRSTREAM_CLICKHOUSE_ADDR on
// a fresh database, dropped when the test ends. Without the variable the
// test skips, or fails where FAIRSTREAM_TEST_REQUIRE names clickhouse.
func openServer(t *testing.T) analytics.Backend {
	t.Helper()
	return openServerTB(t)
}

// openServerTB is openServer for tests and benchmarks.
func openServerTB(t testing.TB) analytics.Backend {
	t.Helper()
	addr := testenv.Require(t, "clickhouse", "FAIRSTREAM_CLICKHOUSE_ADDR")
	var rnd [6]byte
	rand.Read(rnd[:])
	cfg := analytics.DefaultConfig()
	cfg.Backend = analytics.BackendClickHouse
	cfg.ClickHouse.Addr = []string{addr}
	cfg.Database = "fairstream_test_" + hex.EncodeToString(rnd[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := analytics.OpenClickHouse(ctx, cfg)
	if err != nil {
		t.Fatalf("open the ClickHouse server at %s: %v", addr, err)
	}
	t.Cleanup(func() {
		b.Close()
		admin := cfg
		admin.Database = "default"
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		a, err := analytics.OpenClickHouse(ctx, admin)
		if err != nil {
			t.Errorf("drop database %s: %v", cfg.Database, err)
			return
		}
		defer a.Close()
		if err := a.Exec(ctx, "DROP DATABASE IF EXISTS "+cfg.Database); err != nil {
			t.Errorf("drop database %s: %v", cfg.Database, err)
		}
	})
	return b
}

// chdbConfig is chDB on a fresh directory, with the library CHDB_LIB_PATH
// names. Without the variable the test skips, or fails where
// FAIRSTREAM_TEST_REQUIRE names chdb.
func chdbConfig(t *testing.T) analytics.Config {
	t.Helper()
	lib := testenv.Require(t, "chdb", analytics.LibPathEnv)
	cfg := analytics.DefaultConfig()
	cfg.ChDB.LibPath = lib
	cfg.ChDB.Path = t.TempDir()
	cfg.Database = "fairstream_test"
	return cfg
}

func openChDB(t *testing.T) analytics.Backend {
	t.Helper()
	cfg := chdbConfig(t)
	b, err := analytics.OpenChDB(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open chDB (%s): %v", cfg.ChDB.LibPath, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestConformance runs the suite on each backend: the project's SQL runs
// unchanged on ClickHouse 18.16 (the server) and on current ClickHouse
// (chDB), with the same results.
func TestConformance(t *testing.T) {
	t.Run("clickhouse", func(t *testing.T) { analyticstest.Run(t, openServer) })
	t.Run("chdb", func(t *testing.T) { analyticstest.Run(t, openChDB) })
}

// TestBackendsAgree loads the same fixture into both backends and compares
// every query's answer between them, column types included.
func TestBackendsAgree(t *testing.T) {
	server := openServer(t)
	embedded := openChDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	versions := map[string]string{}
	for name, b := range map[string]analytics.Backend{"clickhouse": server, "chdb": embedded} {
		if err := analyticstest.Load(ctx, b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		res, err := b.Query(ctx, "SELECT version() AS v")
		if err != nil {
			t.Fatal(err)
		}
		versions[name] = res.Rows[0][0].(string)
	}
	t.Logf("ClickHouse server %s, chDB %s", versions["clickhouse"], versions["chdb"])
	for _, c := range analyticstest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			a, err := server.Query(ctx, c.SQL)
			if err != nil {
				t.Fatalf("clickhouse: %v", err)
			}
			b, err := embedded.Query(ctx, c.SQL)
			if err != nil {
				t.Fatalf("chdb: %v", err)
			}
			if len(a.Columns) != len(b.Columns) {
				t.Fatalf("columns: clickhouse %v, chdb %v", a.Columns, b.Columns)
			}
			for i := range a.Columns {
				if a.Columns[i] != b.Columns[i] {
					t.Errorf("column %d: clickhouse %v, chdb %v", i, a.Columns[i], b.Columns[i])
				}
			}
			if d := analyticstest.DiffRows(b.Rows, a.Rows); d != "" {
				t.Errorf("chdb's rows differ from clickhouse's:\n%s", d)
			}
		})
	}
}

// TestChDBPersists reopens chDB on the same directory: the data and the
// ledger are still there, and migrating again applies nothing.
func TestChDBPersists(t *testing.T) {
	cfg := chdbConfig(t)
	ctx := context.Background()
	b, err := analytics.OpenChDB(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := analyticstest.Load(ctx, b); err != nil {
		b.Close()
		t.Fatal(err)
	}
	if _, err := analytics.OpenChDB(ctx, cfg); !errors.Is(err, analytics.ErrChDBBusy) {
		t.Errorf("a second OpenChDB while one is open: got %v, want ErrChDBBusy", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b, err = analytics.OpenChDB(ctx, cfg)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer b.Close()
	ran, err := analytics.Migrate(ctx, b, analyticstest.Schema())
	if err != nil || len(ran) != 0 {
		t.Errorf("Migrate after reopening: ran %d, err %v", len(ran), err)
	}
	res, err := b.Query(ctx, "SELECT count() AS n FROM conf_events")
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Rows[0][0]; got != uint64(12) {
		t.Errorf("conf_events has %v rows after reopening, want 12", got)
	}
}

func TestOpenChDBWithoutLibrary(t *testing.T) {
	cfg := analytics.DefaultConfig()
	cfg.ChDB.LibPath = t.TempDir() + "/libchdb.so"
	_, err := analytics.OpenChDB(context.Background(), cfg)
	if !errors.Is(err, analytics.ErrNoLibrary) {
		t.Fatalf("got %v, want ErrNoLibrary", err)
	}
	t.Log(err)
}

func TestOpenClickHouseUnreachable(t *testing.T) {
	cfg := analytics.DefaultConfig()
	cfg.ClickHouse.Addr = []string{"127.0.0.1:1"} // nothing listens there
	cfg.ClickHouse.DialTimeout = time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := analytics.OpenClickHouse(ctx, cfg); err == nil {
		t.Fatal("no error")
	} else {
		t.Log(err)
	}
}

// TestChDBLeavesGoSignalsAlone: with the engine running, a nil dereference
// in Go is still a panic that recover catches (libchdb installs crash
// handlers for SIGSEGV and the other fault signals over Go's, which turn
// it into a minutes-long stall and a segfault), and SIGINT still reaches
// signal.Notify.
func TestChDBLeavesGoSignalsAlone(t *testing.T) {
	b := openChDB(t)
	ctx := context.Background()
	if _, err := b.Query(ctx, "SELECT count() AS n FROM numbers(1000000)"); err != nil {
		t.Fatal(err)
	}
	var recovered any
	func() {
		defer func() { recovered = recover() }()
		var p *int
		_ = *p
	}()
	if recovered == nil {
		t.Fatal("a nil dereference did not panic")
	}
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGINT)
	defer signal.Stop(c)
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c:
	case <-time.After(5 * time.Second):
		t.Fatal("SIGINT did not reach signal.Notify")
	}
}
