package structure

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// FuzzWebPage feeds arbitrary bodies and content types to WebPage: it must
// not panic, it must fail only with ErrUnprocessable, and every document it
// gives must be valid UTF-8 throughout and respect the caps.
func FuzzWebPage(f *testing.F) {
	files, err := filepath.Glob("testdata/*")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		if fi, err := os.Stat(name); err != nil || fi.IsDir() {
			continue
		}
		body, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, ct := range []string{"text/html", "text/plain; charset=utf-8", "application/xhtml+xml", ""} {
			f.Add(body, ct, "https://example.com/a/b?c=d")
		}
	}
	f.Add([]byte("<p>caf\xe9 \xff\xfe</p>"), "text/html; charset=utf-8", "https://example.com/")
	f.Add([]byte(`<base href="//cdn.example.net/x/"><a href="../y#z">y</a>`), "text/html", "http://a.example/")
	f.Add([]byte(strings.Repeat("<div><b>", 600)+"deep"), "text/html", "http://a.example/")

	cfg := Config{MaxTextBytes: 2000, MaxLinks: 5, MaxBodyBytes: 1 << 20}
	f.Fuzz(func(t *testing.T, body []byte, contentType, pageURL string) {
		page := &fairstreampb.RawWebPage{Url: pageURL, StatusCode: 200, ContentType: contentType, Body: body}
		doc, err := WebPage(cfg, Source{EventID: "e"}, page)
		if err != nil {
			if !errors.Is(err, ErrUnprocessable) {
				t.Fatalf("error does not wrap ErrUnprocessable: %v", err)
			}
			if doc != nil {
				t.Fatal("document returned with an error")
			}
			return
		}
		if doc == nil {
			if len(body) != 0 {
				t.Fatal("a 200 page with a body was skipped")
			}
			return
		}
		if len(doc.GetText()) > cfg.MaxTextBytes {
			t.Errorf("text is %d bytes, over %d", len(doc.GetText()), cfg.MaxTextBytes)
		}
		if len(doc.GetLinks()) > cfg.MaxLinks {
			t.Errorf("%d links, over %d", len(doc.GetLinks()), cfg.MaxLinks)
		}
		if c := doc.GetLanguageConfidence(); c < 0 || c > 1 {
			t.Errorf("language confidence %v", c)
		}
		strs := []string{doc.GetId(), doc.GetUrl(), doc.GetTitle(), doc.GetText(), doc.GetLanguage(), doc.GetDescription()}
		strs = append(strs, doc.GetAuthors()...)
		for _, l := range doc.GetLinks() {
			strs = append(strs, l.GetUrl(), l.GetText(), l.GetRel())
		}
		for _, m := range doc.GetMedia() {
			strs = append(strs, m.GetUrl(), m.GetAltText(), m.GetMimeType())
		}
		for _, s := range strs {
			if !utf8.ValidString(s) {
				t.Errorf("invalid UTF-8: %q", s)
			}
		}
		if _, err := proto.Marshal(doc); err != nil {
			t.Errorf("marshal: %v", err)
		}
	})
}

// fuzzCheck asserts what every structuring function promises on any input:
// it fails only with ErrUnprocessable and without a document; a document it
// gives is valid UTF-8 throughout, respects the caps, marshals, and is the
// same on a second run.
func fuzzCheck[P proto.Message](t *testing.T, cfg Config, in P, fn func(Config, Source, P) (*fairstreampb.Document, error)) {
	t.Helper()
	src := Source{EventID: "e", EventType: "raw.x/v1", Worker: "w"}
	doc, err := fn(cfg, src, in)
	if err != nil {
		if !errors.Is(err, ErrUnprocessable) {
			t.Fatalf("error does not wrap ErrUnprocessable: %v", err)
		}
		if doc != nil {
			t.Fatal("document returned with an error")
		}
		return
	}
	if doc == nil {
		return
	}
	checkDoc(t, cfg, doc)
	deterministic(t, cfg, src, in, fn, doc)
}

var fuzzCfg = Config{MaxTextBytes: 300, MaxLinks: 3, MaxBodyBytes: 1 << 20}

func FuzzTweet(f *testing.F) {
	f.Add("Fair data 🎉 for #FairAI &amp; friends: https://t.co/AbC123 via @fairstream_dev", "en", int32(39), int32(58),
		"https://t.co/AbC123", "https://fairstream.example/blog?x=1", "ada_l", "1790000000000000001")
	f.Add("新しい🚀 https://t.co/JpLink01 #機械学習", "und", int32(6), int32(27), "https://t.co/JpLink01", "https://ai.example.jp/お知らせ", "", "2")
	f.Add("https://t.co/x https://t.co/xy", "zxx", int32(0), int32(14), "https://t.co/x", "https://a.example/", "u", "3")
	f.Add("\xff\xfe &lt; @\xed\xa0\x80 #\u200d", "q\xffme", int32(-5), int32(1<<30), "", "javascript:alert(1)", "bad name", "4")
	f.Fuzz(func(t *testing.T, text, lang string, start, end int32, short, expanded, username, id string) {
		tw := &fairstreampb.RawTweet{
			Id: id, Text: text, Lang: lang, ConversationId: id,
			Author: &fairstreampb.TwitterUser{Username: username, Name: username + " " + lang},
			Entities: &fairstreampb.TweetEntities{
				Urls:     []*fairstreampb.UrlEntity{{Start: start, End: end, Url: short, ExpandedUrl: expanded, DisplayUrl: expanded}},
				Hashtags: []*fairstreampb.TextEntity{{Start: start, End: end, Tag: lang}},
				Mentions: []*fairstreampb.TextEntity{{Start: end, End: start, Tag: username}},
			},
			Media: []*fairstreampb.TwitterMedia{{Type: lang, Url: expanded, AltText: text, PreviewImageUrl: short}},
		}
		fuzzCheck(t, fuzzCfg, tw, Tweet)
		tw.Entities = nil
		fuzzCheck(t, fuzzCfg, tw, Tweet)
	})
}

