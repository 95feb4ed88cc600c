package connectortest

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/connectors/identity"
	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/streams"
	"github.com/fairstream/fairstream/streams/embedded"
)

// Bench measures a connector's throughput from the source's response to the
// broker's acknowledgement: each iteration replays the harness's fixtures
// (every configured stream, every page) through the worker's write path —
// fetch, wrap, sign, transaction with the cursor — on an embedded broker.
// It reports events/s, with signing on ("signed") and off ("unsigned"), and
// "verify-µs/event", what identity.Verify costs per event.
func Bench(b *testing.B, h Harness) {
	for _, mode := range []struct {
		name string
		sign bool
	}{{"signed", true}, {"unsigned", false}} {
		b.Run(mode.name, func(b *testing.B) { bench(b, h, mode.sign) })
	}
}

func bench(b *testing.B, h Harness, sign bool) {
	br, err := embedded.Start(context.Background(), embedded.Config{Listen: "127.0.0.1:0"}, streams.DefaultCatalog(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	kcfg := streams.DefaultConfig()
	kcfg.Brokers = []string{br.Addr()}
	srv := httptest.NewServer(h.Handler(b))
	defer srv.Close()
	id, err := identity.Generate()
	if err != nil {
		b.Fatal(err)
	}
	cfg := Config()
	src := h.New(b, srv.URL, connectors.NewClient(cfg.HTTP, srv.Client(), nil))
	var opts []connectors.Option
	if !sign {
		opts = append(opts, connectors.WithoutSigning())
	}
	w, err := connectors.NewWorker(kcfg, cfg, src, id, opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	ctx := context.Background()
	pass := func() int {
		n := 0
		for _, s := range src.Streams() {
			got, err := w.Drain(ctx, s)
			if err != nil {
				b.Fatal(err)
			}
			n += got
		}
		return n
	}
	pass() // warm up: producer ID, metadata, connections
	b.ResetTimer()
	events := 0
	start := time.Now()
	for range b.N {
		events += pass()
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(elapsed.Microseconds())/float64(events), "µs/event")
	if !sign {
		return
	}
	// What verifying costs, per event, on the events just written.
	var envs []*schemas.Envelope
	for _, topic := range h.Topics {
		if err := streams.ReadToEnd(ctx, kcfg, topic, func(r *kgo.Record) error {
			env, err := schemas.UnmarshalEnvelope(r.Value)
			if err == nil && len(envs) < 5000 {
				envs = append(envs, env)
			}
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
	// As the validator and the bridge do: one recovery per batch.
	v := identity.NewVerifier(1024)
	vstart := time.Now()
	for _, env := range envs {
		if err := v.Verify(env); err != nil {
			b.Fatal(err)
		}
	}
	if len(envs) > 0 {
		b.ReportMetric(float64(time.Since(vstart).Microseconds())/float64(len(envs)), "verify-µs/event")
	}
}
