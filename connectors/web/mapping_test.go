package web_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/connectors/web"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// testHTTP is a quick client configuration for direct Fetch tests.
func testHTTP() connectors.HTTPConfig {
	c := connectors.DefaultHTTPConfig()
	c.MaxRetries = 1
	c.BackoffInitial = time.Millisecond
	c.BackoffMax = 5 * time.Millisecond
	return c
}

// served starts the fixture site and a source crawling it with a client
// that hands redirects back, as the crawler wants.
func served(t *testing.T, edit func(*web.Config)) (*site, *httptest.Server, *web.Source) {
	t.Helper()
	st := newSite(t)
	srv := httptest.NewServer(st)
	t.Cleanup(srv.Close)
	cfg := testConfig(srv.URL)
	if edit != nil {
		edit(&cfg)
	}
	src, err := web.New(cfg, connectors.NewClient(testHTTP(), web.NoRedirects(srv.Client()), nil))
	if err != nil {
		t.Fatal(err)
	}
	return st, srv, src
}

// crawl fetches s from pos until a page says no more is ready; it fails on
// a fetch error.
func crawl(t *testing.T, src connectors.Source, s connectors.Stream, pos connectors.Position) ([]*fairstreampb.RawWebPage, connectors.Position, connectors.Page) {
	t.Helper()
	var out []*fairstreampb.RawWebPage
	var page connectors.Page
	for range 200 {
		var err error
		page, err = src.Fetch(context.Background(), s, pos)
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		for _, e := range page.Events {
			p := e.Payload.(*fairstreampb.RawWebPage)
			if e.Topic != web.Topic || e.Key != p.GetUrl() || e.Time.IsZero() {
				t.Fatalf("event topic %q key %q time %s for %s", e.Topic, e.Key, e.Time, p.GetUrl())
			}
			out = append(out, p)
		}
		if len(page.Events) > 1 {
			t.Fatalf("one Fetch gave %d events", len(page.Events))
		}
		pos = page.Next
		if !page.More || page.Done {
			return out, pos, page
		}
	}
	t.Fatal("the crawl did not end")
	return nil, nil, page
}

func byURL(pages []*fairstreampb.RawWebPage, u string) *fairstreampb.RawWebPage {
	for _, p := range pages {
		if p.GetUrl() == u {
			return p
		}
	}
	return nil
}

