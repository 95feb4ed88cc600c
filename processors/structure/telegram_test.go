package structure

import (
	"errors"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

func TestTelegramMessage(t *testing.T) {
	const eventType = "raw.telegram/v1"
	builders := &fairstreampb.TelegramChat{Id: -1001987654321, Type: "supergroup", Title: "Fair AI builders", Username: "fairai_builders"}
	news := &fairstreampb.TelegramChat{Id: -1002000000001, Type: "channel", Title: "Fairstream News", Username: "fairstream_news"}
	ada := &fairstreampb.TelegramUser{Id: 77001, FirstName: "Ada", LastName: "Lovelace", Username: "ada_l", LanguageCode: "en"}
	tests := []struct {
		name string
		msg  *fairstreampb.RawTelegramMessage
		want *fairstreampb.Document
	}{
		{
			name: "group message in a forum topic with hashtag, link and mention entities",
			msg: &fairstreampb.RawTelegramMessage{
				UpdateId: 812345670, MessageId: 101, Chat: builders, From: ada,
				Date:            ts("2025-11-25T09:00:00Z"),
				Text:            "Fair data for #FairAI — see https://example.org/fair @fairstream_bot",
				Entities:        []*fairstreampb.TelegramEntity{{Type: "hashtag", Offset: 14, Length: 7}, {Type: "url", Offset: 28, Length: 24}, {Type: "mention", Offset: 53, Length: 15}},
				MessageThreadId: 5,
			},
			want: &fairstreampb.Document{
				Id: "telegram:-1001987654321/101", Source: "telegram", SourceId: "-1001987654321/101",
				Url:       "https://t.me/fairai_builders/101",
				Text:      "Fair data for #FairAI — see https://example.org/fair @fairstream_bot",
				Authors:   []string{"Ada Lovelace (@ada_l)"},
				Published: ts("2025-11-25T09:00:00Z"),
				Links:     []*fairstreampb.Link{{Url: "https://example.org/fair"}},
				Hashtags:  []string{"FairAI"},
				Mentions:  []string{"fairstream_bot"},
				ThreadId:  "-1001987654321/5",
				Lineage:   testLineage(eventType),
			},
		},
		{
			name: "channel post: UTF-16 offsets after emoji (surrogate pairs)",
			msg: &fairstreampb.RawTelegramMessage{
				UpdateId: 812345680, MessageId: 9002, Chat: news, ChannelPost: true,
				Date: ts("2025-11-25T10:00:00Z"),
				Text: "🎉🎉 Launch day for #FairAI 🚀 https://example.org/launch by @fairstream_news",
				// Each 🎉 and 🚀 is two UTF-16 code units.
				Entities: []*fairstreampb.TelegramEntity{
					{Type: "bold", Offset: 5, Length: 10}, {Type: "hashtag", Offset: 20, Length: 7},
					{Type: "url", Offset: 31, Length: 26}, {Type: "mention", Offset: 61, Length: 16},
				},
			},
			want: &fairstreampb.Document{
				Id: "telegram:-1002000000001/9002", Source: "telegram", SourceId: "-1002000000001/9002",
				Url:       "https://t.me/fairstream_news/9002",
				Text:      "🎉🎉 Launch day for #FairAI 🚀 https://example.org/launch by @fairstream_news",
				Authors:   []string{"Fairstream News (@fairstream_news)"},
				Published: ts("2025-11-25T10:00:00Z"),
				Links:     []*fairstreampb.Link{{Url: "https://example.org/launch"}},
				Hashtags:  []string{"FairAI"},
				Mentions:  []string{"fairstream_news"},
				Lineage:   testLineage(eventType),
			},
		},
		{
			name: "family emoji (a ZWJ sequence) and CJK, a link without a scheme",
			msg: &fairstreampb.RawTelegramMessage{
				MessageId: 55, Chat: &fairstreampb.TelegramChat{Id: -1003000000003, Type: "supergroup", Title: "家族"},
				From: &fairstreampb.TelegramUser{Id: 3, FirstName: "太郎", LastName: "田中", Username: "tanaka_taro", LanguageCode: "ja"},
				Date: ts("2025-11-26T01:02:03Z"),
				Text: "👨‍👩‍👧 家族の写真 #家族 と #週末 — 詳細は example.jp/お知らせ @tanaka_taro",
				Entities: []*fairstreampb.TelegramEntity{
					{Type: "hashtag", Offset: 15, Length: 3}, {Type: "hashtag", Offset: 21, Length: 3},
					{Type: "url", Offset: 31, Length: 15}, {Type: "mention", Offset: 47, Length: 12},
				},
				ReplyToMessageId: 54,
			},
			want: &fairstreampb.Document{
				Id: "telegram:-1003000000003/55", Source: "telegram", SourceId: "-1003000000003/55",
				Text:      "👨‍👩‍👧 家族の写真 #家族 と #週末 — 詳細は example.jp/お知らせ @tanaka_taro",
				Authors:   []string{"太郎 田中 (@tanaka_taro)"},
				Published: ts("2025-11-26T01:02:03Z"),
				Links:     []*fairstreampb.Link{{Url: "http://example.jp/%E3%81%8A%E7%9F%A5%E3%82%89%E3%81%9B"}},
				Hashtags:  []string{"家族", "週末"},
				Mentions:  []string{"tanaka_taro"},
				ParentId:  "-1003000000003/54",
				Lineage:   testLineage(eventType),
			},
		},
		{
			name: "photo with a caption and caption entities, a reply",
			msg: &fairstreampb.RawTelegramMessage{
				UpdateId: 812345671, MessageId: 102, Chat: builders,
				From:             &fairstreampb.TelegramUser{Id: 77002, FirstName: "Jürgen", Username: "juergen"},
				Date:             ts("2025-11-25T09:01:00Z"),
				Caption:          "Whiteboard from today's session 📸",
				Entities:         []*fairstreampb.TelegramEntity{{Type: "bold", Offset: 0, Length: 10}},
				ReplyToMessageId: 101,
				Media: []*fairstreampb.TelegramMedia{{Type: "photo", FileId: "AgACAgQAAxkBAAIBZ2c_large", FileUniqueId: "AQADs2",
					FileSize: 98211, Width: 1280, Height: 960}},
			},
			want: &fairstreampb.Document{
				Id: "telegram:-1001987654321/102", Source: "telegram", SourceId: "-1001987654321/102",
				Url:       "https://t.me/fairai_builders/102",
				Text:      "Whiteboard from today's session 📸",
				Authors:   []string{"Jürgen (@juergen)"},
				Published: ts("2025-11-25T09:01:00Z"),
				Media:     []*fairstreampb.MediaRef{{Type: "image", Url: "AgACAgQAAxkBAAIBZ2c_large", MimeType: "image/jpeg"}},
				ParentId:  "-1001987654321/101",
				Lineage:   testLineage(eventType),
			},
		},
		{
			name: "a sticker and nothing else, in a private chat",
			msg: &fairstreampb.RawTelegramMessage{
				MessageId: 7, Chat: &fairstreampb.TelegramChat{Id: 77003, Type: "private"},
				From:  &fairstreampb.TelegramUser{Id: 77003, FirstName: "Mei"},
				Date:  ts("2025-11-25T09:05:00Z"),
				Media: []*fairstreampb.TelegramMedia{{Type: "sticker", FileId: "CAACAgIAAxkBAAEBsticker", FileUniqueId: "AgADst", Width: 512, Height: 512}},
			},
			want: &fairstreampb.Document{
				Id: "telegram:77003/7", Source: "telegram", SourceId: "77003/7",
				Authors:   []string{"Mei"},
				Published: ts("2025-11-25T09:05:00Z"),
				Media:     []*fairstreampb.MediaRef{{Type: "image", Url: "CAACAgIAAxkBAAEBsticker"}},
				Lineage:   testLineage(eventType),
			},
		},
		{
			name: "Russian text from an English-speaking user: the language is detected, not language_code",
			msg: &fairstreampb.RawTelegramMessage{
				MessageId: 300, Chat: builders, From: ada,
				Date: ts("2025-11-27T12:00:00Z"),
				Text: "Привет всем! Мы обновили правила оценки: теперь свежие данные весят больше, а дубликаты отсеиваются автоматически. Подробности в блоге.",
			},
			want: &fairstreampb.Document{
				Id: "telegram:-1001987654321/300", Source: "telegram", SourceId: "-1001987654321/300",
				Url:      "https://t.me/fairai_builders/300",
				Text:     "Привет всем! Мы обновили правила оценки: теперь свежие данные весят больше, а дубликаты отсеиваются автоматически. Подробности в блоге.",
				Language: "ru", LanguageConfidence: detected,
				Authors:   []string{"Ada Lovelace (@ada_l)"},
				Published: ts("2025-11-27T12:00:00Z"),
				Lineage:   testLineage(eventType),
			},
		},
		{
			name: "text_link, text_mention, and entities outside the text or splitting a pair",
			msg: &fairstreampb.RawTelegramMessage{
				MessageId: 301, Chat: builders, From: ada,
				Text: "Read the 📄 spec here and ping 👩‍💻 Dana",
				Entities: []*fairstreampb.TelegramEntity{
					{Type: "text_link", Offset: 12, Length: 9, Url: "https://docs.example.org/spec#scoring"},
					{Type: "text_mention", Offset: 37, Length: 4},
					{Type: "italic", Offset: 10, Length: 3},  // starts inside 📄
					{Type: "hashtag", Offset: 40, Length: 5}, // past the end
					{Type: "mention", Offset: -1, Length: 3},
					{Type: "url", Offset: 2, Length: 0},
					{Type: "text_link", Offset: 0, Length: 4, Url: "tg://user?id=1"},
				},
			},
			want: &fairstreampb.Document{
				Id: "telegram:-1001987654321/301", Source: "telegram", SourceId: "-1001987654321/301",
				Url:     "https://t.me/fairai_builders/301",
				Text:    "Read the 📄 spec here and ping 👩‍💻 Dana",
				Authors: []string{"Ada Lovelace (@ada_l)"},
				Links:   []*fairstreampb.Link{{Url: "https://docs.example.org/spec", Text: "spec here"}},
				Lineage: testLineage(eventType),
			},
		},
		{
			name: "no entities: tags and links from the text; a voice note and a document",
			msg: &fairstreampb.RawTelegramMessage{
				MessageId: 302, Chat: builders, From: ada,
				Caption: "Notes from #standup (cc @bob_b): https://example.org/notes.",
				Media: []*fairstreampb.TelegramMedia{
					{Type: "voice", FileId: "AwACAgQvoice", MimeType: "audio/ogg", Duration: 14},
					{Type: "document", FileId: "BQACAgQdoc", FileName: "scoring-notes.pdf", MimeType: "application/pdf", FileSize: 52311},
					{Type: "document", FileId: "BQACAgQimg", FileName: "chart.PNG"},
				},
			},
			want: &fairstreampb.Document{
				Id: "telegram:-1001987654321/302", Source: "telegram", SourceId: "-1001987654321/302",
				Url:      "https://t.me/fairai_builders/302",
				Text:     "Notes from #standup (cc @bob_b): https://example.org/notes.",
				Authors:  []string{"Ada Lovelace (@ada_l)"},
				Links:    []*fairstreampb.Link{{Url: "https://example.org/notes"}},
				Hashtags: []string{"standup"},
				Mentions: []string{"bob_b"},
				Media: []*fairstreampb.MediaRef{
					{Type: "audio", Url: "AwACAgQvoice", MimeType: "audio/ogg"},
					{Type: "file", Url: "BQACAgQdoc", MimeType: "application/pdf"},
					{Type: "image", Url: "BQACAgQimg", MimeType: "image/png"},
				},
				Lineage: testLineage(eventType),
			},
		},
	}
	cfg := DefaultConfig()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := TelegramMessage(cfg, testSource(eventType), tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			diffDoc(t, doc, tc.want)
			checkDoc(t, cfg, doc)
			deterministic(t, cfg, testSource(eventType), tc.msg, TelegramMessage, doc)
		})
	}
}

