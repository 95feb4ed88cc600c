package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fairstream/fairstream/analytics"
	"github.com/fairstream/fairstream/internal/testenv"
)

// TestProductionPath runs the scoring path as production does, each
// component its own process on real servers: a worker signs tweets onto
// the Apache Kafka broker (fairstream produce --sign), `fairstream
// validator run` scores them, `fairstream analytics sink` writes the
// windows into the ClickHouse server, and `fairstream sql` reads them back.
// The broker keeps earlier runs' data, so this run has a validator ID, a
// database, a consumer group and keys of its own.
func TestProductionPath(t *testing.T) {
	brokers := testenv.Require(t, "kafka", "FAIRSTREAM_KAFKA_BROKERS")
	chAddr := testenv.Require(t, "clickhouse", "FAIRSTREAM_CLICKHOUSE_ADDR")
	n := time.Now().UnixNano()
	env := cleanEnv(
		"FAIRSTREAM_KAFKA_BROKERS="+brokers,
		"FAIRSTREAM_KAFKA_REPLICATION_FACTOR=1",
		"FAIRSTREAM_DATA_DIR="+t.TempDir(),
		"FAIRSTREAM_METRICS_LISTEN=",
		"FAIRSTREAM_WORKER_PASSPHRASE=worker pass",
		"FAIRSTREAM_VALIDATOR_IDENTITY_PASSPHRASE=validator pass",
		fmt.Sprintf("FAIRSTREAM_VALIDATOR_VALIDATOR_ID=e2e-%d", n),
		// Short windows, so that they close within the test; the worker
		// is trusted until its first verdict (no connector re-fetches here).
		"FAIRSTREAM_VALIDATOR_WINDOW=2s",
		"FAIRSTREAM_VALIDATOR_MERGE_HOLD=500ms",
		"FAIRSTREAM_VALIDATOR_TICK_INTERVAL=200ms",
		"FAIRSTREAM_VALIDATOR_INITIAL_CREDIBILITY=1",
		"FAIRSTREAM_ANALYTICS_BACKEND=clickhouse",
		"FAIRSTREAM_ANALYTICS_CLICKHOUSE_ADDR="+chAddr,
		fmt.Sprintf("FAIRSTREAM_ANALYTICS_DATABASE=e2e_%d", n),
		fmt.Sprintf("FAIRSTREAM_ANALYTICS_SINK_GROUP=e2e-sink-%d", n),
	)
	// The server keeps what each run made: drop this run's database.
	t.Cleanup(func() {
		acfg := analytics.DefaultConfig()
		acfg.Backend, acfg.ClickHouse.Addr, acfg.Database = analytics.BackendClickHouse, []string{chAddr}, "default"
		b, err := analytics.Open(context.Background(), acfg)
		if err != nil {
			t.Logf("drop the test database: %v", err)
			return
		}
		defer b.Close()
		if err := b.Exec(context.Background(), fmt.Sprintf("DROP DATABASE IF EXISTS e2e_%d", n)); err != nil {
			t.Logf("drop the test database: %v", err)
		}
	})
	if r := run(t, "", env, "topics", "create"); r.code != 0 {
		t.Fatalf("topics create: exit %d\n%s", r.code, r.stderr)
	}
	address := func(args ...string) string {
		t.Helper()
		if r := run(t, "", env, append([]string{"keys", "gen"}, args...)...); r.code != 0 {
			t.Fatalf("keys gen %v: exit %d\n%s", args, r.code, r.stderr)
		}
		r := run(t, "", env, append([]string{"keys", "show"}, args...)...)
		f := strings.Fields(r.stdout)
		if r.code != 0 || len(f) < 2 || !strings.HasPrefix(f[1], "0x") {
			t.Fatalf("keys show %v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		return f[1]
	}
	worker, validator := address(), address("--validator")
	env = append(env, "FAIRSTREAM_ANALYTICS_SINK_VALIDATORS="+validator)

	start := func(args ...string) (stop func() string) {
		cmd := exec.Command(binary, args...)
		cmd.Env = env
		cmd.Dir = t.TempDir()
		var errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &errb, &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := false
		t.Cleanup(func() {
			if !done {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
		})
		return func() string {
			done = true
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
			return errb.String()
		}
	}
	stopValidator := start("validator", "run")
	stopSink := start("analytics", "sink")

	// Twelve posts that share no wording with each other or with what
	// earlier runs left on the broker (near-duplicates earn nothing).
	var lines []string
	for i := range 12 {
		var text []string
		for j := range 15 {
			sum := sha256.Sum256(fmt.Appendf(nil, "%d/%d/%d", n, i, j))
			text = append(text, "w"+hex.EncodeToString(sum[:5]))
		}
		lines = append(lines, fmt.Sprintf(`{"id":"%d%02d","text":%q,"author_id":"7","created_at":%q}`,
			n%1_000_000_000, i, strings.Join(text, " "), time.Now().UTC().Format(time.RFC3339)))
	}
	if r := run(t, strings.Join(lines, "\n")+"\n", env, "produce", "--sign", "raw.twitter.v1"); r.code != 0 {
		t.Fatalf("produce --sign: exit %d\n%s", r.code, r.stderr)
	}

	var out string
	query := fmt.Sprintf("SELECT worker, sum(records) AS records, sum(valid_records) AS valid, sum(unique_records) AS uniq, sum(utility) > 0 AS paid "+
		"FROM worker_utility FINAL WHERE worker = '%s' GROUP BY worker", worker)
	waitFor(t, "the worker's windows in ClickHouse", func() bool {
		r := run(t, "", env, "sql", "--format", "csv", query)
		out = r.stdout + r.stderr
		return r.code == 0 && strings.Contains(r.stdout, worker+",12,12,12,1")
	}, func() string {
		return "sql:\n" + out + "\nvalidator:\n" + stopValidator() + "\nsink:\n" + stopSink()
	})
	t.Logf("fairstream sql: %s", strings.TrimSpace(out))
	if logs := stopValidator(); !strings.Contains(logs, "replay done; scoring live") {
		t.Errorf("validator run logs:\n%s", logs)
	}
	stopSink()
}