func TestCrawlMapsPages(t *testing.T) {
	st, srv, src := served(t, nil)
	base := srv.URL
	streams := src.Streams()
	if len(streams) != 1 || streams[0].ID != "seed:"+base+"/" || streams[0].Kind != web.KindSeed {
		t.Fatalf("streams %+v", streams)
	}
	pages, pos, last := crawl(t, src, streams[0], connectors.Position{})
	if last.Done || last.More || pos["crawl"] == "" {
		t.Fatalf("last page: done %v, more %v, cursor %q; a seed crawl ends without Done, with its cursor", last.Done, last.More, pos)
	}
	var got []string
	for _, p := range pages {
		got = append(got, strings.TrimPrefix(p.GetUrl(), base))
	}
	want := []string{"/", "/about.html", "/blog/", "/latin1.html", "/unicode.html", "/data/report.pdf", "/notes.txt",
		"/old.html", "/missing.html", "/team.html", "/blog/posts/first.html", "/caf%C3%A9.html", "/published.html"}
	if !slices.Equal(got, want) {
		t.Fatalf("crawled, breadth first:\n%q\nwant\n%q", got, want)
	}

	for _, p := range pages {
		if p.GetSeed() != base+"/" || p.GetFetchedAt() == nil || p.GetFetchedAt().AsTime().IsZero() {
			t.Errorf("%s: seed %q fetched_at %v", p.GetUrl(), p.GetSeed(), p.GetFetchedAt())
		}
		if p.GetHeaders()["content-type"] != p.GetContentType() {
			t.Errorf("%s: headers %v, content type %q", p.GetUrl(), p.GetHeaders(), p.GetContentType())
		}
		for k := range p.GetHeaders() {
			if !slices.Contains([]string{"content-language", "content-type", "etag", "last-modified"}, k) {
				t.Errorf("%s: header %q kept", p.GetUrl(), k)
			}
		}
	}

	home := byURL(pages, base+"/")
	if home.GetStatusCode() != 200 || home.GetFinalUrl() != base+"/" || home.GetDepth() != 0 || home.GetReferrer() != "" ||
		home.GetContentType() != "text/html; charset=utf-8" || !bytes.Contains(home.GetBody(), []byte("<h1>Welcome</h1>")) || home.GetTruncated() {
		t.Errorf("home page: %v", home)
	}

	about := byURL(pages, base+"/about.html")
	lm, _ := http.ParseTime(aboutLastModified)
	if about.GetEtag() != aboutETag || about.GetLastModified() != aboutLastModified || about.GetHeaders()["etag"] != aboutETag ||
		about.GetHeaders()["last-modified"] != aboutLastModified || about.GetDepth() != 1 || about.GetReferrer() != base+"/" {
		t.Errorf("about page: %v", about)
	}
	// Its event time is its Last-Modified; others' their fetch time.
	page, err := src.Fetch(context.Background(), streams[0], connectors.Position{})
	if err != nil {
		t.Fatal(err)
	}
	if e := page.Events[0]; !e.Time.Equal(e.Payload.(*fairstreampb.RawWebPage).GetFetchedAt().AsTime()) {
		t.Errorf("home page event time %s, fetched %s", e.Time, e.Payload.(*fairstreampb.RawWebPage).GetFetchedAt().AsTime())
	}
	page, err = src.Fetch(context.Background(), streams[0], page.Next)
	if err != nil {
		t.Fatal(err)
	}
	if e := page.Events[0]; e.Key != base+"/about.html" || !e.Time.Equal(lm) {
		t.Errorf("about event %s at %s, want its Last-Modified %s", e.Key, e.Time, lm)
	}

	// The windows-1252 page is kept as received; its link to café.html was
	// read in its charset (a UTF-8 reading would have made it caf%EF%BF%BD).
	latin := byURL(pages, base+"/latin1.html")
	if latin.GetContentType() != "text/html; charset=windows-1252" || !bytes.Contains(latin.GetBody(), []byte("Caf\xe9 cr\xe8me")) {
		t.Errorf("windows-1252 page: %q, body %q", latin.GetContentType(), latin.GetBody())
	}
	cafe := byURL(pages, base+"/caf%C3%A9.html")
	if cafe.GetStatusCode() != 200 || cafe.GetReferrer() != base+"/latin1.html" || cafe.GetDepth() != 2 ||
		!strings.Contains(string(cafe.GetBody()), "Served at /café.html") {
		t.Errorf("café page: %v", cafe)
	}

	uni := byURL(pages, base+"/unicode.html")
	if uni.GetHeaders()["content-language"] != "ja" || !strings.Contains(string(uni.GetBody()), "公開データのネットワーク 🌐") ||
		!strings.Contains(string(uni.GetBody()), "Ελληνικά, العربية") {
		t.Errorf("unicode page: headers %v body %q", uni.GetHeaders(), uni.GetBody())
	}

	pdf := byURL(pages, base+"/data/report.pdf")
	if pdf.GetStatusCode() != 200 || pdf.GetContentType() != "application/pdf" || len(pdf.GetBody()) != 0 {
		t.Errorf("asset: status %d, type %q, %d body bytes; want 200, application/pdf, no body", pdf.GetStatusCode(), pdf.GetContentType(), len(pdf.GetBody()))
	}
	notes := byURL(pages, base+"/notes.txt")
	if notes.GetContentType() != "text/plain; charset=utf-8" || !strings.Contains(string(notes.GetBody()), "naïve café, 100 €") {
		t.Errorf("text page: %v", notes)
	}

	old := byURL(pages, base+"/old.html")
	if old.GetStatusCode() != 200 || old.GetFinalUrl() != base+"/new.html" || !strings.Contains(string(old.GetBody()), "The old page moved here") {
		t.Errorf("redirected page: status %d final %q", old.GetStatusCode(), old.GetFinalUrl())
	}
	missing := byURL(pages, base+"/missing.html")
	if missing.GetStatusCode() != 404 || len(missing.GetBody()) != 0 || missing.GetFinalUrl() != base+"/missing.html" {
		t.Errorf("404: status %d, %d body bytes", missing.GetStatusCode(), len(missing.GetBody()))
	}
	first := byURL(pages, base+"/blog/posts/first.html") // through <base href="/blog/posts/">
	if first.GetReferrer() != base+"/blog/" || first.GetDepth() != 2 {
		t.Errorf("blog post: referrer %q depth %d", first.GetReferrer(), first.GetDepth())
	}
	if p := byURL(pages, base+"/published.html"); p.GetReferrer() != base+"/drafts.html" {
		t.Errorf("page linked from the noindex page: referrer %q", p.GetReferrer())
	}

	// What robots.txt, nofollow, depth and dedup kept out was not even
	// requested; each page was requested once.
	for _, p := range []string{"/private/secret.html", "/search.cgi", "/sponsored.html", "/hidden.html", "/deep.html", "/index.html"} {
		if n := st.count(p); n != 0 {
			t.Errorf("%s requested %d times", p, n)
		}
	}
	for _, p := range []string{"/robots.txt", "/drafts.html", "/new.html", "/team.html", "/café.html"} {
		if n := st.count(p); n != 1 {
			t.Errorf("%s requested %d times, want once", p, n)
		}
	}
	r := st.last("/team.html")
	if r.Header.Get("User-Agent") != web.DefaultUserAgent || !strings.HasPrefix(r.Header.Get("Accept"), "text/html") {
		t.Errorf("request headers %v", r.Header)
	}
	if r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Modified-Since") != "" {
		t.Errorf("conditional headers on a first fetch: %v", r.Header)
	}
}
