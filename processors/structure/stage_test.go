package structure

import (
	"context"
	"errors"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
	"github.com/fairstream/fairstream/streams"
)

// event wraps a payload in an envelope, as the runner hands it to a stage.
func event[P proto.Message](t *testing.T, p P) streams.Event[P] {
	t.Helper()
	env, err := schemas.Builtin().Wrap(p, schemas.Meta{Worker: "0xw"})
	if err != nil {
		t.Fatal(err)
	}
	return streams.Event[P]{Envelope: env, Payload: p}
}

// TestStagesBuildRunners: every stage builds a runner against the default
// catalog (its types match its topics), under its own constant name.
func TestStagesBuildRunners(t *testing.T) {
	want := []streams.Spec{
		{Name: "structure-web", Inputs: []string{"raw.web.v1"}},
		{Name: "structure-twitter", Inputs: []string{"raw.twitter.v1"}},
		{Name: "structure-discord", Inputs: []string{"raw.discord.v1"}},
		{Name: "structure-telegram", Inputs: []string{"raw.telegram.v1"}},
		{Name: "structure-podcast", Inputs: []string{"raw.podcast.v1"}},
	}
	builders := Stages(DefaultConfig())
	if len(builders) != len(want) {
		t.Fatalf("Stages gives %d builders, want %d", len(builders), len(want))
	}
	for i, b := range builders {
		w := want[i]
		if b.Spec.Name != w.Name || !slices.Equal(b.Spec.Inputs, w.Inputs) || !slices.Equal(b.Spec.Outputs, []string{"docs.structured.v1"}) || b.Spec.Version != Version {
			t.Errorf("builder %d: spec %+v, want %s: %v -> [docs.structured.v1]", i, b.Spec, w.Name, w.Inputs)
		}
		r, err := b.Build(streams.DefaultConfig(), streams.DefaultRunnerConfig())
		if err != nil {
			t.Errorf("%s: %v", w.Name, err)
			continue
		}
		if got := r.Spec(); got.Name != w.Name || !slices.Equal(got.Inputs, w.Inputs) {
			t.Errorf("%s: runner spec %+v", w.Name, got)
		}
		r.Close()
	}
	// A stage whose input topic carries another type is refused.
	st := TwitterStage(DefaultConfig())
	st.Spec.Inputs = []string{"raw.web.v1"}
	if _, err := streams.NewRunner(streams.DefaultConfig(), streams.DefaultRunnerConfig(), st); err == nil {
		t.Error("a tweet stage on raw.web.v1 built a runner")
	}
}

func TestWebStage(t *testing.T) {
	st := WebStage(DefaultConfig())
	ctx := context.Background()
	outs, err := st.Process(ctx, event(t, &fairstreampb.RawWebPage{Url: "https://e.org/a", StatusCode: 200, ContentType: "text/html",
		Body: []byte("<html><title>T</title><body><p>Some words about the sea and the sky and the land.</p></body></html>")}))
	if err != nil || len(outs) != 1 {
		t.Fatalf("Process = %v, %v; want one document", outs, err)
	}
	doc := outs[0].Payload
	if outs[0].Key != doc.GetId() || doc.GetLineage().GetWorker() != "0xw" || doc.GetLineage().GetEventId() == "" ||
		doc.GetLineage().GetStage() != "structure" || doc.GetLineage().GetEventType() != "raw.web/v1" {
		t.Errorf("output key %q, lineage %v", outs[0].Key, doc.GetLineage())
	}

	outs, err = st.Process(ctx, event(t, &fairstreampb.RawWebPage{Url: "https://e.org/b", StatusCode: 404, Body: []byte("gone")}))
	if err != nil || len(outs) != 0 {
		t.Errorf("a 404 page: Process = %v, %v; want skipped", outs, err)
	}

	_, err = st.Process(ctx, event(t, &fairstreampb.RawWebPage{Url: "https://e.org/c", StatusCode: 200, ContentType: "image/png", Body: []byte("\x89PNG\r\n")}))
	if !errors.Is(err, streams.ErrPermanent) || !errors.Is(err, ErrUnprocessable) {
		t.Errorf("a PNG: err = %v, want permanent and unprocessable", err)
	}
}

