package schemas_test

import (
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/fairstream/fairstream/schemas/fairstreampb"
)

var sampleTime = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

// samples returns one realistic payload of every builtin event type, keyed
// by the type it must be registered as.
func samples() map[string]proto.Message {
	return map[string]proto.Message{
		"raw.tweet/v1": &pb.RawTweet{
			Id:                "1899999999999999999",
			Text:              "Fair AI needs fair data 🌍 #FairAI @fairstream $FAIR https://t.co/abc",
			AuthorId:          "12345",
			CreatedAt:         ts(sampleTime.Add(-time.Hour)),
			ConversationId:    "1899999999999999990",
			Lang:              "en",
			InReplyToUserId:   "678",
			PossiblySensitive: false,
			ReferencedTweets:  []*pb.TweetReference{{Type: "quoted", Id: "1899999999999999000"}},
			Entities: &pb.TweetEntities{
				Hashtags: []*pb.TextEntity{{Start: 26, End: 33, Tag: "FairAI"}},
				Mentions: []*pb.TextEntity{{Start: 34, End: 45, Tag: "fairstream", Id: "999"}},
				Cashtags: []*pb.TextEntity{{Start: 46, End: 51, Tag: "FAIR"}},
				Urls: []*pb.UrlEntity{{
					Start: 52, End: 71, Url: "https://t.co/abc",
					ExpandedUrl: "https://example.org/fair-ai", DisplayUrl: "example.org/fair-ai",
				}},
			},
			PublicMetrics: &pb.TweetMetrics{RetweetCount: 3, ReplyCount: 1, LikeCount: 42, ImpressionCount: 1 << 33},
			Author: &pb.TwitterUser{
				Id: "12345", Username: "zoë_data", Name: "Zoë Ünïcode", Verified: true,
				CreatedAt: ts(time.Date(2009, 1, 2, 3, 4, 5, 0, time.UTC)), FollowersCount: 1200,
				Location: "Zürich", ProfileImageUrl: "https://pbs.twimg.com/p.jpg",
			},
			Media:    []*pb.TwitterMedia{{MediaKey: "3_1", Type: "photo", Url: "https://pbs.twimg.com/m.jpg", AltText: "a chart", Width: 1200, Height: 675}},
			Includes: []*pb.RawTweet{{Id: "1899999999999999000", Text: "原文ツイート", AuthorId: "777"}},
			Query:    "#FairAI lang:en",
		},
		"raw.web/v1": &pb.RawWebPage{
			Url:          "https://example.org/news/fair-ai",
			FinalUrl:     "https://www.example.org/news/fair-ai/",
			StatusCode:   200,
			ContentType:  "text/html; charset=utf-8",
			FetchedAt:    ts(sampleTime),
			Etag:         `W/"5e-1a2b"`,
			LastModified: "Fri, 14 Mar 2025 12:00:00 GMT",
			Headers: map[string]string{
				"content-type":     "text/html; charset=utf-8",
				"content-language": "de",
				"x-robots-tag":     "noai",
				"server":           "nginx",
				"cache-control":    "max-age=600",
			},
			Body:      []byte("<!doctype html><html lang=de><title>Grüße</title><p>Schöne Grüße – ✓</p></html>\x00\xff"),
			Truncated: true,
			Depth:     2,
			Referrer:  "https://example.org/",
			Seed:      "https://example.org/",
		},
		"raw.discord/v1": &pb.RawDiscordMessage{
			Id: "1100000000000000001", ChannelId: "1000", GuildId: "900",
			Author:              &pb.DiscordUser{Id: "42", Username: "ada", GlobalName: "Ada Λovelace"},
			Content:             "hello <@43> 👋 — see the attachment",
			Timestamp:           ts(sampleTime),
			EditedTimestamp:     ts(sampleTime.Add(time.Minute)),
			Mentions:            []*pb.DiscordUser{{Id: "43", Username: "bot", Bot: true}},
			Attachments:         []*pb.DiscordAttachment{{Id: "5", Filename: "data.csv", ContentType: "text/csv", Size: 1 << 20, Url: "https://cdn.discordapp.com/a/5/data.csv"}},
			Reactions:           []*pb.DiscordReaction{{Emoji: "🔥", Count: 7}, {Emoji: "custom:123", Count: 1}},
			ReferencedMessageId: "1100000000000000000",
			ThreadId:            "1100000000000000002",
			Type:                19,
			Pinned:              true,
			Embeds:              []*pb.DiscordEmbed{{Type: "link", Title: "Fair AI", Url: "https://example.org"}},
		},
		"raw.telegram/v1": &pb.RawTelegramMessage{
			UpdateId:         900000001,
			MessageId:        1234,
			Chat:             &pb.TelegramChat{Id: -1001234567890, Type: "channel", Title: "Новости ИИ", Username: "ai_news"},
			From:             &pb.TelegramUser{Id: 55, FirstName: "Иван", LanguageCode: "ru"},
			Date:             ts(sampleTime),
			EditDate:         ts(sampleTime.Add(2 * time.Minute)),
			Text:             "Привет, мир! https://example.org",
			Entities:         []*pb.TelegramEntity{{Type: "url", Offset: 13, Length: 19}},
			ReplyToMessageId: 1200,
			MessageThreadId:  7,
			ForwardFrom:      "channel:ai_digest",
			Media:            []*pb.TelegramMedia{{Type: "photo", FileId: "AgAC", FileUniqueId: "AQAD", Width: 1280, Height: 720, FileSize: 98765}},
			ChannelPost:      true,
		},
		"raw.podcast/v1": &pb.RawPodcastEpisode{
			FeedUrl: "https://feeds.example.org/fair.xml", FeedTitle: "Fair Data Hour",
			Guid: "urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427", Title: "Épisode 12: données équitables",
			Description: "We talk about <b>fair</b> data.", Link: "https://example.org/ep12",
			Published: ts(sampleTime.Add(-48 * time.Hour)), DurationSeconds: 3725,
			Enclosure: &pb.PodcastEnclosure{Url: "https://cdn.example.org/ep12.mp3", Type: "audio/mpeg", Length: 59_600_000},
			ImageUrl:  "https://cdn.example.org/cover.jpg", Author: "Fair Data", Language: "fr",
			Season: 2, Episode: 12, Explicit: false, TranscriptUrl: "https://example.org/ep12.vtt",
			Categories: []string{"Technology", "Science"},
			AudioUri:   "sha256/9f/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.mp3",
			AudioSha256: []byte{
				0x9f, 0x86, 0xd0, 0x81, 0x88, 0x4c, 0x7d, 0x65, 0x9a, 0x2f, 0xea, 0xa0, 0xc5, 0x5a, 0xd0, 0x15,
				0xa3, 0xbf, 0x4f, 0x1b, 0x2b, 0x0b, 0x82, 0x2c, 0xd1, 0x5d, 0x6c, 0x15, 0xb0, 0xf0, 0x0a, 0x08,
			},
		},
		"doc.structured/v1": &pb.Document{
			Id: "web:https://www.example.org/news/fair-ai/", Source: "web", SourceId: "https://www.example.org/news/fair-ai/",
			Url: "https://www.example.org/news/fair-ai/", Title: "Grüße aus Zürich",
			Text: "Schöne Grüße – ✓. 日本語のテキストも。", Language: "de", LanguageConfidence: 0.93,
			Authors: []string{"Jürgen", "Ana"}, Published: ts(sampleTime.Add(-24 * time.Hour)),
			Links:    []*pb.Link{{Url: "https://example.org/", Text: "home", Rel: "nofollow"}},
			Hashtags: []string{"FairAI"}, Mentions: []string{"fairstream"},
			Media:    []*pb.MediaRef{{Type: "image", Url: "https://example.org/i.png", AltText: "Logo", MimeType: "image/png"}},
			ParentId: "p1", ThreadId: "t1", Description: "Über faire Daten",
			Lineage: &pb.Lineage{
				EventId: "01JPAY3S7MZ4Q1V2X3Y4Z5A6B7", EventType: "raw.web/v1", Worker: "0xAbC0000000000000000000000000000000000001",
				ContentHash: []byte{1, 2, 3, 4}, Stage: "structure", StageVersion: "1.0.0",
			},
			TextTruncated: true,
		},
		"raw.twitter_trend/v1": &pb.RawTwitterTrend{Woeid: 23424977, Name: "#FairAI", TweetCount: 12345, Rank: 1, FetchedAt: ts(sampleTime)},
		"raw.twitter_profile/v1": &pb.RawTwitterProfile{
			User:      &pb.TwitterUser{Id: "12345", Username: "fairstream", Name: "Fair Stream ✨", Verified: true, FollowersCount: 1000},
			FetchedAt: ts(sampleTime),
		},
		"connector.cursor/v1": &pb.Cursor{
			Connector: "twitter", Stream: "search:#FairAI",
			Position: map[string]string{"since_id": "1899999999999999999", "next_token": "b26v89c19zqg8o3fo7"},
			Events:   420, Updated: ts(sampleTime),
		},
		"job/v1": &pb.Job{
			Id: "job-1", Connector: "web", Kind: "crawl", Params: map[string]string{"seed": "https://example.org/", "depth": "2"},
			Requester: "0xAbC0000000000000000000000000000000000002", MaxEvents: 100, Deadline: ts(sampleTime.Add(time.Hour)),
		},
		"job.status/v1": &pb.JobStatus{JobId: "job-1", Connector: "web", State: "running", Events: 7, Worker: "0xAbC0000000000000000000000000000000000001", Updated: ts(sampleTime)},
		"connector.error/v1": &pb.ConnectorError{
			Connector: "twitter", Stream: "search:#FairAI", Url: "https://api.x.com/2/tweets/search/recent", StatusCode: 200,
			ContentType: "text/html", Error: "response is not JSON", Snippet: "<html><body>Über capacity</body></html>", Attempt: 2,
		},
		"doc.annotated/v1": &pb.AnnotatedDocument{
			Document: &pb.Document{Id: "twitter:1993284056323145276", Source: "twitter", SourceId: "1993284056323145276",
				Text: "Grüße from @fairstream: $ETH up, #FairAI 🎉 by Ada Lovelace in Zürich", Language: "en"},
			Annotations: &pb.Annotations{
				Language: "en", LanguageConfidence: 0.82,
				Sentiment: &pb.Sentiment{Compound: 0.6369, Label: "positive", Positive: 0.4, Neutral: 0.6},
				Entities: []*pb.Entity{
					{Type: "mention", Text: "@fairstream", Value: "fairstream", Start: 11, End: 22, Method: "pattern"},
					{Type: "person", Text: "Ada Lovelace", Value: "Ada Lovelace", Start: 46, End: 58, Method: "gazetteer"},
				},
				Keywords: []*pb.Keyword{{Text: "fair ai", Score: 4.5}}, Topics: []string{"fairai", "ethereum"},
				Annotator: "lexicon", AnnotatorVersion: "1", AnnotatedChars: 68,
				Llm:       &pb.LLMAnnotations{Model: "llama3.1:8b", Summary: "Zusammenfassung ✓", Topics: []string{"crypto"}, PromptTokens: 120, CompletionTokens: 40},
				LlmStatus: "ok",
			},
			Lineage: &pb.Lineage{EventId: "01JPAY3S7MZ4Q1V2X3Y4Z5A6B7", EventType: "doc.structured/v1", Stage: "annotate", StageVersion: "1"},
		},
		"doc.embedded/v1": &pb.EmbeddedDocument{
			DocumentId: "podcast:9f86d081884c7d65", Store: "embedded", Collection: "fairstream", Model: "all-MiniLM-L6-v2", Dimensions: 384,
			Chunks: []*pb.Chunk{{Id: "c1", Index: 0, Start: 0, End: 212, Tokens: 51, Speaker: "Zoë",
				StartTime: ts(sampleTime), EndTime: ts(sampleTime.Add(30 * time.Second)), TextSha256: []byte{0x9f, 0x86}}},
			Lineage: &pb.Lineage{EventId: "01JPAY3S7MZ4Q1V2X3Y4Z5A6B7", EventType: "doc.annotated/v1", Stage: "embed", StageVersion: "1"},
		},
		"scores.window/v1": &pb.WorkerWindow{
			Worker: "0xAbC0000000000000000000000000000000000001", WindowStart: ts(sampleTime.Add(-10 * time.Minute)), WindowEnd: ts(sampleTime),
			Revision: 1, Records: 120, Bytes: 98765, ValidRecords: 119, UniqueRecords: 100, ExactDuplicates: 12, NearDuplicates: 7,
			Freshness: 88.25, JobsFulfilled: 2, JobLatencySeconds: 41.5, Sampled: 3, Verified: 2, Unverifiable: 1,
			Credibility: 0.97, Utility: 85.6, Validator: "0xValidator", ScoringVersion: "1",
		},
		"scores.checkpoint/v1": &pb.ValidatorCheckpoint{
			Validator: "validator", PositionTime: ts(sampleTime), PositionTopic: "raw.twitter.v1", PositionPartition: 2, PositionOffset: 1234,
			Watermark: ts(sampleTime), Records: 98765, ScoringVersion: "validator/v1",
		},
		"scores.tick/v1": &pb.ValidatorTick{Validator: "validator", Watermark: ts(sampleTime)},
		"scores.verdict/v1": &pb.Verdict{
			EventId: "01JPAY3S7MZ4Q1V2X3Y4Z5A6B7", Worker: "0xAbC0000000000000000000000000000000000001", EventTime: ts(sampleTime),
			Result: "mismatch", Reason: "content differs from the source", Validator: "0xValidator", Source: "twitter",
		},
		"scores.contribution/v1": &pb.Contribution{
			EventId: "01JPAY3S7MZ4Q1V2X3Y4Z5A6B7", Worker: "0xAbC0000000000000000000000000000000000001", Source: "twitter",
			EventType: "raw.tweet/v1", EventTime: ts(sampleTime), Ingested: ts(sampleTime.Add(time.Second)), Bytes: 812,
			ContentHash: []byte{0x9f, 0x86}, Valid: true, Unique: false, Duplicate: "near", Verification: "verified",
			WindowStart: ts(sampleTime.Add(-10 * time.Minute)), Revision: 1, Validator: "0xValidator",
		},
		"trends.snapshot/v1": &pb.TrendSnapshot{
			Source: "twitter", WindowStart: ts(sampleTime.Add(-15 * time.Minute)), WindowEnd: ts(sampleTime),
			Window: durationpb.New(15 * time.Minute), Slide: durationpb.New(30 * time.Second), Baseline: durationpb.New(6 * time.Hour),
			Terms: []*pb.TrendTerm{{Rank: 1, Term: "#fairai", Kind: "hashtag", Count: 412, CountError: 3, BaselineCount: 20.5, Velocity: 20.1,
				SampleDocumentIds: []string{"twitter:1993284056323145276"}}},
			Documents: 9120, StageVersion: "1",
		},
	}
}
