package discord_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/connectors/connectortest"
	"github.com/fairstream/fairstream/connectors/discord"
	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// messageFake adds GET /channels/{channel.id}/messages/{message.id} to the
// fake, answered as Discord does: the message object; 404 Unknown Message
// (10008) for a message the channel does not hold, 404 Unknown Channel
// (10003) and 403 Missing Access as for the channel's other routes.
type messageFake struct{ *fakeDiscord }

func (f messageFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path, _ := strings.CutPrefix(r.URL.Path, "/api/v10/")
	parts := strings.Split(path, "/")
	if len(parts) != 4 || parts[0] != "channels" || parts[2] != "messages" || r.Method != http.MethodGet {
		f.fakeDiscord.ServeHTTP(w, r)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	f.requests = append(f.requests, request{at: now, url: r.URL.RequestURI(), header: r.Header.Clone()})
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != "Bot "+token {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "401: Unauthorized", "code": 0})
		return
	}
	if !strings.HasPrefix(r.Header.Get("User-Agent"), "DiscordBot (") {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "a DiscordBot user agent is required", "code": 0})
		return
	}
	route, major := routeOf(parts)
	if !f.rateLimit(w, now, route, major) {
		return
	}
	if major == forbidden {
		writeJSON(w, http.StatusForbidden, map[string]any{"message": "Missing Access", "code": 50001})
		return
	}
	if _, ok := f.chans[major]; !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Unknown Channel", "code": 10003})
		return
	}
	for _, raw := range f.msgs[major] {
		if idOf(raw) == snowflake(parts[3]) {
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(raw)
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]any{"message": "Unknown Message", "code": 10008})
}

// refetchServe starts the fake with message lookup behind faults, and a
// source on a client that retries once, quickly.
func refetchServe(t *testing.T, edit ...func(*discord.Config)) (*fakeDiscord, *connectortest.Faults, *discord.Source) {
	t.Helper()
	f := newFake(t)
	faults := &connectortest.Faults{}
	srv := httptest.NewServer(faults.Wrap(messageFake{f}))
	t.Cleanup(srv.Close)
	cfg := connectors.DefaultHTTPConfig()
	cfg.MaxRetries = 1
	cfg.BackoffInitial = time.Millisecond
	cfg.BackoffMax = 5 * time.Millisecond
	return f, faults, newSource(t, srv.URL, connectors.NewClient(cfg, srv.Client(), nil), edit...)
}

