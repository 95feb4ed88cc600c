package discord_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/connectors/discord"
)

// A 429 that says how long to wait only in its JSON body (no Retry-After,
// no X-RateLimit-Reset-After) is waited out before the retry.
func TestRateLimitJSONRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header map[string]string
	}{
		{"user", map[string]string{"X-RateLimit-Scope": "user"}},
		{"global", map[string]string{"X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, src := serve(t)
			f.tooMany(limited{header: tc.header, body: `{"message": "You are being rate limited.", "retry_after": 0.5, "global": ` +
				map[string]string{"user": "false", "global": "true"}[tc.name] + `}`})
			page, err := src.Fetch(t.Context(), src.Streams()[0], connectors.Position{})
			if err != nil {
				t.Fatal(err)
			}
			if page.Next["guild_id"] != guild || len(page.Events) != 3 {
				t.Fatalf("page after the 429: %+v", page)
			}
			log := f.log()
			if len(log) < 2 || log[0].url != log[1].url {
				t.Fatalf("requests: %v", f.paths())
			}
			if gap := log[1].at.Sub(log[0].at); gap < 500*time.Millisecond {
				t.Fatalf("retried %s after a 429 asking for 0.5 s", gap)
			}
		})
	}
}

// The client waits out a bucket whose X-RateLimit-Remaining reached 0
// (until X-RateLimit-Reset-After) instead of earning a 429.
func TestExhaustedBucketIsWaitedOut(t *testing.T) {
	f, src := serve(t, func(c *discord.Config) { c.Limit = 1; c.IncludeThreads = false })
	evs, _, _ := poll(t, src, src.Streams()[0], connectors.Position{})
	if len(evs) != 10 {
		t.Fatalf("%d events, want 10", len(evs))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := len(f.requests); n != 12 || f.throttled != 0 {
		t.Fatalf("%d requests, %d throttled; want 12 (the channel, 11 pages of one) and none", n, f.throttled)
	}
}

func TestChannelErrors(t *testing.T) {
	for _, tc := range []struct {
		channel string
		status  int
		code    int
		message string
	}{
		{unknown, http.StatusNotFound, 10003, "Unknown Channel"},
		// Missing Access is one channel's problem, not refused credentials:
		// it must not stop the worker.
		{forbidden, http.StatusForbidden, 50001, "Missing Access"},
	} {
		t.Run(tc.message, func(t *testing.T) {
			_, src := serve(t, func(c *discord.Config) { c.Channels = []string{tc.channel} })
			_, err := src.Fetch(t.Context(), src.Streams()[0], connectors.Position{})
			var re *connectors.ResponseError
			var ae *discord.APIError
			if errors.Is(err, connectors.ErrAuth) || !errors.As(err, &re) || !errors.As(err, &ae) {
				t.Fatalf("Fetch = %v, want a ResponseError", err)
			}
			if re.StatusCode != tc.status || !strings.Contains(re.Snippet, tc.message) || !strings.HasSuffix(re.URL, "/channels/"+tc.channel) ||
				ae.Code != tc.code || ae.Message != tc.message || !strings.Contains(re.Error(), tc.message) {
				t.Fatalf("response error %+v, Discord error %+v", re, ae)
			}
		})
	}
}

func TestRefusedToken(t *testing.T) {
	f := newFake(t)
	srv := newServer(t, f)
	cfg := discord.DefaultConfig()
	cfg.BotToken = "MTAwMDAwMDAwMDAwMDAwMDAwMA.GxYzAb.wrongwrongwrongwrongwrongwrongwrong"
	cfg.APIURL = srv.URL + "/api/v10"
	cfg.Channels = []string{chanA}
	src, err := discord.New(cfg, connectors.NewClient(connectors.DefaultHTTPConfig(), srv.Client(), nil))
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Fetch(t.Context(), src.Streams()[0], connectors.Position{})
	if !errors.Is(err, connectors.ErrAuth) || !strings.Contains(err.Error(), discord.Setting) || strings.Contains(err.Error(), cfg.BotToken) {
		t.Fatalf("Fetch = %v, want ErrAuth naming %s without the token", err, discord.Setting)
	}
}

func TestConfig(t *testing.T) {
	d := discord.DefaultConfig()
	if d.APIURL != "https://discord.com/api/v10" || !d.IncludeThreads || d.Limit != 100 || d.Enabled || d.Validate() != nil {
		t.Fatalf("defaults: %+v, %v", d, d.Validate())
	}
	client := connectors.NewClient(connectors.DefaultHTTPConfig(), nil, nil)
	if _, err := discord.New(d, client); err == nil || !strings.Contains(err.Error(), "connectors.discord.bot_token") {
		t.Fatalf("no token: %v", err)
	}
	for _, tc := range []struct {
		edit func(*discord.Config)
		key  string
	}{
		{func(c *discord.Config) { c.BotToken = "Bot " + token }, "connectors.discord.bot_token"},
		{func(c *discord.Config) { c.BotToken = "hunter2" }, "connectors.discord.bot_token"},
		{func(c *discord.Config) { c.APIURL = "discord.com/api" }, "connectors.discord.api_url"},
		{func(c *discord.Config) { c.Channels = []string{chanA, "general"} }, "connectors.discord.channels[1]"},
		{func(c *discord.Config) { c.Channels = []string{chanA, chanA} }, "connectors.discord.channels[1]"},
		{func(c *discord.Config) { c.Limit = 0 }, "connectors.discord.limit"},
		{func(c *discord.Config) { c.Limit = 101 }, "connectors.discord.limit"},
	} {
		c := discord.DefaultConfig()
		c.BotToken = token
		tc.edit(&c)
		_, err := discord.New(c, client)
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%+v: %v, want an error naming %s", c, err, tc.key)
		}
		if err != nil && c.BotToken != "hunter2" && strings.Contains(err.Error(), token) {
			t.Errorf("the error shows the token: %v", err)
		}
	}
}
