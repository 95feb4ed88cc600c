package discord_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/connectors/discord"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// serve starts the fake and a source against it.
func serve(t *testing.T, edit ...func(*discord.Config)) (*fakeDiscord, *discord.Source) {
	t.Helper()
	f := newFake(t)
	srv := newServer(t, f)
	return f, newSource(t, srv.URL, connectors.NewClient(connectors.DefaultHTTPConfig(), srv.Client(), nil), edit...)
}

func newServer(t *testing.T, f *fakeDiscord) *httptest.Server {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

// poll fetches st from pos while pages say More (one poll of the worker),
// and returns the events and the position after it.
func poll(t *testing.T, src connectors.Source, st connectors.Stream, pos connectors.Position) ([]connectors.Event, connectors.Position, connectors.Page) {
	t.Helper()
	var all []connectors.Event
	for range 100 {
		page, err := src.Fetch(context.Background(), st, pos)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Events...)
		pos = page.Next
		if !page.More {
			return all, pos, page
		}
	}
	t.Fatal("the stream never caught up")
	return nil, nil, connectors.Page{}
}

func payloads(t *testing.T, evs []connectors.Event) map[string]*fairstreampb.RawDiscordMessage {
	t.Helper()
	out := map[string]*fairstreampb.RawDiscordMessage{}
	for _, e := range evs {
		m := e.Payload.(*fairstreampb.RawDiscordMessage)
		if e.Topic != discord.Topic || e.Key != m.GetChannelId() || !e.Time.Equal(m.GetTimestamp().AsTime()) {
			t.Fatalf("event %s: topic %s, key %s, time %s; payload %v", m.GetId(), e.Topic, e.Key, e.Time, m)
		}
		if out[m.GetId()] != nil {
			t.Fatalf("message %s twice", m.GetId())
		}
		out[m.GetId()] = m
	}
	return out
}

