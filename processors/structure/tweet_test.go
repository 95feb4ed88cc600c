package structure

import (
	"errors"
	"strings"
	"testing"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

func TestTweet(t *testing.T) {
	const eventType = "raw.tweet/v1"
	ada := &fairstreampb.TwitterUser{Id: "2244994945", Username: "ada_l", Name: "Ada Lovelace", Verified: true, FollowersCount: 1200}
	tests := []struct {
		name  string
		tweet *fairstreampb.RawTweet
		want  *fairstreampb.Document
	}{
		{
			name: "reply with a t.co link, hashtag, mention and emoji",
			tweet: &fairstreampb.RawTweet{
				Id:   "1790000000000000001",
				Text: "Fair data 🎉 for #FairAI &amp; friends: https://t.co/AbC123 via @fairstream_dev",
				// X gives spans in code points: the emoji is one.
				Entities: &fairstreampb.TweetEntities{
					Hashtags: []*fairstreampb.TextEntity{{Start: 16, End: 23, Tag: "FairAI"}},
					Mentions: []*fairstreampb.TextEntity{{Start: 63, End: 78, Tag: "fairstream_dev", Id: "1500000000000000000"}},
					Urls: []*fairstreampb.UrlEntity{{Start: 39, End: 58, Url: "https://t.co/AbC123",
						ExpandedUrl: "https://fairstream.example/blog/launch?utm_source=x", DisplayUrl: "fairstream.example/blog/launch…"}},
				},
				AuthorId: "2244994945", Author: ada,
				CreatedAt:        ts("2025-05-01T12:00:00Z"),
				ConversationId:   "1790000000000000000",
				Lang:             "en",
				InReplyToUserId:  "1500000000000000000",
				ReferencedTweets: []*fairstreampb.TweetReference{{Type: "replied_to", Id: "1790000000000000000"}},
				PublicMetrics:    &fairstreampb.TweetMetrics{LikeCount: 12, ReplyCount: 1},
				Media: []*fairstreampb.TwitterMedia{{MediaKey: "3_1790000000000000001", Type: "photo",
					Url: "https://pbs.twimg.com/media/GAbCdEf.jpg", AltText: "A whiteboard  full of\ndiagrams", Width: 1200, Height: 800}},
				Query: "#FairAI",
			},
			want: &fairstreampb.Document{
				Id: "twitter:1790000000000000001", Source: "twitter", SourceId: "1790000000000000001",
				Url:      "https://x.com/ada_l/status/1790000000000000001",
				Text:     "Fair data 🎉 for #FairAI & friends: https://fairstream.example/blog/launch?utm_source=x via @fairstream_dev",
				Language: "en", LanguageConfidence: 1,
				Authors:   []string{"Ada Lovelace (@ada_l)"},
				Published: ts("2025-05-01T12:00:00Z"),
				Links:     []*fairstreampb.Link{{Url: "https://fairstream.example/blog/launch?utm_source=x", Text: "fairstream.example/blog/launch…"}},
				Hashtags:  []string{"FairAI"},
				Mentions:  []string{"fairstream_dev"},
				Media: []*fairstreampb.MediaRef{{Type: "image", Url: "https://pbs.twimg.com/media/GAbCdEf.jpg",
					AltText: "A whiteboard full of diagrams", MimeType: "image/jpeg"}},
				ParentId: "1790000000000000000", ThreadId: "1790000000000000000",
				Lineage: testLineage(eventType),
			},
		},
		{
			name: "Japanese with emoji before the link, entities out of order",
			tweet: &fairstreampb.RawTweet{
				Id:   "1800000000000000002",
				Text: "新しいモデルを公開しました🚀✨ 詳細→ https://t.co/JpLink01 #機械学習 #AI @ai_lab_jp",
				Entities: &fairstreampb.TweetEntities{
					Hashtags: []*fairstreampb.TextEntity{{Start: 48, End: 51, Tag: "AI"}, {Start: 42, End: 47, Tag: "機械学習"}},
					Mentions: []*fairstreampb.TextEntity{{Start: 52, End: 62, Tag: "ai_lab_jp"}},
					Urls: []*fairstreampb.UrlEntity{{Start: 20, End: 41, Url: "https://t.co/JpLink01",
						ExpandedUrl: "https://ai-lab.example.jp/ja/news/2025/model", DisplayUrl: "ai-lab.example.jp/ja/news/2025/…"}},
				},
				Author:         &fairstreampb.TwitterUser{Id: "7", Username: "ai_lab_jp", Name: "AIラボ"},
				CreatedAt:      ts("2025-06-02T03:04:05Z"),
				ConversationId: "1800000000000000002",
				Lang:           "ja",
			},
			want: &fairstreampb.Document{
				Id: "twitter:1800000000000000002", Source: "twitter", SourceId: "1800000000000000002",
				Url:      "https://x.com/ai_lab_jp/status/1800000000000000002",
				Text:     "新しいモデルを公開しました🚀✨ 詳細→ https://ai-lab.example.jp/ja/news/2025/model #機械学習 #AI @ai_lab_jp",
				Language: "ja", LanguageConfidence: 1,
				Authors:   []string{"AIラボ (@ai_lab_jp)"},
				Published: ts("2025-06-02T03:04:05Z"),
				Links:     []*fairstreampb.Link{{Url: "https://ai-lab.example.jp/ja/news/2025/model", Text: "ai-lab.example.jp/ja/news/2025/…"}},
				Hashtags:  []string{"機械学習", "AI"},
				Mentions:  []string{"ai_lab_jp"},
				ThreadId:  "1800000000000000002",
				Lineage:   testLineage(eventType),
			},
		},
		{
			name: "Arabic without entities: tags and links from the text",
			tweet: &fairstreampb.RawTweet{
				Id:        "1810000000000000003",
				Text:      "البيانات العادلة أساس الذكاء الاصطناعي المسؤول 🤖 #ذكاء_اصطناعي @fair_ar https://example.org/ar/fair-data",
				Author:    &fairstreampb.TwitterUser{Username: "fair_ar"},
				CreatedAt: ts("2025-07-03T08:00:00Z"),
				Lang:      "ar",
			},
			want: &fairstreampb.Document{
				Id: "twitter:1810000000000000003", Source: "twitter", SourceId: "1810000000000000003",
				Url:      "https://x.com/fair_ar/status/1810000000000000003",
				Text:     "البيانات العادلة أساس الذكاء الاصطناعي المسؤول 🤖 #ذكاء_اصطناعي @fair_ar https://example.org/ar/fair-data",
				Language: "ar", LanguageConfidence: 1,
				Authors:   []string{"@fair_ar"},
				Published: ts("2025-07-03T08:00:00Z"),
				Links:     []*fairstreampb.Link{{Url: "https://example.org/ar/fair-data"}},
				Hashtags:  []string{"ذكاء_اصطناعي"},
				Mentions:  []string{"fair_ar"},
				Lineage:   testLineage(eventType),
			},
		},
		{
			name: "media only: the photo link and the media, no language",
			tweet: &fairstreampb.RawTweet{
				Id:   "1820000000000000004",
				Text: "https://t.co/Pic0001",
				Entities: &fairstreampb.TweetEntities{Urls: []*fairstreampb.UrlEntity{{Start: 0, End: 20, Url: "https://t.co/Pic0001",
					ExpandedUrl: "https://x.com/ada_l/status/1820000000000000004/photo/1", DisplayUrl: "pic.x.com/Pic0001"}}},
				Author: ada,
				Lang:   "zxx",
				Media: []*fairstreampb.TwitterMedia{
					{MediaKey: "3_1", Type: "photo", Url: "https://pbs.twimg.com/media/Photo1.png"},
					{MediaKey: "7_2", Type: "video", PreviewImageUrl: "https://pbs.twimg.com/ext_tw_video_thumb/2/pu/img/thumb.jpg", DurationMs: 30500, AltText: "Timelapse"},
					{MediaKey: "16_3", Type: "animated_gif", Url: "https://video.twimg.com/tweet_video/Gif3.mp4"},
				},
			},
			want: &fairstreampb.Document{
				Id: "twitter:1820000000000000004", Source: "twitter", SourceId: "1820000000000000004",
				Url:     "https://x.com/ada_l/status/1820000000000000004",
				Text:    "https://x.com/ada_l/status/1820000000000000004/photo/1",
				Authors: []string{"Ada Lovelace (@ada_l)"},
				Links:   []*fairstreampb.Link{{Url: "https://x.com/ada_l/status/1820000000000000004/photo/1", Text: "pic.x.com/Pic0001"}},
				Media: []*fairstreampb.MediaRef{
					{Type: "image", Url: "https://pbs.twimg.com/media/Photo1.png", MimeType: "image/png"},
					{Type: "video", Url: "https://pbs.twimg.com/ext_tw_video_thumb/2/pu/img/thumb.jpg", AltText: "Timelapse"},
					{Type: "video", Url: "https://video.twimg.com/tweet_video/Gif3.mp4", MimeType: "video/mp4"},
				},
				Lineage: testLineage(eventType),
			},
		},
		{
			name: "offsets that miss the link: expanded where the t.co URL stands",
			tweet: &fairstreampb.RawTweet{
				Id:   "1830000000000000005",
				Text: "Q&amp;A &lt;live&gt; at https://t.co/QaLink1 — join us",
				// Spans counted on the unescaped text.
				Entities: &fairstreampb.TweetEntities{Urls: []*fairstreampb.UrlEntity{{Start: 14, End: 34, Url: "https://t.co/QaLink1",
					ExpandedUrl: "https://live.example.com/qa?ref=tw&lang=en"}}},
				Lang: "und",
			},
			want: &fairstreampb.Document{
				Id: "twitter:1830000000000000005", Source: "twitter", SourceId: "1830000000000000005",
				Url:     "https://x.com/i/status/1830000000000000005",
				Text:    "Q&A <live> at https://live.example.com/qa?ref=tw&lang=en — join us",
				Links:   []*fairstreampb.Link{{Url: "https://live.example.com/qa?ref=tw&lang=en"}},
				Lineage: testLineage(eventType),
			},
		},
		{
			name: "undetermined lang: detected from the text without links and mentions",
			tweet: &fairstreampb.RawTweet{
				Id:       "1840000000000000006",
				Text:     "@someone Thread 🧵 Why provenance matters: every record keeps the worker who fetched it, the hash of its content and the stage that changed it. https://t.co/Thr3ad",
				Entities: &fairstreampb.TweetEntities{Mentions: []*fairstreampb.TextEntity{{Start: 0, End: 9, Tag: "someone"}}},
				Lang:     "und",
				ReferencedTweets: []*fairstreampb.TweetReference{
					{Type: "quoted", Id: "1700000000000000000"},
				},
				ConversationId: "1840000000000000006",
			},
			want: &fairstreampb.Document{
				Id: "twitter:1840000000000000006", Source: "twitter", SourceId: "1840000000000000006",
				Url:      "https://x.com/i/status/1840000000000000006",
				Text:     "@someone Thread 🧵 Why provenance matters: every record keeps the worker who fetched it, the hash of its content and the stage that changed it. https://t.co/Thr3ad",
				Language: "en", LanguageConfidence: detected,
				Mentions: []string{"someone"},
				ThreadId: "1840000000000000006",
				Lineage:  testLineage(eventType),
			},
		},
		{
			name:  "legacy language codes",
			tweet: &fairstreampb.RawTweet{Id: "1850000000000000007", Text: "Selamat pagi, Jakarta!", Lang: "in"},
			want: &fairstreampb.Document{
				Id: "twitter:1850000000000000007", Source: "twitter", SourceId: "1850000000000000007",
				Url: "https://x.com/i/status/1850000000000000007", Text: "Selamat pagi, Jakarta!",
				Language: "id", LanguageConfidence: 1, Lineage: testLineage(eventType),
			},
		},
	}
	cfg := DefaultConfig()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Tweet(cfg, testSource(eventType), tc.tweet)
			if err != nil {
				t.Fatal(err)
			}
			diffDoc(t, doc, tc.want)
			checkDoc(t, cfg, doc)
			deterministic(t, cfg, testSource(eventType), tc.tweet, Tweet, doc)
		})
	}
}

