package annotate

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

// startBroker starts an embedded kfake broker with the default catalog.
func startBroker(t testing.TB) streams.Config {
	t.Helper()
	b, err := embedded.Start(context.Background(), embedded.Config{Listen: "127.0.0.1:0"}, streams.DefaultCatalog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	cfg := streams.DefaultConfig()
	cfg.Brokers = []string{b.Addr()}
	return cfg
}

// readN reads topic from the start until it holds at least n records.
func readN(t *testing.T, ctx context.Context, cfg streams.Config, topic string, n int) []*kgo.Record {
	t.Helper()
	for {
		var recs []*kgo.Record
		if err := streams.ReadToEnd(ctx, cfg, topic, func(r *kgo.Record) error { recs = append(recs, r); return nil }); err != nil {
			t.Fatalf("read %s: %v", topic, err)
		}
		if len(recs) >= n {
			return recs
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s holds %d records, want %d", topic, len(recs), n)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestRunner runs the stage through streams.NewRunner on kfake: documents
// produced to docs.structured.v1 come out annotated on docs.annotated.v1,
// keyed by their ID with the input's lineage, equal to Annotate's; an
// envelope of an unknown event type goes to docs.structured.v1.dlq with the
// reason.
func TestRunner(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kcfg := startBroker(t)
	reg := schemas.Builtin()

	p, err := streams.NewProducer(kcfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	docs := []*fairstreampb.Document{
		{Id: "twitter:1", Source: "twitter", Text: "Love the new #Ethereum release! $ETH @vitalik", Language: "en", LanguageConfidence: 1},
		{Id: "web:2", Source: "web", Title: "ECB holds rates", Text: "Christine Lagarde spoke in Frankfurt on Thursday."},
		{Id: "discord:3/4", Source: "discord", Text: ""},
	}
	envs := map[string]*schemas.Envelope{}
	for _, d := range docs {
		env, err := p.Publish(ctx, Input, d, schemas.Meta{Source: d.Source, Worker: "0xw", Key: d.Id})
		if err != nil {
			t.Fatal(err)
		}
		envs[d.Id] = env
	}
	// An envelope whose type is no registered type.
	bad, err := reg.Wrap(&fairstreampb.RawTweet{Id: "9", Text: "x"}, schemas.Meta{Worker: "0xw", Key: "bad"})
	if err != nil {
		t.Fatal(err)
	}
	bad.Type = "doc.unknown/v9"
	value, err := schemas.MarshalEnvelope(bad)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Client().ProduceSync(ctx, &kgo.Record{Topic: Input, Key: []byte("bad"), Value: value,
		Headers: []kgo.RecordHeader{{Key: streams.HeaderType, Value: []byte(bad.Type)}}}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	st, err := Stage(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	rc := streams.DefaultRunnerConfig()
	rc.InstanceID = "test"
	r, err := streams.NewRunner(kcfg, rc, st)
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil && ctx.Err() == nil {
			t.Errorf("Run: %v", err)
		}
	}()

	outs := readN(t, ctx, kcfg, Output, len(docs))
	seen := map[string]bool{}
	for _, rec := range outs {
		env, err := schemas.UnmarshalEnvelope(rec.Value)
		if err != nil {
			t.Fatal(err)
		}
		m, err := reg.Decode(env)
		if err != nil {
			t.Fatal(err)
		}
		ad, ok := m.(*fairstreampb.AnnotatedDocument)
		if !ok {
			t.Fatalf("output is a %T", m)
		}
		id := ad.GetDocument().GetId()
		in := envs[id]
		if in == nil || string(rec.Key) != id {
			t.Errorf("output key %q, document %q", rec.Key, id)
			continue
		}
		seen[id] = true
		lin := ad.GetLineage()
		if lin.GetEventId() != in.GetId() || lin.GetEventType() != "doc.structured/v1" || lin.GetWorker() != "0xw" ||
			string(lin.GetContentHash()) != string(in.GetContentHash()) || lin.GetStage() != Name || lin.GetStageVersion() != Version {
			t.Errorf("%s: lineage %v", id, lin)
		}
		want, _ := schemas.PayloadToJSON(Annotate(DefaultConfig(), ad.GetDocument()))
		got, _ := schemas.PayloadToJSON(ad.GetAnnotations())
		if string(got) != string(want) {
			t.Errorf("%s: annotations\n got %s\nwant %s", id, got, want)
		}
		if ad.GetAnnotations().GetLlmStatus() != "" {
			t.Errorf("%s: llm_status %q without a backend", id, ad.GetAnnotations().GetLlmStatus())
		}
	}
	if len(seen) != len(docs) {
		t.Errorf("annotated %d distinct documents, want %d", len(seen), len(docs))
	}

	dlq := readN(t, ctx, kcfg, Input+streams.DLQSuffix, 1)
	if len(dlq) != 1 || string(dlq[0].Key) != "bad" {
		t.Fatalf("dead letters: %d, want the unknown type's record", len(dlq))
	}
	reason := streams.Header(dlq[0], streams.HeaderDLQReason)
	if streams.Header(dlq[0], streams.HeaderDLQClass) != streams.ClassDecode || !strings.Contains(reason, "doc.unknown/v9") ||
		streams.Header(dlq[0], streams.HeaderDLQStage) != Name {
		t.Errorf("dead letter class %q, stage %q, reason %q", streams.Header(dlq[0], streams.HeaderDLQClass), streams.Header(dlq[0], streams.HeaderDLQStage), reason)
	}
}

func TestStageRefusesBadConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxTextChars = -1
	if _, err := Stage(cfg); err == nil || !strings.Contains(err.Error(), "max_text_chars") {
		t.Errorf("Stage with max_text_chars -1: %v", err)
	}
}