func TestFetchMapsMessages(t *testing.T) {
	_, src := serve(t)
	evs, _, _ := poll(t, src, src.Streams()[0], connectors.Position{})
	if len(evs) != wantA {
		t.Fatalf("%d events, want %d", len(evs), wantA)
	}
	// The channel's page comes oldest first.
	if first := evs[0].Payload.(*fairstreampb.RawDiscordMessage); first.GetId() != m1 {
		t.Fatalf("first event %s, want %s", first.GetId(), m1)
	}
	byID := payloads(t, evs)
	for id, m := range byID {
		if m.GetGuildId() != guild {
			t.Errorf("%s: guild %q", id, m.GetGuildId())
		}
	}

	welcome := byID[m1]
	if !welcome.GetPinned() || welcome.GetAuthor().GetUsername() != "ada_l" || welcome.GetAuthor().GetGlobalName() != "Ada Lovelace" ||
		welcome.GetAuthor().GetBot() || welcome.GetChannelId() != chanA || welcome.GetType() != 0 ||
		!strings.HasPrefix(welcome.GetContent(), "Welcome to #fair-ai 👋") ||
		!welcome.GetTimestamp().AsTime().Equal(time.Date(2025, 11, 20, 9, 0, 0, 120e6, time.UTC)) {
		t.Errorf("welcome: %v", welcome)
	}
	if r := welcome.GetReactions(); len(r) != 3 || r[0].GetEmoji() != "👋" || r[0].GetCount() != 5 ||
		r[1].GetEmoji() != "fairstream:"+emojiID || r[1].GetCount() != 2 || r[2].GetEmoji() != "1058897343283331072" {
		t.Errorf("reactions: %v", r)
	}

	reply := byID[m2]
	if reply.GetType() != 19 || reply.GetReferencedMessageId() != m1 || reply.GetContent() != "Merci <@"+welcome.GetAuthor().GetId()+"> ! Ça marche très bien 🇫🇷" ||
		len(reply.GetMentions()) != 1 || reply.GetMentions()[0].GetUsername() != "ada_l" || reply.GetAuthor().GetGlobalName() != "" {
		t.Errorf("reply: %v", reply)
	}

	if a := byID[m3].GetAttachments(); len(a) != 1 || a[0].GetFilename() != "whiteboard-ホワイトボード.png" || a[0].GetContentType() != "image/png" ||
		a[0].GetSize() != 482113 || a[0].GetWidth() != 1280 || a[0].GetHeight() != 960 || a[0].GetId() != "1440992750207107072" ||
		!strings.HasPrefix(a[0].GetUrl(), "https://cdn.discordapp.com/attachments/"+chanA+"/") {
		t.Errorf("image attachment: %v", a)
	}

	link := byID["1440993823948931072"]
	if e := link.GetEmbeds(); len(e) != 1 || e[0].GetType() != "article" || e[0].GetTitle() != "Fair data for AI — a primer" ||
		e[0].GetUrl() != "https://example.org/fair" || !strings.Contains(e[0].GetDescription(), "utility") {
		t.Errorf("link embed: %v", e)
	}
	if !link.GetEditedTimestamp().AsTime().Equal(time.Date(2025, 11, 20, 9, 16, 30, 250e6, time.UTC)) {
		t.Errorf("edited: %v", link.GetEditedTimestamp())
	}
	if welcome.GetEditedTimestamp() != nil {
		t.Errorf("an unedited message has edited_timestamp %v", welcome.GetEditedTimestamp())
	}

	// The message that started T1 names it; so do T1's messages, which
	// are keyed by the thread.
	if byID[m5].GetThreadId() != threadT1 || byID[m5].GetChannelId() != chanA {
		t.Errorf("thread starter: %v", byID[m5])
	}
	if byID[m9].GetThreadId() != threadT2 || byID[m1].GetThreadId() != "" {
		t.Errorf("thread ids: %q, %q", byID[m9].GetThreadId(), byID[m1].GetThreadId())
	}

	bot := byID["1441005148569731072"]
	if !bot.GetAuthor().GetBot() || bot.GetContent() != "" || len(bot.GetEmbeds()) != 1 || bot.GetEmbeds()[0].GetType() != "rich" ||
		bot.GetEmbeds()[0].GetTitle() != "Epoch 42 payouts" {
		t.Errorf("bot message: %v", bot)
	}

	greet := byID[m7]
	if greet.GetContent() != "مرحبا بالجميع — こんにちは — Grüße aus Köln" || greet.GetAuthor().GetGlobalName() != "أميرة" {
		t.Errorf("unicode message: %v", greet)
	}
	if r := greet.GetReactions(); len(r) != 2 || r[0].GetEmoji() != "🎉" || r[0].GetCount() != 3 || r[1].GetEmoji() != "❤️" || r[1].GetCount() != 2 {
		t.Errorf("unicode reactions: %v", r)
	}

	if a := byID["1441035347558531072"].GetAttachments(); len(a) != 1 || a[0].GetFilename() != "scoring-notes.pdf" ||
		a[0].GetContentType() != "application/pdf" || a[0].GetSize() != 98211 || a[0].GetWidth() != 0 || a[0].GetHeight() != 0 {
		t.Errorf("pdf attachment: %v", a)
	}
	if join := byID[m10]; join.GetType() != 7 || join.GetContent() != "" || join.GetAuthor().GetUsername() != "newcomer42" {
		t.Errorf("join message: %v", join)
	}

	// T1's messages.
	var inT1 []*fairstreampb.RawDiscordMessage
	for _, e := range evs {
		if m := e.Payload.(*fairstreampb.RawDiscordMessage); m.GetChannelId() == threadT1 {
			inT1 = append(inT1, m)
			if m.GetThreadId() != threadT1 || e.Key != threadT1 {
				t.Errorf("T1 message %s: thread %q, key %q", m.GetId(), m.GetThreadId(), e.Key)
			}
		}
	}
	if len(inT1) != 4 {
		t.Fatalf("%d messages of T1, want 4", len(inT1))
	}
	if s := inT1[0]; s.GetType() != 21 || s.GetReferencedMessageId() != m5 {
		t.Errorf("T1's starter: %v", s)
	}
	if r := inT1[2].GetReactions(); len(r) != 2 || r[0].GetEmoji() != "👍" || inT1[2].GetContent() != "15 — fewer windows to sign. 🤔" {
		t.Errorf("T1 reply: %v", inT1[2])
	}
	for _, id := range []string{threadT3, threadT4, threadT5} {
		found := false
		for _, m := range byID {
			found = found || m.GetChannelId() == id
		}
		if !found {
			t.Errorf("no message of archived thread %s", id)
		}
	}
	if m := byID["1439890050908291072"]; m.GetContent() != "私がやります" || m.GetThreadId() != threadT4 || m.GetReferencedMessageId() != "1439888289300611072" {
		t.Errorf("T4 reply: %v", m)
	}
	for _, m := range byID {
		if m.GetChannelId() == threadT6 || m.GetChannelId() == threadT7 {
			t.Errorf("message %s of another channel's or a private thread", m.GetId())
		}
	}
}