// processOne runs a stage's Process on one payload.
func processOne[P proto.Message](t *testing.T, st streams.Stage[P, *fairstreampb.Document], p P) ([]streams.Output[*fairstreampb.Document], error) {
	t.Helper()
	return st.Process(context.Background(), event(t, p))
}

// TestMessageStages: each message stage produces a document keyed by its
// ID with the event's lineage, skips an empty item, and makes an item
// without identity permanent (dead-lettered at once).
func TestMessageStages(t *testing.T) {
	cfg := DefaultConfig()
	type outcome struct {
		outs []streams.Output[*fairstreampb.Document]
		err  error
	}
	check := func(name, eventType string, good, empty, bad outcome) {
		t.Helper()
		if good.err != nil || len(good.outs) != 1 {
			t.Errorf("%s: Process = %v, %v; want one document", name, good.outs, good.err)
		} else {
			doc := good.outs[0].Payload
			lin := doc.GetLineage()
			if good.outs[0].Key != doc.GetId() || doc.GetId() == "" || lin.GetStage() != "structure" || lin.GetStageVersion() != Version ||
				lin.GetEventType() != eventType || lin.GetWorker() != "0xw" || lin.GetEventId() == "" || len(lin.GetContentHash()) == 0 {
				t.Errorf("%s: key %q, id %q, lineage %v", name, good.outs[0].Key, doc.GetId(), lin)
			}
		}
		if empty.err != nil || len(empty.outs) != 0 {
			t.Errorf("%s, empty item: Process = %v, %v; want skipped", name, empty.outs, empty.err)
		}
		if !errors.Is(bad.err, streams.ErrPermanent) || !errors.Is(bad.err, ErrUnprocessable) {
			t.Errorf("%s, no identity: err = %v, want permanent and unprocessable", name, bad.err)
		}
	}
	run := func(outs []streams.Output[*fairstreampb.Document], err error) outcome { return outcome{outs, err} }

	tw := TwitterStage(cfg)
	check("twitter", "raw.tweet/v1",
		run(processOne(t, tw, &fairstreampb.RawTweet{Id: "1", Text: "hello"})),
		run(processOne(t, tw, &fairstreampb.RawTweet{Id: "2", Text: "  "})),
		run(processOne(t, tw, &fairstreampb.RawTweet{Text: "no id"})))

	dc := DiscordStage(cfg)
	check("discord", "raw.discord/v1",
		run(processOne(t, dc, &fairstreampb.RawDiscordMessage{Id: "1", ChannelId: "2", Content: "hello"})),
		run(processOne(t, dc, &fairstreampb.RawDiscordMessage{Id: "3", ChannelId: "2", Type: 7})),
		run(processOne(t, dc, &fairstreampb.RawDiscordMessage{Id: "4", Content: "no channel"})))

	tg := TelegramStage(cfg)
	check("telegram", "raw.telegram/v1",
		run(processOne(t, tg, &fairstreampb.RawTelegramMessage{MessageId: 1, Chat: &fairstreampb.TelegramChat{Id: -100}, Text: "hello"})),
		run(processOne(t, tg, &fairstreampb.RawTelegramMessage{MessageId: 2, Chat: &fairstreampb.TelegramChat{Id: -100}})),
		run(processOne(t, tg, &fairstreampb.RawTelegramMessage{MessageId: 3, Text: "no chat"})))

	pc := PodcastStage(cfg)
	check("podcast", "raw.podcast/v1",
		run(processOne(t, pc, &fairstreampb.RawPodcastEpisode{FeedUrl: "https://feeds.example.org/show.xml", Guid: "ep1", Title: "Episode 1"})),
		run(processOne(t, pc, &fairstreampb.RawPodcastEpisode{FeedUrl: "https://feeds.example.org/show.xml", Guid: "ep2"})),
		run(processOne(t, pc, &fairstreampb.RawPodcastEpisode{FeedUrl: "feeds.example.org/show.xml", Guid: "ep3", Title: "No feed URL"})))
}
