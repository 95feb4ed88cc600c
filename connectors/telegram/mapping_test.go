package telegram_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/connectors/telegram"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

func TestFetchMapsTheBotAPI(t *testing.T) {
	srv := httptest.NewServer(fixture(t))
	defer srv.Close()
	src := newSource(t, srv.URL, connectors.NewClient(connectors.DefaultHTTPConfig(), srv.Client(), nil))
	ctx := context.Background()
	var all []*fairstreampb.RawTelegramMessage
	pos := connectors.Position{}
	for range 10 {
		page, err := src.Fetch(ctx, src.Streams()[0], pos)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			all = append(all, e.Payload.(*fairstreampb.RawTelegramMessage))
			if e.Key != strings.TrimSpace(e.Key) || e.Topic != telegram.Topic || e.Time.IsZero() {
				t.Fatalf("event %+v", e)
			}
		}
		pos = page.Next
		if !page.More {
			break
		}
	}
	if len(all) != 8 || pos["offset"] != "812345678" {
		t.Fatalf("%d messages, next offset %s; want 8 and 812345678", len(all), pos["offset"])
	}
	first := all[0]
	if first.GetChat().GetId() != -1001987654321 || first.GetFrom().GetUsername() != "ada_l" || first.GetMessageThreadId() != 5 ||
		len(first.GetEntities()) != 3 || first.GetEntities()[1].GetType() != "url" {
		t.Errorf("first message: %v", first)
	}
	photo := all[1]
	if len(photo.GetMedia()) != 1 || photo.GetMedia()[0].GetFileId() != "AgACAgQAAxkBAAIBZ2c_large" || photo.GetReplyToMessageId() != 101 ||
		!strings.Contains(photo.GetCaption(), "📸") {
		t.Errorf("photo message: %v", photo)
	}
	if !all[2].GetChannelPost() || !strings.HasPrefix(all[2].GetText(), "أخبار") {
		t.Errorf("channel post: %v", all[2])
	}
	if all[3].GetEditDate() == nil || all[3].GetMessageId() != 101 {
		t.Errorf("edited message: %v", all[3])
	}
	if all[4].GetForwardFrom() != "chat:-1002000000001" {
		t.Errorf("forward: %q", all[4].GetForwardFrom())
	}
	if m := all[5].GetMedia(); len(m) != 1 || m[0].GetType() != "document" || m[0].GetFileName() != "scoring-notes.pdf" || m[0].GetMimeType() != "application/pdf" {
		t.Errorf("document: %v", m)
	}
	if m := all[7].GetMedia(); len(m) != 1 || m[0].GetType() != "video" || m[0].GetDuration() != 42 {
		t.Errorf("video: %v", m)
	}
}

func TestConfigAndSecrets(t *testing.T) {
	cfg := telegram.DefaultConfig()
	if _, err := telegram.New(cfg, nil); err == nil || !strings.Contains(err.Error(), "connectors.telegram.bot_token") {
		t.Fatalf("no token: %v", err)
	}
	// A refused token is reported without the token itself.
	srv := httptest.NewServer(fixture(t))
	defer srv.Close()
	cfg.BotToken = "987654321:AAWrongWrongWrongWrongWrongWrong"
	cfg.APIURL = srv.URL
	src, err := telegram.New(cfg, connectors.NewClient(connectors.DefaultHTTPConfig(), srv.Client(), nil))
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Fetch(context.Background(), src.Streams()[0], connectors.Position{})
	if !errors.Is(err, connectors.ErrAuth) || strings.Contains(err.Error(), cfg.BotToken) || !strings.Contains(err.Error(), "<bot_token>") {
		t.Fatalf("refused token: %v", err)
	}
	if _, err := src.StreamForJob(&fairstreampb.Job{Id: "j", Connector: "telegram", Kind: "channel"}); !errors.Is(err, connectors.ErrUnsupportedJob) {
		t.Fatalf("job: %v", err)
	}
}
