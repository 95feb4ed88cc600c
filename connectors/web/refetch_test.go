package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/connectors/web"
	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

func envelope(t *testing.T, m proto.Message) *schemas.Envelope {
	t.Helper()
	env, err := schemas.Builtin().Wrap(m, schemas.Meta{Source: web.Name, Worker: "w1"})
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

func TestRefetchMapsAsTheCrawlerDoes(t *testing.T) {
	st, srv, src := served(t, nil)
	crawled, _, _ := crawl(t, src, src.Streams()[0], connectors.Position{})
	if len(crawled) != siteEvents {
		t.Fatalf("the crawl gave %d pages, want %d", len(crawled), siteEvents)
	}
	for _, orig := range crawled {
		u, err := url.Parse(orig.GetUrl())
		if err != nil || u.Host != strings.TrimPrefix(srv.URL, "http://") {
			t.Fatalf("crawled %q", orig.GetUrl())
		}
		before := st.count(u.Path)
		got, err := src.Refetch(context.Background(), envelope(t, orig))
		if err != nil {
			t.Fatalf("Refetch %s: %v", orig.GetUrl(), err)
		}
		p, ok := got.(*fairstreampb.RawWebPage)
		if !ok {
			t.Fatalf("Refetch %s gave a %T", orig.GetUrl(), got)
		}
		if string(p.GetBody()) != string(orig.GetBody()) || p.GetStatusCode() != orig.GetStatusCode() || p.GetFinalUrl() != orig.GetFinalUrl() {
			t.Errorf("%s: refetched %d %s %q, crawled %d %s %q", orig.GetUrl(), p.GetStatusCode(), p.GetFinalUrl(), p.GetBody(),
				orig.GetStatusCode(), orig.GetFinalUrl(), orig.GetBody())
		}
		if !proto.Equal(p, orig) {
			t.Errorf("%s maps differently when refetched:\n got %v\nwant %v", orig.GetUrl(), p, orig)
		}
		if n := st.count(u.Path); n != before+1 {
			t.Errorf("%s: %d requests for one refetch", orig.GetUrl(), n-before)
		}
	}
	// The page was asked for unconditionally, with the crawler's headers.
	r := st.last("/about.html")
	if r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Modified-Since") != "" || r.Header.Get("User-Agent") != web.DefaultUserAgent {
		t.Errorf("refetch of /about.html sent %v", r.Header)
	}
}

func TestRefetchErrors(t *testing.T) {
	ctx := context.Background()
	page := func(base, path string, status int32) *fairstreampb.RawWebPage {
		return &fairstreampb.RawWebPage{Url: base + path, FinalUrl: base + path, StatusCode: status, ContentType: "text/html; charset=utf-8",
			FetchedAt: timestamppb.Now(), Body: []byte("<html>claimed</html>"), Seed: base + "/"}
	}

	t.Run("gone", func(t *testing.T) {
		st, srv, src := served(t, nil)
		st.route("/retired.html", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusGone) })
		for _, p := range []string{"/never-was.html", "/retired.html"} {
			_, err := src.Refetch(ctx, envelope(t, page(srv.URL, p, 200)))
			if sentinel(err) != "not found" {
				t.Errorf("%s: %v (%s), want ErrNotFound", p, err, sentinel(err))
			}
		}
	})
	t.Run("a 404 recorded as a 404", func(t *testing.T) {
		_, srv, src := served(t, nil)
		got, err := src.Refetch(ctx, envelope(t, page(srv.URL, "/missing.html", http.StatusNotFound)))
		if err != nil || got.(*fairstreampb.RawWebPage).GetStatusCode() != http.StatusNotFound {
			t.Fatalf("a recorded 404 page: %v, %v", got, err)
		}
	})
	t.Run("not a URL", func(t *testing.T) {
		st, _, src := served(t, nil)
		_, err := src.Refetch(ctx, envelope(t, &fairstreampb.RawWebPage{Url: "ftp://example.org/file"}))
		if sentinel(err) != "not found" || len(st.paths()) != 0 {
			t.Fatalf("an ftp URL: %v (%s), %d requests", err, sentinel(err), len(st.paths()))
		}
	})
	t.Run("503", func(t *testing.T) {
		st, srv, src := served(t, nil)
		st.route("/busy.html", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("<html><body><h1>503 Service Unavailable</h1></body></html>"))
		})
		_, err := src.Refetch(ctx, envelope(t, page(srv.URL, "/busy.html", 200)))
		if sentinel(err) != "source fault" || st.count("/busy.html") != 2 {
			t.Fatalf("a 503: %v (%s) after %d requests, want ErrSourceFault after 2", err, sentinel(err), st.count("/busy.html"))
		}
	})
	t.Run("robots.txt unreachable", func(t *testing.T) {
		st, srv, src := served(t, nil)
		st.route("/robots.txt", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
		for i := range 2 {
			_, err := src.Refetch(ctx, envelope(t, page(srv.URL, "/about.html", 200)))
			if sentinel(err) != "source fault" {
				t.Fatalf("refetch %d with robots.txt down: %v (%s), want ErrSourceFault", i+1, err, sentinel(err))
			}
		}
		if st.count("/about.html") != 0 {
			t.Error("fetched a page of a host whose robots.txt is down")
		}
	})
	t.Run("401", func(t *testing.T) {
		st, srv, src := served(t, nil)
		st.route("/members.html", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Basic realm="members"`)
			w.WriteHeader(http.StatusUnauthorized)
		})
		_, err := src.Refetch(ctx, envelope(t, page(srv.URL, "/members.html", 200)))
		if err == nil || sentinel(err) != "neither" {
			t.Fatalf("a 401: %v (%s), want neither sentinel", err, sentinel(err))
		}
	})
	t.Run("disallowed by robots.txt", func(t *testing.T) {
		st, srv, src := served(t, nil)
		_, err := src.Refetch(ctx, envelope(t, page(srv.URL, "/private/secret.html", 200)))
		if err == nil || sentinel(err) != "neither" || st.count("/private/secret.html") != 0 {
			t.Fatalf("a disallowed page: %v (%s)", err, sentinel(err))
		}
	})
	t.Run("other record types", func(t *testing.T) {
		st, _, src := served(t, nil)
		_, err := src.Refetch(ctx, envelope(t, &fairstreampb.RawTweet{Id: "1", Text: "hi"}))
		if sentinel(err) != "neither" || !errors.Is(err, connectors.ErrNotRefetchable) || len(st.paths()) != 0 {
			t.Fatalf("a tweet: %v (%s), want ErrNotRefetchable", err, sentinel(err))
		}
	})
}
