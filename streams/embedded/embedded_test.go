package embedded_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
	"github.com/fairstream/fairstream/streams"
	"github.com/fairstream/fairstream/streams/embedded"
)

func TestConfigValidate(t *testing.T) {
	for _, listen := range []string{"0.0.0.0:9092", "10.0.0.1:9092", ":9092", "127.0.0.1", "127.0.0.1:99999"} {
		if err := (embedded.Config{Listen: listen}).Validate(); err == nil || !strings.HasPrefix(err.Error(), "listen:") {
			t.Errorf("listen %q: got %v, want an error naming listen", listen, err)
		}
	}
	if err := embedded.DefaultConfig().Validate(); err != nil {
		t.Error(err)
	}
}

func TestPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = embedded.Start(context.Background(), embedded.Config{Listen: ln.Addr().String()}, streams.DefaultCatalog(), nil)
	if !errors.Is(err, embedded.ErrPortInUse) || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("got %v, want ErrPortInUse naming %s", err, ln.Addr())
	}
}

// The broker keeps committed records, topics and group offsets across a
// restart on the same data directory.
func TestPersistsAcrossRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	cat := streams.DefaultCatalog()
	b, err := embedded.Start(ctx, embedded.Config{Listen: "127.0.0.1:0", DataDir: dir}, cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := streams.DefaultConfig()
	cfg.Brokers = []string{b.Addr()}
	p, err := streams.NewProducer(cfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 10 {
		env, err := p.Publish(ctx, "raw.web.v1", &fairstreampb.RawWebPage{Url: "https://e.org/" + string(rune('a'+i))}, schemas.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, env.GetId())
	}
	p.Close()
	b.Close()
	b.Close() // idempotent

	b, err = embedded.Start(ctx, embedded.Config{Listen: "127.0.0.1:0", DataDir: dir}, cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cfg.Brokers = []string{b.Addr()}
	cl, err := streams.NewClient(cfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	topics, err := kadm.NewClient(cl).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range cat.Topics() {
		if !topics.Has(topic.Name) {
			t.Errorf("topic %s lost across the restart", topic.Name)
		}
	}
	c, err := streams.NewConsumer(cfg, "test", streams.ConsumerOptions{Topics: []string{"raw.web.v1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := map[string]bool{}
	for len(got) < len(ids) && ctx.Err() == nil {
		recs, _ := c.Poll(ctx)
		for _, r := range recs {
			env, err := schemas.UnmarshalEnvelope(r.Value)
			if err != nil {
				t.Fatal(err)
			}
			got[env.GetId()] = true
		}
	}
	for _, id := range ids {
		if !got[id] {
			t.Errorf("record %s lost across the restart", id)
		}
	}
}