func TestUTF16Span(t *testing.T) {
	units := utf16.Encode([]rune("a😀b"))
	for _, tc := range []struct {
		offset, length int32
		want           string
		ok             bool
	}{
		{0, 1, "a", true}, {1, 2, "😀", true}, {3, 1, "b", true}, {0, 4, "a😀b", true},
		{1, 1, "\uFFFD", true}, {2, 2, "\uFFFDb", true},
		{4, 1, "", false}, {-1, 2, "", false}, {0, 0, "", false}, {2147483647, 2147483647, "", false},
	} {
		got, ok := utf16Span(units, tc.offset, tc.length)
		if got != tc.want || ok != tc.ok || !utf8.ValidString(got) {
			t.Errorf("utf16Span(%d, %d) = %q, %v; want %q, %v", tc.offset, tc.length, got, ok, tc.want, tc.ok)
		}
	}
}

func TestTelegramSkippedAndUnprocessable(t *testing.T) {
	cfg := DefaultConfig()
	src := testSource("raw.telegram/v1")
	chat := &fairstreampb.TelegramChat{Id: -100, Type: "supergroup"}
	for name, m := range map[string]*fairstreampb.RawTelegramMessage{
		"service message":  {MessageId: 1, Chat: chat, From: &fairstreampb.TelegramUser{Id: 1, FirstName: "A"}},
		"blank text":       {MessageId: 2, Chat: chat, Text: "\n \n"},
		"media without id": {MessageId: 3, Chat: chat, Media: []*fairstreampb.TelegramMedia{{Type: "photo"}}},
	} {
		if doc, err := TelegramMessage(cfg, src, m); doc != nil || err != nil {
			t.Errorf("%s: TelegramMessage = %v, %v; want skipped", name, doc, err)
		}
	}
	for name, m := range map[string]*fairstreampb.RawTelegramMessage{
		"no chat":       {MessageId: 1, Text: "hi"},
		"no message id": {Chat: chat, Text: "hi"},
		"nil":           nil,
	} {
		if _, err := TelegramMessage(cfg, src, m); !errors.Is(err, ErrUnprocessable) {
			t.Errorf("%s: err = %v, want ErrUnprocessable", name, err)
		}
	}
}