func TestTweetSkippedAndUnprocessable(t *testing.T) {
	cfg := DefaultConfig()
	src := testSource("raw.tweet/v1")
	for name, tw := range map[string]*fairstreampb.RawTweet{
		"no text, no media": {Id: "1", Lang: "en", Author: &fairstreampb.TwitterUser{Username: "a"}},
		"whitespace only":   {Id: "2", Text: " \n\t "},
	} {
		if doc, err := Tweet(cfg, src, tw); doc != nil || err != nil {
			t.Errorf("%s: Tweet = %v, %v; want skipped", name, doc, err)
		}
	}
	for name, tw := range map[string]*fairstreampb.RawTweet{
		"no id":    {Text: "hello"},
		"bad id":   {Id: "1/2", Text: "hello"},
		"no tweet": nil,
	} {
		_, err := Tweet(cfg, src, tw)
		if !errors.Is(err, ErrUnprocessable) {
			t.Errorf("%s: err = %v, want ErrUnprocessable", name, err)
		}
	}
	if _, err := Tweet(Config{}, src, &fairstreampb.RawTweet{Id: "1", Text: "x"}); err == nil || errors.Is(err, ErrUnprocessable) {
		t.Errorf("invalid config: err = %v", err)
	}
}

func TestTweetCaps(t *testing.T) {
	cfg := Config{MaxTextBytes: 50, MaxLinks: 2, MaxBodyBytes: 1}
	tw := &fairstreampb.RawTweet{Id: "9", Text: strings.Repeat("ü", 40) + " https://a.example/1 https://a.example/2 https://a.example/3 #" + strings.Repeat("x", 300)}
	doc, err := Tweet(cfg, testSource("raw.tweet/v1"), tw)
	if err != nil {
		t.Fatal(err)
	}
	checkDoc(t, cfg, doc)
	if !doc.GetTextTruncated() || len(doc.GetText()) > 50 || len(doc.GetLinks()) != 2 {
		t.Errorf("truncated %v, text %d bytes, %d links", doc.GetTextTruncated(), len(doc.GetText()), len(doc.GetLinks()))
	}
	if len(doc.GetHashtags()) != 1 || len(doc.GetHashtags()[0]) != maxTagBytes {
		t.Errorf("hashtags %q: want one cut to %d bytes", doc.GetHashtags(), maxTagBytes)
	}
}
