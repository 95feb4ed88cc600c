package connectors_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fairstream/fairstream/connectors"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		header http.Header
		body   string
		want   time.Duration
		ok     bool
	}{
		{"seconds", h("Retry-After", "3"), "", 3 * time.Second, true},
		{"http date", h("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat)), "", 90 * time.Second, true},
		{"discord reset-after", h("X-RateLimit-Reset-After", "1.5"), "", 1500 * time.Millisecond, true},
		{"x api reset", h("x-rate-limit-reset", strconv.FormatInt(now.Add(time.Minute).Unix(), 10)), "", time.Minute, true},
		{"discord body", nil, `{"message":"You are being rate limited.","retry_after":0.25,"global":false}`, 250 * time.Millisecond, true},
		{"telegram body", nil, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}`, 7 * time.Second, true},
		{"nothing", nil, `{"title":"Too Many Requests"}`, 0, false},
	} {
		got, ok := connectors.RetryAfter(tc.header, []byte(tc.body), now)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: RetryAfter = %s, %v; want %s, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func testClient(srv *httptest.Server) *connectors.Client {
	cfg := connectors.DefaultHTTPConfig()
	cfg.BackoffInitial = 5 * time.Millisecond
	cfg.BackoffMax = 20 * time.Millisecond
	cfg.MaxInlineWait = 2 * time.Second
	return connectors.NewClient(cfg, srv.Client(), nil)
}

func TestClientStatuses(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch r.URL.Path {
		case "/flaky": // two 503s, then a page
			if n <= 2 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"ok":true}`)
		case "/denied":
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"detail":"token revoked"}`)
		case "/html":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html><body>Bad gateway</body></html>")
		case "/truncated":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"data":[{"id":"1"},{"id":`)
		case "/exhausted/1", "/exhausted/2": // a window with nothing left that resets in an hour
			w.Header().Set("x-rate-limit-remaining", "0")
			w.Header().Set("x-rate-limit-reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{}`)
		}
	}))
	defer srv.Close()
	c := testClient(srv)
	ctx := context.Background()
	var v map[string]any

	if _, err := c.GetJSON(ctx, connectors.Request{URL: srv.URL + "/flaky"}, &v); err != nil || v["ok"] != true || calls.Load() != 3 {
		t.Fatalf("flaky: %v after %d calls, %v", err, calls.Load(), v)
	}
	_, err := c.GetJSON(ctx, connectors.Request{URL: srv.URL + "/denied", Setting: "connectors.x.token"}, &v)
	if !errors.Is(err, connectors.ErrAuth) || !strings.Contains(err.Error(), "connectors.x.token") || !strings.Contains(err.Error(), "token revoked") {
		t.Fatalf("denied: %v", err)
	}
	var re *connectors.ResponseError
	if _, err := c.GetJSON(ctx, connectors.Request{URL: srv.URL + "/html"}, &v); !errors.As(err, &re) || !strings.Contains(re.Snippet, "Bad gateway") {
		t.Fatalf("html: %v", err)
	}
	if _, err := c.GetJSON(ctx, connectors.Request{URL: srv.URL + "/truncated"}, &v); !errors.As(err, &re) || !strings.Contains(re.Err.Error(), "malformed JSON") {
		t.Fatalf("truncated: %v", err)
	}
	// An exhausted window makes the next request to that endpoint (IDs in
	// the path aside) wait for its reset instead of earning a 429; an hour is
	// handed back to the caller. Other endpoints of the host go on.
	if _, err := c.GetJSON(ctx, connectors.Request{URL: srv.URL + "/exhausted/1"}, &v); err != nil {
		t.Fatal(err)
	}
	var rl *connectors.RateLimitError
	if _, err := c.GetJSON(ctx, connectors.Request{URL: srv.URL + "/exhausted/2"}, &v); !errors.As(err, &rl) || time.Until(rl.Until) < 59*time.Minute {
		t.Fatalf("after an exhausted window: %v", err)
	}
	if _, err := c.GetJSON(ctx, connectors.Request{URL: srv.URL + "/flaky"}, &v); err != nil {
		t.Fatalf("another endpoint of the host: %v", err)
	}
}

func TestClientRateLimited(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `[]`)
	}))
	defer srv.Close()
	c := testClient(srv)
	start := time.Now()
	var v []any
	if _, err := c.GetJSON(context.Background(), connectors.Request{URL: srv.URL}, &v); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Fatalf("retried %s after Retry-After: 1", waited)
	}
	// A long Retry-After is handed back rather than slept.
	calls.Store(0)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "600")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	var rl *connectors.RateLimitError
	if _, err := c.GetJSON(context.Background(), connectors.Request{URL: srv.URL}, &v); !errors.As(err, &rl) {
		t.Fatalf("long Retry-After: %v", err)
	}
}

func TestSnippet(t *testing.T) {
	if s := connectors.Snippet([]byte("héllo wörld"), 2); s != "h" {
		t.Fatalf("cut inside a character: %q", s)
	}
	if s := connectors.Snippet([]byte("ab\xffcd"), 10); s != "ab\uFFFDcd" {
		t.Fatalf("invalid byte: %q", s)
	}
}
