package streams_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
	"github.com/fairstream/fairstream/streams"
	"github.com/fairstream/fairstream/streams/embedded"
)

func TestTxnProducerAndReadToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := embedded.Start(ctx, embedded.Config{Listen: "127.0.0.1:0"}, streams.DefaultCatalog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cfg := streams.DefaultConfig()
	cfg.Brokers = []string{b.Addr()}
	cfg.Producer.BatchMaxBytes = 64 << 10

	p, err := streams.NewTxnProducer(cfg, "test", "test-txn")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	reg := schemas.Builtin()
	cursor := func(stream string, pos string) *kgo.Record {
		env, err := reg.Wrap(&fairstreampb.Cursor{Connector: "c", Stream: stream, Position: map[string]string{"p": pos}}, schemas.Meta{Key: "c/" + stream})
		if err != nil {
			t.Fatal(err)
		}
		rec, err := p.Record("connectors.cursors.v1", env)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	// Three committed batches, the last position per stream wins.
	for i, pos := range []string{"1", "2", "3"} {
		if err := p.Commit(ctx, []*kgo.Record{cursor("a", pos), cursor("b", pos+pos)}); err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
	}
	// A batch the broker refuses (a record over the size limit) is aborted
	// whole: its small record is not visible either.
	big := cursor("a", strings.Repeat("x", 100<<10))
	if err := p.Commit(ctx, []*kgo.Record{cursor("a", "aborted"), big}); err == nil {
		t.Fatal("commit of an oversized record: want an error")
	}
	// The producer is usable after an aborted batch.
	if err := p.Commit(ctx, []*kgo.Record{cursor("c", "9")}); err != nil {
		t.Fatalf("commit after an abort: %v", err)
	}

	latest := map[string]string{}
	n := 0
	err = streams.ReadToEnd(ctx, cfg, "connectors.cursors.v1", func(r *kgo.Record) error {
		env, err := schemas.UnmarshalEnvelope(r.Value)
		if err != nil {
			return err
		}
		var c fairstreampb.Cursor
		if err := reg.DecodeInto(env, &c); err != nil {
			return err
		}
		latest[c.GetStream()] = c.GetPosition()["p"]
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 7 || latest["a"] != "3" || latest["b"] != "33" || latest["c"] != "9" {
		t.Fatalf("read %d records, latest %v; want 7 and a=3 b=33 c=9 (the aborted batch invisible)", n, latest)
	}
	// An empty topic returns at once.
	if err := streams.ReadToEnd(ctx, cfg, "jobs.v1", func(*kgo.Record) error { t.Fatal("record in an empty topic"); return nil }); err != nil {
		t.Fatal(err)
	}
	p.Close()
	p.Close()
	if err := p.Commit(ctx, nil); err == nil {
		t.Fatal("Commit after Close: want ErrClosed")
	}
}