func FuzzDiscordMessage(f *testing.F) {
	f.Add("<@!80351110224678913> out <:pepe:987654321098765432> <https://fairstream.example/b> #release", "80351110224678913", "bob",
		"rich", "Epoch 42", "https://cdn.example.org/a.png", "image/png")
	f.Add("", "", "", "rich", "تم إغلاق الحقبة", "", "")
	f.Add("<@\xff> <a::1> <https://\xff> <@&1> <#2> <t:1:R>", "\xff", "\x00", "gifv", "\xed\xa0\x80", "http://[::1", "audio/")
	f.Fuzz(func(t *testing.T, content, userID, username, embedType, embedText, url, contentType string) {
		m := &fairstreampb.RawDiscordMessage{
			Id: "1250000000000000001", ChannelId: "1100000000000000002", GuildId: userID,
			Author:              &fairstreampb.DiscordUser{Id: userID, Username: username, GlobalName: embedText},
			Content:             content,
			Mentions:            []*fairstreampb.DiscordUser{{Id: userID, Username: username}},
			Attachments:         []*fairstreampb.DiscordAttachment{{Filename: embedText, ContentType: contentType, Url: url}},
			Embeds:              []*fairstreampb.DiscordEmbed{{Type: embedType, Title: embedText, Description: content, Url: url}},
			ReferencedMessageId: userID, ThreadId: username,
		}
		fuzzCheck(t, fuzzCfg, m, DiscordMessage)
	})
}

func FuzzTelegramMessage(f *testing.F) {
	f.Add("🎉🎉 Launch day for #FairAI 🚀 https://example.org/launch by @fairstream_news", "", "hashtag", int32(20), int32(7), "", "fairstream_news", "")
	f.Add("👨‍👩‍👧 家族 example.jp/お知らせ", "", "url", int32(9), int32(15), "", "", "photo")
	f.Add("", "Whiteboard 📸", "text_link", int32(11), int32(1), "https://example.org/a#b", "x", "sticker")
	f.Add("\xff\xfe\xfd", "\xed\xa0\x80", "mention", int32(-1), int32(-1), "tg://user?id=1", "\xff", "\xff")
	f.Fuzz(func(t *testing.T, text, caption, typ string, offset, length int32, url, username, mediaType string) {
		m := &fairstreampb.RawTelegramMessage{
			MessageId: 101, Chat: &fairstreampb.TelegramChat{Id: -1001987654321, Type: "supergroup", Title: caption, Username: username},
			From:             &fairstreampb.TelegramUser{Id: 1, FirstName: text, Username: username, LanguageCode: typ},
			Text:             text,
			Caption:          caption,
			Entities:         []*fairstreampb.TelegramEntity{{Type: typ, Offset: offset, Length: length, Url: url}, {Type: "url", Offset: length, Length: offset}},
			Media:            []*fairstreampb.TelegramMedia{{Type: mediaType, FileId: url, MimeType: typ, FileName: caption}},
			ReplyToMessageId: int64(offset), MessageThreadId: int64(length),
		}
		fuzzCheck(t, fuzzCfg, m, TelegramMessage)
		m.Entities = nil
		fuzzCheck(t, fuzzCfg, m, TelegramMessage)
	})
}

func FuzzPodcastEpisode(f *testing.F) {
	f.Add(`<p>We talk <b>fair data</b> &amp; AI. @show #FairData</p><a href="/notes">notes</a>`, "Episode 42: Q&amp;A",
		"https://feeds.example.org/show.xml", "ep-42", "https://show.example.org/42", "en-us", "https://cdn.example.org/42.mp3")
	f.Add("Folge 7\r\n\r\nKapitel:\r\n00:00 Einleitung https://x.example/7", "", "https://podcast.example.de/feed.rss", "", "", "", "https://cdn.example.de/7.m4a")
	f.Add(strings.Repeat("<div>", 700)+"deep", "\xff", "http://a.example/\xff", "\xed\xa0\x80", "javascript:x", "q\xff", "ftp://x")
	f.Fuzz(func(t *testing.T, description, title, feed, guid, link, lang, enclosure string) {
		e := &fairstreampb.RawPodcastEpisode{
			FeedUrl: feed, Guid: guid, Title: title, Description: description, Link: link, Language: lang, Author: title,
			Enclosure: &fairstreampb.PodcastEnclosure{Url: enclosure, Type: lang}, ImageUrl: link, TranscriptUrl: enclosure,
		}
		fuzzCheck(t, fuzzCfg, e, PodcastEpisode)
	})
}
