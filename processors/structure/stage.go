package structure

import (
	"context"
	"errors"

	"google.golang.org/protobuf/proto"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
	"github.com/fairstream/fairstream/streams"
)

// The stage's topics: one input per raw type, one output.
const (
	InputWeb      = "raw.web.v1"
	InputTwitter  = "raw.twitter.v1"
	InputDiscord  = "raw.discord.v1"
	InputTelegram = "raw.telegram.v1"
	InputPodcast  = "raw.podcast.v1"
	Output        = "docs.structured.v1"
)

// The runners' stage names, one per raw type. Each is also the runner's
// consumer group and part of its transactional ID, so they never change:
// renaming one makes it consume its input again from the start. Lineage
// records Name for all of them.
const (
	StageWeb      = "structure-web"
	StageTwitter  = "structure-twitter"
	StageDiscord  = "structure-discord"
	StageTelegram = "structure-telegram"
	StagePodcast  = "structure-podcast"
)

// WebStage returns the structure stage for web pages: every raw.web/v1
// event becomes a doc.structured/v1 document keyed by its document ID. Pages
// that carry no document are skipped; pages that can never be structured go
// to raw.web.v1.dlq with the reason.
func WebStage(cfg Config) streams.Stage[*fairstreampb.RawWebPage, *fairstreampb.Document] {
	return stage(StageWeb, InputWeb, cfg, WebPage)
}

// TwitterStage returns the structure stage for posts (raw.tweet/v1), with
// the same outcomes as WebStage.
func TwitterStage(cfg Config) streams.Stage[*fairstreampb.RawTweet, *fairstreampb.Document] {
	return stage(StageTwitter, InputTwitter, cfg, Tweet)
}

// DiscordStage returns the structure stage for Discord messages
// (raw.discord/v1), with the same outcomes as WebStage.
func DiscordStage(cfg Config) streams.Stage[*fairstreampb.RawDiscordMessage, *fairstreampb.Document] {
	return stage(StageDiscord, InputDiscord, cfg, DiscordMessage)
}

// TelegramStage returns the structure stage for Telegram messages
// (raw.telegram/v1), with the same outcomes as WebStage.
func TelegramStage(cfg Config) streams.Stage[*fairstreampb.RawTelegramMessage, *fairstreampb.Document] {
	return stage(StageTelegram, InputTelegram, cfg, TelegramMessage)
}

// PodcastStage returns the structure stage for podcast episodes
// (raw.podcast/v1), with the same outcomes as WebStage.
func PodcastStage(cfg Config) streams.Stage[*fairstreampb.RawPodcastEpisode, *fairstreampb.Document] {
	return stage(StagePodcast, InputPodcast, cfg, PodcastEpisode)
}

// stage wraps a structuring function as a stage: a document is produced
// keyed by its ID, (nil, nil) is a skip, ErrUnprocessable is permanent (the
// record goes to the input's DLQ at once), any other error is retried.
func stage[I proto.Message](name, input string, cfg Config, structure func(Config, Source, I) (*fairstreampb.Document, error)) streams.Stage[I, *fairstreampb.Document] {
	return streams.Stage[I, *fairstreampb.Document]{
		Spec: streams.Spec{Name: name, Version: Version, Inputs: []string{input}, Outputs: []string{Output}},
		Process: func(_ context.Context, in streams.Event[I]) ([]streams.Output[*fairstreampb.Document], error) {
			env := in.Envelope
			doc, err := structure(cfg, Source{
				EventID: env.GetId(), EventType: env.GetType(), Worker: env.GetWorker(), ContentHash: env.GetContentHash(),
			}, in.Payload)
			switch {
			case errors.Is(err, ErrUnprocessable):
				return nil, streams.Permanent(err)
			case err != nil:
				return nil, err
			case doc == nil:
				return nil, nil
			}
			return []streams.Output[*fairstreampb.Document]{{Key: doc.GetId(), Payload: doc}}, nil
		},
	}
}

// Builder builds the runner of one of the structure stages.
type Builder struct {
	// Spec is the stage's spec: its name, version and topics.
	Spec  streams.Spec
	build func(streams.Config, streams.RunnerConfig, ...streams.Option) (*streams.Runner, error)
}

// Build checks the stage against the catalog and returns its runner (see
// streams.NewRunner).
func (b Builder) Build(kcfg streams.Config, rcfg streams.RunnerConfig, opts ...streams.Option) (*streams.Runner, error) {
	return b.build(kcfg, rcfg, opts...)
}

func builder[I proto.Message](st streams.Stage[I, *fairstreampb.Document]) Builder {
	return Builder{Spec: st.Spec, build: func(kcfg streams.Config, rcfg streams.RunnerConfig, opts ...streams.Option) (*streams.Runner, error) {
		return streams.NewRunner(kcfg, rcfg, st, opts...)
	}}
}

// Stages returns the builders of every structure stage, one per raw type,
// in a fixed order: web, twitter, discord, telegram, podcast. The processor
// "structure" runs them all.
func Stages(cfg Config) []Builder {
	return []Builder{
		builder(WebStage(cfg)),
		builder(TwitterStage(cfg)),
		builder(DiscordStage(cfg)),
		builder(TelegramStage(cfg)),
		builder(PodcastStage(cfg)),
	}
}