func envelope(t *testing.T, m proto.Message) *schemas.Envelope {
	t.Helper()
	env, err := schemas.Builtin().Wrap(m, schemas.Meta{Source: discord.Name, Worker: "w1"})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func sentinel(err error) string {
	switch nf, sf := errors.Is(err, connectors.ErrNotFound), errors.Is(err, connectors.ErrSourceFault); {
	case nf && sf:
		return "both"
	case nf:
		return "not found"
	case sf:
		return "source fault"
	}
	return "neither"
}

func TestRefetchMapsAsFetchDoes(t *testing.T) {
	_, _, src := refetchServe(t)
	evs, _, _ := poll(t, src, src.Streams()[0], connectors.Position{})
	if len(evs) != wantA {
		t.Fatalf("%d events, want %d", len(evs), wantA)
	}
	threaded := 0
	for _, e := range evs {
		orig := e.Payload.(*fairstreampb.RawDiscordMessage)
		got, err := src.Refetch(context.Background(), envelope(t, orig))
		if err != nil {
			t.Fatalf("Refetch %s: %v", orig.GetId(), err)
		}
		m, ok := got.(*fairstreampb.RawDiscordMessage)
		if !ok {
			t.Fatalf("Refetch %s gave a %T", orig.GetId(), got)
		}
		if m.GetContent() != orig.GetContent() || !m.GetTimestamp().AsTime().Equal(orig.GetTimestamp().AsTime()) {
			t.Errorf("message %s: refetched %q at %s, fetched %q at %s", orig.GetId(), m.GetContent(), m.GetTimestamp().AsTime(),
				orig.GetContent(), orig.GetTimestamp().AsTime())
		}
		if !proto.Equal(m, orig) {
			t.Errorf("message %s maps differently when refetched:\n got %v\nwant %v", orig.GetId(), m, orig)
		}
		if orig.GetThreadId() != "" && orig.GetThreadId() == orig.GetChannelId() {
			threaded++
		}
	}
	if threaded == 0 {
		t.Error("no message read from a thread was refetched")
	}
}

func TestRefetchErrors(t *testing.T) {
	ctx := context.Background()
	existing := &fairstreampb.RawDiscordMessage{Id: m1, ChannelId: chanA, GuildId: guild, Content: "anything"}

	t.Run("unknown message", func(t *testing.T) {
		_, _, src := refetchServe(t)
		_, err := src.Refetch(ctx, envelope(t, &fairstreampb.RawDiscordMessage{Id: "1440990049578647553", ChannelId: chanA, Content: "made up"}))
		var ae *discord.APIError
		if sentinel(err) != "not found" || !errors.As(err, &ae) || ae.Code != 10008 {
			t.Fatalf("an unknown message: %v (%s), want ErrNotFound with code 10008", err, sentinel(err))
		}
	})
	t.Run("unknown channel", func(t *testing.T) {
		_, _, src := refetchServe(t)
		_, err := src.Refetch(ctx, envelope(t, &fairstreampb.RawDiscordMessage{Id: m1, ChannelId: unknown}))
		if sentinel(err) != "not found" {
			t.Fatalf("an unknown channel: %v (%s), want ErrNotFound", err, sentinel(err))
		}
	})
	t.Run("not snowflakes", func(t *testing.T) {
		f, _, src := refetchServe(t)
		_, err := src.Refetch(ctx, envelope(t, &fairstreampb.RawDiscordMessage{Id: "abc", ChannelId: chanA}))
		if sentinel(err) != "not found" || len(f.log()) != 0 {
			t.Fatalf("a message ID that is not a snowflake: %v (%s), %d requests", err, sentinel(err), len(f.log()))
		}
	})
	t.Run("missing access", func(t *testing.T) {
		_, _, src := refetchServe(t)
		_, err := src.Refetch(ctx, envelope(t, &fairstreampb.RawDiscordMessage{Id: m1, ChannelId: forbidden}))
		if sentinel(err) != "neither" {
			t.Fatalf("a channel the bot may not read: %v (%s), want neither sentinel", err, sentinel(err))
		}
	})
	t.Run("503", func(t *testing.T) {
		_, faults, src := refetchServe(t)
		unavailable := connectortest.Fault{Status: http.StatusServiceUnavailable, ContentType: "application/json",
			Body: `{"message": "503: Service Unavailable", "code": 0}`}
		faults.Queue(unavailable, unavailable)
		_, err := src.Refetch(ctx, envelope(t, existing))
		if sentinel(err) != "source fault" {
			t.Fatalf("a 503: %v (%s), want ErrSourceFault", err, sentinel(err))
		}
	})
	t.Run("401", func(t *testing.T) {
		_, _, src := refetchServe(t, func(c *discord.Config) { c.BotToken = "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.AAAAAAAAAAAAAAAAAAAAAAAAAAA" })
		_, err := src.Refetch(ctx, envelope(t, existing))
		if sentinel(err) != "neither" || !errors.Is(err, connectors.ErrAuth) {
			t.Fatalf("a refused token: %v (%s), want ErrAuth and neither sentinel", err, sentinel(err))
		}
	})
	t.Run("other record types", func(t *testing.T) {
		f, _, src := refetchServe(t)
		_, err := src.Refetch(ctx, envelope(t, &fairstreampb.RawTweet{Id: "1", Text: "hi"}))
		if sentinel(err) != "neither" || !errors.Is(err, connectors.ErrNotRefetchable) || len(f.log()) != 0 {
			t.Fatalf("a tweet: %v (%s), want ErrNotRefetchable", err, sentinel(err))
		}
	})
}
