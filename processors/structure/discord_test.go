package structure

import (
	"errors"
	"testing"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

func TestDiscordMessage(t *testing.T) {
	const eventType = "raw.discord/v1"
	ada := &fairstreampb.DiscordUser{Id: "80351110224678912", Username: "ada.l", GlobalName: "Ada"}
	tests := []struct {
		name string
		msg  *fairstreampb.RawDiscordMessage
		want *fairstreampb.Document
	}{
		{
			name: "reply in a guild with mentions, custom emoji, links, attachments and an embed",
			msg: &fairstreampb.RawDiscordMessage{
				Id: "1250000000000000001", ChannelId: "1100000000000000002", GuildId: "1000000000000000003",
				Author: ada,
				Content: "<@!80351110224678913> the scoring write-up is out <:pepe_yes:987654321098765432>\n" +
					"Read <https://fairstream.example/blog/scoring> and https://github.com/fairstream/fairstream/pull/12). #release @everyone",
				Timestamp:       ts("2025-08-01T09:30:00Z"),
				EditedTimestamp: ts("2025-08-01T09:35:00Z"),
				Mentions: []*fairstreampb.DiscordUser{
					{Id: "80351110224678913", Username: "bob_builds", GlobalName: "Bob"},
					{Id: "80351110224678914", Username: "carol"},
				},
				Attachments: []*fairstreampb.DiscordAttachment{
					{Id: "1", Filename: "chart.png", ContentType: "image/png", Size: 48213, Width: 800, Height: 600,
						Url: "https://cdn.discordapp.com/attachments/1100000000000000002/1/chart.png"},
					{Id: "2", Filename: "scoring-notes.pdf", Size: 120000,
						Url: "https://cdn.discordapp.com/attachments/1100000000000000002/2/scoring-notes.pdf"},
					{Id: "3", Filename: "standup.ogg", ContentType: "audio/ogg; codecs=opus",
						Url: "https://cdn.discordapp.com/attachments/1100000000000000002/3/standup.ogg"},
				},
				Reactions:           []*fairstreampb.DiscordReaction{{Emoji: "🎉", Count: 4}},
				ReferencedMessageId: "1249999999999999999",
				Type:                19,
				Embeds: []*fairstreampb.DiscordEmbed{{Type: "article", Title: "How fairstream scores workers",
					Description: "Utility per window,   times credibility.", Url: "https://fairstream.example/blog/scoring"}},
			},
			want: &fairstreampb.Document{
				Id: "discord:1100000000000000002/1250000000000000001", Source: "discord", SourceId: "1250000000000000001",
				Url: "https://discord.com/channels/1000000000000000003/1100000000000000002/1250000000000000001",
				Text: "@bob_builds the scoring write-up is out :pepe_yes:\n" +
					"Read https://fairstream.example/blog/scoring and https://github.com/fairstream/fairstream/pull/12). #release @everyone",
				Language: "en", LanguageConfidence: detected,
				Authors:   []string{"Ada (@ada.l)"},
				Published: ts("2025-08-01T09:30:00Z"),
				Links: []*fairstreampb.Link{
					{Url: "https://fairstream.example/blog/scoring", Text: "How fairstream scores workers"},
					{Url: "https://github.com/fairstream/fairstream/pull/12"},
				},
				Hashtags: []string{"release"},
				Mentions: []string{"bob_builds", "carol"},
				Media: []*fairstreampb.MediaRef{
					{Type: "image", Url: "https://cdn.discordapp.com/attachments/1100000000000000002/1/chart.png", MimeType: "image/png"},
					{Type: "file", Url: "https://cdn.discordapp.com/attachments/1100000000000000002/2/scoring-notes.pdf", MimeType: "application/pdf"},
					{Type: "audio", Url: "https://cdn.discordapp.com/attachments/1100000000000000002/3/standup.ogg", MimeType: "audio/ogg"},
				},
				ParentId:    "1249999999999999999",
				Description: "Utility per window, times credibility.",
				Lineage:     testLineage(eventType),
			},
		},
		{
			name: "German message that started a thread, detected language, no guild",
			msg: &fairstreampb.RawDiscordMessage{
				Id: "1260000000000000001", ChannelId: "1100000000000000009",
				Author:    &fairstreampb.DiscordUser{Id: "5", Username: "juergen", GlobalName: "Jürgen Müller"},
				Content:   "Ich habe die Gewichtung der Aktualität überarbeitet: ältere Einträge zählen jetzt deutlich weniger, und doppelte Inhalte werden erkannt. Rückmeldungen bitte im Thread 🙏",
				Timestamp: ts("2025-08-02T10:00:00Z"),
				ThreadId:  "1260000000000000001",
			},
			want: &fairstreampb.Document{
				Id: "discord:1100000000000000009/1260000000000000001", Source: "discord", SourceId: "1260000000000000001",
				Text:     "Ich habe die Gewichtung der Aktualität überarbeitet: ältere Einträge zählen jetzt deutlich weniger, und doppelte Inhalte werden erkannt. Rückmeldungen bitte im Thread 🙏",
				Language: "de", LanguageConfidence: detected,
				Authors:   []string{"Jürgen Müller (@juergen)"},
				Published: ts("2025-08-02T10:00:00Z"),
				ThreadId:  "1260000000000000001",
				Lineage:   testLineage(eventType),
			},
		},
		{
			name: "a bot's message with only a rich embed; an unknown mention kept by ID",
			msg: &fairstreampb.RawDiscordMessage{
				Id: "1270000000000000001", ChannelId: "1100000000000000002", GuildId: "1000000000000000003",
				Author:    &fairstreampb.DiscordUser{Id: "9", Username: "newsbot", Bot: true},
				Content:   "  ",
				Timestamp: ts("2025-08-03T00:00:00Z"),
				Embeds: []*fairstreampb.DiscordEmbed{
					{Type: "rich", Title: "Epoch 42 closed", Description: "1,204 workers paid. Top source: #telegram"},
					{Type: "image", Url: "https://media.example.org/epoch42.webp"},
				},
			},
			want: &fairstreampb.Document{
				Id: "discord:1100000000000000002/1270000000000000001", Source: "discord", SourceId: "1270000000000000001",
				Url:         "https://discord.com/channels/1000000000000000003/1100000000000000002/1270000000000000001",
				Text:        "Epoch 42 closed\n1,204 workers paid. Top source: #telegram",
				Authors:     []string{"@newsbot"},
				Published:   ts("2025-08-03T00:00:00Z"),
				Links:       []*fairstreampb.Link{{Url: "https://media.example.org/epoch42.webp"}},
				Hashtags:    []string{"telegram"},
				Media:       []*fairstreampb.MediaRef{{Type: "image", Url: "https://media.example.org/epoch42.webp", MimeType: "image/webp"}},
				Description: "1,204 workers paid. Top source: #telegram",
				Lineage:     testLineage(eventType),
			},
		},
		{
			name: "CJK with an animated emoji and a mention the array does not resolve",
			msg: &fairstreampb.RawDiscordMessage{
				Id: "1280000000000000001", ChannelId: "1100000000000000002", GuildId: "1000000000000000003",
				Author:  &fairstreampb.DiscordUser{Id: "6", Username: "mei"},
				Content: "<@123456789012345678> 看看这个 <a:party:112233445566778899> #数据集",
			},
			want: &fairstreampb.Document{
				Id: "discord:1100000000000000002/1280000000000000001", Source: "discord", SourceId: "1280000000000000001",
				Url:      "https://discord.com/channels/1000000000000000003/1100000000000000002/1280000000000000001",
				Text:     "<@123456789012345678> 看看这个 :party: #数据集",
				Authors:  []string{"@mei"},
				Hashtags: []string{"数据集"},
				Mentions: []string{"123456789012345678"},
				Lineage:  testLineage(eventType),
			},
		},
	}
	cfg := DefaultConfig()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := DiscordMessage(cfg, testSource(eventType), tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			diffDoc(t, doc, tc.want)
			checkDoc(t, cfg, doc)
			deterministic(t, cfg, testSource(eventType), tc.msg, DiscordMessage, doc)
		})
	}
}

func TestDiscordSkippedAndUnprocessable(t *testing.T) {
	cfg := DefaultConfig()
	src := testSource("raw.discord/v1")
	for name, m := range map[string]*fairstreampb.RawDiscordMessage{
		"member join notice": {Id: "1", ChannelId: "2", Type: 7, Author: &fairstreampb.DiscordUser{Username: "new"}},
		"empty embed":        {Id: "1", ChannelId: "2", Embeds: []*fairstreampb.DiscordEmbed{{Type: "rich"}}},
	} {
		if doc, err := DiscordMessage(cfg, src, m); doc != nil || err != nil {
			t.Errorf("%s: DiscordMessage = %v, %v; want skipped", name, doc, err)
		}
	}
	for name, m := range map[string]*fairstreampb.RawDiscordMessage{
		"no channel": {Id: "1", Content: "hi"},
		"no id":      {ChannelId: "2", Content: "hi"},
		"bad id":     {Id: "1 2", ChannelId: "2", Content: "hi"},
		"nil":        nil,
	} {
		if _, err := DiscordMessage(cfg, src, m); !errors.Is(err, ErrUnprocessable) {
			t.Errorf("%s: err = %v, want ErrUnprocessable", name, err)
		}
	}
}
