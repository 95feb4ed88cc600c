package analytics_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fairstream/fairstream/analytics"
	"github.com/fairstream/fairstream/internal/testenv"
	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
	"github.com/fairstream/fairstream/streams"
)

// benchRows is how many windows each benchmark iteration writes.
const benchRows = 200_000

// benchWindows returns benchRows deterministic windows as records and as
// worker_utility rows: 1,000 workers × 200 windows, signed as the
// validator signs them — one batch signature over the windows a watermark
// step closes (here the 1,000 windows of one window start), a Merkle proof
// per window.
func benchWindows(b *testing.B) ([]*kgo.Record, [][]any) {
	key := testKey(b, "validator")
	recs := make([]*kgo.Record, 0, benchRows)
	rows := make([][]any, 0, benchRows)
	reg := schemas.Builtin()
	for lo := 0; lo < benchRows; lo += 1000 {
		var envs []*schemas.Envelope
		var ws []*fairstreampb.WorkerWindow
		for i := lo; i < min(lo+1000, benchRows); i++ {
			w := window(i%1000, i/1000, 1)
			env, err := reg.Wrap(w, schemas.Meta{Source: "validator", Time: w.GetWindowEnd().AsTime(), Ingested: w.GetWindowEnd().AsTime(),
				Key: w.GetWorker() + "/" + w.GetWindowStart().AsTime().Format(time.RFC3339)})
			if err != nil {
				b.Fatal(err)
			}
			envs, ws = append(envs, env), append(ws, w)
		}
		if err := key.SignBatch(envs); err != nil {
			b.Fatal(err)
		}
		for i, env := range envs {
			v, err := schemas.MarshalEnvelope(env)
			if err != nil {
				b.Fatal(err)
			}
			row, err := analytics.WindowRow(env, ws[i])
			if err != nil {
				b.Fatal(err)
			}
			recs = append(recs, &kgo.Record{Topic: analytics.WindowsTopic, Key: []byte(env.GetKey()), Value: v})
			rows = append(rows, row)
		}
	}
	return recs, rows
}

func benchBackend(ctx context.Context, b *testing.B) analytics.Backend {
	backend := openServerTB(b)
	if _, err := analytics.Migrate(ctx, backend, analytics.Migrations()); err != nil {
		b.Fatal(err)
	}
	return backend
}

// counting signals done once n rows were inserted.
type counting struct {
	analytics.Backend
	rows   atomic.Int64
	target int64
	done   chan struct{}
}

func (c *counting) Insert(ctx context.Context, table string, columns []string, rows [][]any) error {
	if err := c.Backend.Insert(ctx, table, columns, rows); err != nil {
		return err
	}
	if c.rows.Add(int64(len(rows))) >= c.target {
		select {
		case c.done <- struct{}{}:
		default:
		}
	}
	return nil
}

// BenchmarkSink: benchRows WorkerWindow records, produced beforehand to
// scores.windows.v1 on the embedded (kfake) broker, through the sink into
// worker_utility on the ClickHouse server; an iteration starts the sink
// as a new consumer group and ends when ClickHouse has acknowledged every
// row. Compare rows/s with BenchmarkRawInsert.
func BenchmarkSink(b *testing.B) {
	ctx := context.Background()
	backend := benchBackend(ctx, b)
	recs, _ := benchWindows(b)
	kcfg, cl := startBroker(b)
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		b.Fatal(err)
	}
	cfg := analytics.DefaultSinkConfig()
	cfg.Validators = []string{testKey(b, "validator").Address()}
	log := slog.New(slog.DiscardHandler)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		if err := backend.Exec(ctx, "TRUNCATE TABLE worker_utility"); err != nil {
			b.Fatal(err)
		}
		c := &counting{Backend: backend, target: benchRows, done: make(chan struct{}, 1)}
		cfg.Group = fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i)
		sink, err := analytics.NewSink(kcfg, c, cfg, analytics.WithSinkLogger(log), analytics.WithStreamOptions(streams.WithLogger(log)))
		if err != nil {
			b.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		b.StartTimer()
		wg.Go(func() { _ = sink.Run(runCtx) })
		<-c.done
		b.StopTimer()
		stop()
		wg.Wait()
		sink.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkRawInsert writes the same rows to the same table on the same
// server with clickhouse-go directly: PrepareBatch, Append, Send, in
// batches of the sink's default batch_rows.
func BenchmarkRawInsert(b *testing.B) {
	ctx := context.Background()
	backend := benchBackend(ctx, b)
	_, rows := benchWindows(b)
	addr := testenv.Require(b, "clickhouse", "FAIRSTREAM_CLICKHOUSE_ADDR")
	res, err := backend.Query(ctx, "SELECT currentDatabase() AS db")
	if err != nil {
		b.Fatal(err)
	}
	conn, err := clickhouse.Open(&clickhouse.Options{
		Protocol: clickhouse.Native, Addr: []string{addr},
		Auth:     clickhouse.Auth{Database: res.Rows[0][0].(string), Username: "default"},
		Settings: clickhouse.Settings{"allow_experimental_low_cardinality_type": 1},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	batchRows := analytics.DefaultSinkConfig().BatchRows
	insert := "INSERT INTO worker_utility (" + joinCols(analytics.WorkerUtilityColumns) + ")"
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if err := backend.Exec(ctx, "TRUNCATE TABLE worker_utility"); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for lo := 0; lo < len(rows); lo += batchRows {
			batch, err := conn.PrepareBatch(ctx, insert)
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range rows[lo:min(lo+batchRows, len(rows))] {
				if err := batch.Append(r...); err != nil {
					b.Fatal(err)
				}
			}
			if err := batch.Send(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
