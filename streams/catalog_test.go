package streams_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"google.golang.org/protobuf/proto"

	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
	"github.com/fairstream/fairstream/streams"
	"github.com/fairstream/fairstream/streams/embedded"
)

func TestDefaultCatalog(t *testing.T) {
	c := streams.DefaultCatalog()
	reg := schemas.Builtin()
	var names []string
	for _, topic := range c.Topics() {
		names = append(names, topic.Name)
		if topic.IsDLQ() {
			if topic.PayloadType != "" {
				t.Errorf("%s: a dead-letter topic holds records as they were, not %s", topic.Name, topic.PayloadType)
			}
			if _, err := c.Lookup(strings.TrimSuffix(topic.Name, streams.DLQSuffix)); err != nil {
				t.Errorf("%s has no primary topic: %v", topic.Name, err)
			}
			continue
		}
		if _, err := reg.Lookup(topic.PayloadType); err != nil {
			t.Errorf("%s: payload type: %v", topic.Name, err)
		}
		if _, err := c.Lookup(topic.Name + streams.DLQSuffix); err != nil {
			t.Errorf("%s has no dead-letter twin", topic.Name)
		}
		if !strings.HasSuffix(topic.Name, ".v1") {
			t.Errorf("%s: topic names end in their version", topic.Name)
		}
	}
	want := "connectors.cursors.v1 connectors.cursors.v1.dlq connectors.errors.v1 connectors.errors.v1.dlq " +
		"docs.annotated.v1 docs.annotated.v1.dlq docs.embedded.v1 docs.embedded.v1.dlq docs.structured.v1 docs.structured.v1.dlq jobs.status.v1 jobs.status.v1.dlq jobs.v1 jobs.v1.dlq " +
		"raw.discord.v1 raw.discord.v1.dlq raw.podcast.v1 raw.podcast.v1.dlq raw.telegram.v1 raw.telegram.v1.dlq " +
		"raw.twitter.profiles.v1 raw.twitter.profiles.v1.dlq raw.twitter.trends.v1 raw.twitter.trends.v1.dlq " +
		"raw.twitter.v1 raw.twitter.v1.dlq raw.web.v1 raw.web.v1.dlq scores.checkpoints.v1 scores.checkpoints.v1.dlq scores.contributions.v1 scores.contributions.v1.dlq scores.ticks.v1 scores.ticks.v1.dlq scores.verifications.v1 scores.verifications.v1.dlq scores.windows.v1 scores.windows.v1.dlq trends.twitter.v1 trends.twitter.v1.dlq"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("catalog topics:\n got %s\nwant %s", got, want)
	}
	_, err := c.Lookup("raw.webb.v1")
	if !errors.Is(err, streams.ErrUnknownTopic) || !strings.Contains(err.Error(), "raw.web.v1") {
		t.Errorf("Lookup of an unknown topic: %v", err)
	}
}

func TestNewCatalogRejects(t *testing.T) {
	for name, topics := range map[string][]streams.Topic{
		"duplicate":      {{Name: "a.v1", Partitions: 1, Cleanup: streams.CleanupDelete}, {Name: "a.v1", Partitions: 1, Cleanup: streams.CleanupDelete}},
		"no partitions":  {{Name: "a.v1", Cleanup: streams.CleanupDelete}},
		"no cleanup":     {{Name: "a.v1", Partitions: 1}},
		"declared twin":  {{Name: "a.v1.dlq", Partitions: 1, Cleanup: streams.CleanupDelete}},
		"twin collision": {{Name: "a.v1", Partitions: 1, Cleanup: streams.CleanupDelete}, {Name: "a.v1.dlq", Partitions: 1, Cleanup: streams.CleanupDelete}},
	} {
		if _, err := streams.NewCatalog(topics...); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func TestKeyOf(t *testing.T) {
	c := streams.DefaultCatalog()
	cases := []struct {
		topic, want string
		payload     proto.Message
	}{
		{"raw.web.v1", "https://e.org/", &fairstreampb.RawWebPage{Url: "https://e.org/"}},
		{"raw.twitter.v1", "123", &fairstreampb.RawTweet{Id: "123"}},
		{"raw.telegram.v1", "-100042", &fairstreampb.RawTelegramMessage{Chat: &fairstreampb.TelegramChat{Id: -100042}}},
		{"raw.telegram.v1", "", &fairstreampb.RawTelegramMessage{}},
		{"docs.structured.v1", "web:abc", &fairstreampb.Document{Id: "web:abc"}},
		{"docs.annotated.v1", "web:abc", &fairstreampb.AnnotatedDocument{Document: &fairstreampb.Document{Id: "web:abc"}}},
		{"raw.twitter.profiles.v1", "42", &fairstreampb.RawTwitterProfile{User: &fairstreampb.TwitterUser{Id: "42"}}},
		{"raw.twitter.trends.v1", "1", &fairstreampb.RawTwitterTrend{Woeid: 1}},
	}
	for _, tc := range cases {
		topic, err := c.Lookup(tc.topic)
		if err != nil {
			t.Fatal(err)
		}
		if got := topic.KeyOf(tc.payload); got != tc.want {
			t.Errorf("%s: KeyOf = %q, want %q", tc.topic, got, tc.want)
		}
	}
}

// EnsureTopics creates the catalog with its configs, and is idempotent.
func TestEnsureTopics(t *testing.T) {
	ctx := context.Background()
	b, err := embedded.Start(ctx, embedded.Config{Listen: "127.0.0.1:0"}, streams.DefaultCatalog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cfg := streams.DefaultConfig()
	cfg.Brokers = []string{b.Addr()}
	cl, err := streams.NewClient(cfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	cat, err := streams.NewCatalog(streams.Topic{Name: "x.events.v1", Partitions: 3, Cleanup: streams.CleanupCompact, Retention: 48 * time.Hour, PayloadType: "raw.web/v1"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := streams.EnsureTopics(ctx, adm, 1, cat.Topics()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if !r.Created {
			t.Errorf("%s: not created on first call", r.Topic.Name)
		}
	}
	res, err = streams.EnsureTopics(ctx, adm, 1, cat.Topics()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Created || r.Warning != "" || r.Partitions != r.Topic.Partitions {
			t.Errorf("second call: %+v", r)
		}
	}
	configs, err := adm.DescribeTopicConfigs(ctx, "x.events.v1")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := configs.On("x.events.v1", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range rc.Configs {
		got[c.Key] = c.MaybeValue()
	}
	if got["cleanup.policy"] != "compact" || got["retention.ms"] != "172800000" {
		t.Errorf("configs: cleanup.policy=%q retention.ms=%q", got["cleanup.policy"], got["retention.ms"])
	}
	// A declaration that differs from the cluster is reported, not applied.
	more, _ := streams.NewCatalog(streams.Topic{Name: "x.events.v1", Partitions: 5, Cleanup: streams.CleanupCompact})
	res, err = streams.EnsureTopics(ctx, adm, 1, more.Topics()[0])
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Warning == "" || res[0].Partitions != 3 {
		t.Errorf("partition mismatch not reported: %+v", res[0])
	}
}
