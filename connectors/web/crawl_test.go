package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/connectors/web"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

func urlsOf(pages []*fairstreampb.RawWebPage, base string) []string {
	var out []string
	for _, p := range pages {
		out = append(out, strings.TrimPrefix(p.GetUrl(), base))
	}
	return out
}

func TestRecrawlWithConditionalGETs(t *testing.T) {
	st, srv, src := served(t, nil)
	s := src.Streams()[0]
	first, pos, _ := crawl(t, src, s, connectors.Position{})
	if len(first) != siteEvents {
		t.Fatalf("first round: %d events, want %d", len(first), siteEvents)
	}
	// Two pages change; one of them links to a page the crawl did not know.
	st.change("/notes.txt", "Appendix: a line added.\n")
	st.change("/", `<p><a href="hidden.html">now linked from home</a></p>`)
	second, pos, last := crawl(t, src, s, pos)
	if got := urlsOf(second, srv.URL); strings.Join(got, " ") != "/ /notes.txt /hidden.html" {
		t.Fatalf("second round gave %q; want the two changed pages and the new one", got)
	}
	if last.Done || last.More {
		t.Fatalf("second round's last page: done %v more %v", last.Done, last.More)
	}
	if !strings.Contains(string(second[1].GetBody()), "Appendix") || second[2].GetDepth() != 1 || second[2].GetReferrer() != srv.URL+"/" {
		t.Errorf("second round pages: %v", second)
	}
	// /about.html was asked for with its validators and answered 304.
	r := st.last("/about.html")
	if r.Header.Get("If-None-Match") != aboutETag || r.Header.Get("If-Modified-Since") != aboutLastModified {
		t.Errorf("recrawl of /about.html sent If-None-Match %q, If-Modified-Since %q", r.Header.Get("If-None-Match"), r.Header.Get("If-Modified-Since"))
	}
	if n := st.count("/about.html"); n != 2 {
		t.Errorf("/about.html requested %d times over two rounds", n)
	}
	// A third round with nothing changed gives nothing.
	third, _, _ := crawl(t, src, s, pos)
	if len(third) != 0 {
		t.Errorf("third round gave %q", urlsOf(third, srv.URL))
	}
}

func TestRecrawlInterval(t *testing.T) {
	st, _, src := served(t, func(c *web.Config) { c.RecrawlInterval = time.Hour })
	s := src.Streams()[0]
	_, pos, _ := crawl(t, src, s, connectors.Position{})
	before := len(st.paths())
	page, err := src.Fetch(context.Background(), s, pos)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 0 || page.More || page.Done || page.Next["crawl"] != pos["crawl"] || len(st.paths()) != before {
		t.Fatalf("a poll within recrawl_interval: %+v, %d requests", page, len(st.paths())-before)
	}
}

func TestResumeFromCursor(t *testing.T) {
	st, srv, src := served(t, nil)
	s := src.Streams()[0]
	pos := connectors.Position{}
	var got []string
	for range 4 {
		page, err := src.Fetch(context.Background(), s, pos)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			got = append(got, e.Key)
		}
		pos = page.Next
	}
	// The cursor is compact JSON in one entry, bounded by max_pages.
	var state struct {
		Next int               `json:"next"`
		URLs []json.RawMessage `json:"urls"`
	}
	if len(pos) != 1 || json.Unmarshal([]byte(pos["crawl"]), &state) != nil || state.Next != 4 || len(state.URLs) != 13 {
		t.Fatalf("cursor after 4 pages: %v", pos)
	}
	// A new process resumes from the cursor alone.
	cfg := testConfig(srv.URL)
	again, err := web.New(cfg, connectors.NewClient(testHTTP(), web.NoRedirects(srv.Client()), nil))
	if err != nil {
		t.Fatal(err)
	}
	rest, _, _ := crawl(t, again, s, pos)
	for _, p := range rest {
		got = append(got, p.GetUrl())
	}
	if len(got) != siteEvents {
		t.Fatalf("%d events over the restart, want %d: %q", len(got), siteEvents, got)
	}
	for _, p := range []string{"/", "/about.html", "/blog/", "/latin1.html", "/unicode.html", "/team.html"} {
		if n := st.count(p); n != 1 {
			t.Errorf("%s fetched %d times over the restart", p, n)
		}
	}
	// A cursor that cannot be read restarts the crawl from its seed.
	page, err := again.Fetch(context.Background(), s, connectors.Position{"crawl": "{not json"})
	if err != nil || len(page.Events) != 1 || page.Events[0].Key != srv.URL+"/" || !page.More {
		t.Fatalf("Fetch from a broken cursor: %+v, %v", page, err)
	}
}

func TestMaxPagesAndDepth(t *testing.T) {
	_, srv, src := served(t, func(c *web.Config) { c.MaxPages = 3 })
	pages, pos, _ := crawl(t, src, src.Streams()[0], connectors.Position{})
	if got := urlsOf(pages, srv.URL); strings.Join(got, " ") != "/ /about.html /blog/" {
		t.Fatalf("max_pages 3 crawled %q", got)
	}
	if len(pos["crawl"]) > 400 {
		t.Errorf("cursor of a 3-page crawl is %d bytes: %s", len(pos["crawl"]), pos["crawl"])
	}
	_, srv, src = served(t, func(c *web.Config) { c.MaxDepth = 0 })
	pages, _, _ = crawl(t, src, src.Streams()[0], connectors.Position{})
	if len(pages) != 1 || pages[0].GetUrl() != srv.URL+"/" {
		t.Fatalf("max_depth 0 crawled %q", urlsOf(pages, srv.URL))
	}
}

func TestCrawlJob(t *testing.T) {
	st, srv, src := served(t, nil)
	bad := []map[string]string{
		{},
		{"seed": "ftp://files.example.org/"},
		{"seed": "/relative"},
		{"seed": srv.URL, "depth": "99"},
		{"seed": srv.URL, "max_pages": "0"},
		{"seed": srv.URL, "max_pages": "lots"},
		{"seed": srv.URL, "query": "x"},
	}
	for _, params := range bad {
		if _, err := src.StreamForJob(&fairstreampb.Job{Id: "j", Connector: "web", Kind: "crawl", Params: params}); !errors.Is(err, connectors.ErrUnsupportedJob) {
			t.Errorf("params %v: %v, want ErrUnsupportedJob", params, err)
		}
	}
	if _, err := src.StreamForJob(&fairstreampb.Job{Id: "j", Connector: "web", Kind: "search", Params: map[string]string{"q": "x"}}); !errors.Is(err, connectors.ErrUnsupportedJob) ||
		!strings.Contains(err.Error(), `"crawl"`) {
		t.Errorf("search job: %v", err)
	}
	s, err := src.StreamForJob(&fairstreampb.Job{Id: "j1", Connector: "web", Kind: "crawl",
		Params: map[string]string{"seed": srv.URL + "/blog/#top", "depth": "1", "max_pages": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Kind != web.KindCrawl || s.Params["seed"] != srv.URL+"/blog/" {
		t.Fatalf("job stream %+v", s)
	}
	s.ID, s.JobID = "job:j1", "j1" // as the worker does
	pages, pos, last := crawl(t, src, s, connectors.Position{})
	if got := urlsOf(pages, srv.URL); strings.Join(got, " ") != "/blog/ /blog/posts/first.html" || !last.Done {
		t.Fatalf("job crawled %q, done %v", got, last.Done)
	}
	if pages[0].GetSeed() != srv.URL+"/blog/" {
		t.Errorf("seed %q", pages[0].GetSeed())
	}
	n := len(st.paths())
	page, err := src.Fetch(context.Background(), s, pos)
	if err != nil || !page.Done || len(page.Events) != 0 || len(st.paths()) != n {
		t.Fatalf("a finished job fetched again: %+v, %v", page, err)
	}
}

// fakeClock records the politeness waits instead of waiting.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.t = c.t.Add(d)
	return nil
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestHostDelayAndCrawlDelay(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	_, _, src := served(t, func(c *web.Config) { c.HostDelay = 2 * time.Second })
	web.SetClock(src, clock.now, clock.sleep)
	s := src.Streams()[0]
	// robots.txt, then the seed 2s later, then about.html 2s after that.
	page, err := src.Fetch(context.Background(), s, connectors.Position{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Fetch(context.Background(), s, page.Next); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(clock.sleeps) != "[2s 2s]" {
		t.Fatalf("waits %v, want [2s 2s]", clock.sleeps)
	}

	// The agent's own group wins over "*": its Crawl-delay is longer than
	// host_delay, and a wait that long goes back to the worker.
	clock = &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	st, _, src := served(t, func(c *web.Config) { c.HostDelay = 2 * time.Second })
	st.setRobots("User-agent: *\nDisallow: /\n\nUser-agent: Fairstream-Crawler\nCrawl-delay: 30\nDisallow: /private/\n")
	web.SetClock(src, clock.now, clock.sleep)
	s = src.Streams()[0]
	_, err = src.Fetch(context.Background(), s, connectors.Position{})
	var rl *connectors.RateLimitError
	if !errors.As(err, &rl) || !rl.Until.Equal(clock.now().Add(30*time.Second)) {
		t.Fatalf("first Fetch after robots.txt: %v, want a RateLimitError until 30s later", err)
	}
	clock.advance(30 * time.Second)
	page, err = src.Fetch(context.Background(), s, connectors.Position{})
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("Fetch after the Crawl-delay: %v, %d events", err, len(page.Events))
	}
	if len(clock.sleeps) != 0 {
		t.Errorf("slept %v", clock.sleeps)
	}
	_, err = src.Fetch(context.Background(), s, page.Next)
	if !errors.As(err, &rl) || !rl.Until.Equal(clock.now().Add(30*time.Second)) {
		t.Fatalf("next Fetch: %v, want a RateLimitError until 30s later", err)
	}
}

// pages is a handler serving fixed pages by path, 404 otherwise.
func pages(m map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := m[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(body))
	}
}

func TestRobotsTxtAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		robots http.HandlerFunc
		// private says /private/secret.html is crawled (robots.txt allows
		// all); events is how many the crawl gives (/search.cgi is only
		// disallowed by the fixture's robots.txt).
		private bool
		events  int
	}{
		{"404 allows all", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, true, siteEvents + 2},
		{"401 allows all", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) }, true, siteEvents + 2},
		{"403 allows all", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) }, true, siteEvents + 2},
		{"empty allows all", func(w http.ResponseWriter, r *http.Request) {}, true, siteEvents + 2},
		{"rules before any user-agent are dropped", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("Disallow: /\nCrawl-delay: soon\n\nUser-agent: *\nCrawl-delay: often\nDisallow: /private/\n"))
		}, false, siteEvents + 1},
		{"a redirect is followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/rules.txt", http.StatusMovedPermanently)
		}, false, siteEvents + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _, src := served(t, nil)
			st.route("/robots.txt", tc.robots)
			st.route("/rules.txt", func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte("User-agent: *\nDisallow: /private/\n"))
			})
			got, _, _ := crawl(t, src, src.Streams()[0], connectors.Position{})
			if (st.count("/private/secret.html") == 1) != tc.private || len(got) != tc.events {
				t.Fatalf("%d events, /private/secret.html fetched %d times", len(got), st.count("/private/secret.html"))
			}
		})
	}
}

func TestRobotsTxtUnusable(t *testing.T) {
	// An HTML page for robots.txt is reported with a snippet, then, the
	// second time, taken as no robots.txt.
	st, srv, src := served(t, nil)
	st.route("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><body><h1>Page introuvable</h1></body></html>"))
	})
	s := src.Streams()[0]
	_, err := src.Fetch(context.Background(), s, connectors.Position{})
	var re *connectors.ResponseError
	if !errors.As(err, &re) || re.URL != srv.URL+"/robots.txt" || !strings.Contains(re.Snippet, "Page introuvable") || st.count("/") != 0 {
		t.Fatalf("first Fetch: %v", err)
	}
	page, err := src.Fetch(context.Background(), s, connectors.Position{})
	if err != nil || len(page.Events) != 1 || st.count("/robots.txt") != 2 {
		t.Fatalf("second Fetch: %v, %d events, robots.txt fetched %d times", err, len(page.Events), st.count("/robots.txt"))
	}

	// A robots.txt that stays unreachable disallows the host: the crawl
	// drops its URLs rather than waiting forever.
	st, _, src = served(t, nil)
	st.route("/robots.txt", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	s = src.Streams()[0]
	if _, err := src.Fetch(context.Background(), s, connectors.Position{}); err == nil || errors.As(err, &re) {
		t.Fatalf("first Fetch with robots.txt down: %v, want a plain error", err)
	}
	page, err = src.Fetch(context.Background(), s, connectors.Position{})
	if err != nil || len(page.Events) != 0 || page.More || st.count("/") != 0 {
		t.Fatalf("second Fetch: %+v, %v; / fetched %d times", page, err, st.count("/"))
	}
}

func TestRedirects(t *testing.T) {
	st, srv, src := served(t, func(c *web.Config) { c.MaxRedirects = 3 })
	st.route("/", pages(map[string]string{"/": `<a href="/away.html">a</a> <a href="/loop.html">b</a> <a href="/blocked.html">c</a>
		<a href="/chain.html">d</a> <a href="/to-home.html">e</a>`}))
	st.route("/away.html", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://other.example/x", http.StatusFound)
	})
	st.route("/loop.html", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop.html", http.StatusFound)
	})
	st.route("/blocked.html", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/private/secret.html", http.StatusTemporaryRedirect)
	})
	st.route("/chain.html", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/chain2.html", http.StatusSeeOther)
	})
	st.route("/chain2.html", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "new.html#fragment", http.StatusPermanentRedirect)
	})
	st.route("/to-home.html", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/", http.StatusMovedPermanently)
	})
	got, _, _ := crawl(t, src, src.Streams()[0], connectors.Position{})
	if u := urlsOf(got, srv.URL); strings.Join(u, " ") != "/ /chain.html" {
		t.Fatalf("crawled %q", u)
	}
	if got[1].GetFinalUrl() != srv.URL+"/new.html" || got[1].GetStatusCode() != 200 {
		t.Errorf("chain: final %q status %d", got[1].GetFinalUrl(), got[1].GetStatusCode())
	}
	if n := st.count("/loop.html"); n != 4 {
		t.Errorf("a redirect loop was requested %d times; max_redirects 3 allows 4", n)
	}
	if n := st.count("/private/secret.html"); n != 0 {
		t.Errorf("a redirect into a disallowed path was followed")
	}

	// A seed that redirects to another host takes the crawl there.
	_, target, _ := served(t, nil)
	mux := http.NewServeMux()
	mux.Handle("/{$}", http.RedirectHandler(target.URL+"/blog/", http.StatusMovedPermanently))
	mover := httptest.NewServer(mux)
	defer mover.Close()
	cfg := testConfig(mover.URL)
	cfg.MaxDepth = 1
	src, err := web.New(cfg, connectors.NewClient(testHTTP(), web.NoRedirects(mover.Client()), nil))
	if err != nil {
		t.Fatal(err)
	}
	got, _, _ = crawl(t, src, src.Streams()[0], connectors.Position{})
	if len(got) != 3 || got[0].GetUrl() != mover.URL+"/" || got[0].GetFinalUrl() != target.URL+"/blog/" ||
		got[1].GetUrl() != target.URL+"/blog/posts/first.html" || got[2].GetUrl() != target.URL+"/" {
		for _, p := range got {
			t.Logf("%s → %s", p.GetUrl(), p.GetFinalUrl())
		}
		t.Fatal("the crawl did not follow its seed to its new host")
	}
}

func TestResponses(t *testing.T) {
	big := `<html><body><p>` + strings.Repeat("Lorem ipsum dolor sit amet. ", 100) + `</p><a href="/after-the-cut.html">x</a></body></html>`
	st, _, src := served(t, func(c *web.Config) { c.MaxBodyBytes = 1024 })
	st.route("/", pages(map[string]string{"/": `<html><head><meta name="fairstream-crawler" content="nofollow"></head>
		<body><a href="/big.html">never followed</a></body></html>`}))
	st.route("/big.html", pages(map[string]string{"/big.html": big}))
	s := src.Streams()[0]
	got, _, _ := crawl(t, src, s, connectors.Position{})
	if len(got) != 1 || st.count("/big.html") != 0 {
		t.Fatalf("a page with the agent's own meta nofollow: %d events, its link fetched %d times", len(got), st.count("/big.html"))
	}

	// A body over max_body_bytes is cut; links are read from all of it.
	st, srv, src := served(t, func(c *web.Config) { c.MaxBodyBytes = 1024 })
	st.route("/", pages(map[string]string{"/": big}))
	got, _, _ = crawl(t, src, src.Streams()[0], connectors.Position{})
	if len(got) != 2 || len(got[0].GetBody()) != 1024 || !got[0].GetTruncated() || got[1].GetUrl() != srv.URL+"/after-the-cut.html" ||
		got[1].GetTruncated() {
		t.Fatalf("truncation: %d pages; first %d bytes, truncated %v", len(got), len(got[0].GetBody()), got[0].GetTruncated())
	}

	// X-Robots-Tag for another agent is ignored; for all agents, obeyed.
	st, srv, src = served(t, nil)
	st.route("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("X-Robots-Tag", "otherbot: nofollow")
		w.Header().Add("X-Robots-Tag", "noindex")
		pages(map[string]string{"/": `<a href="/about.html">about</a>`})(w, r)
	})
	got, _, _ = crawl(t, src, src.Streams()[0], connectors.Position{})
	if len(got) == 0 || got[0].GetUrl() != srv.URL+"/about.html" {
		t.Fatalf("X-Robots-Tag: got %q", urlsOf(got, srv.URL))
	}
}

func TestUnusableAndRefusedPages(t *testing.T) {
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"
	st, srv, src := served(t, func(c *web.Config) { c.MaxDepth = 1 })
	st.route("/", pages(map[string]string{"/": `<a href="/image.html">a</a> <a href="/login.html">b</a> <a href="/broken.html">c</a> <a href="/about.html">d</a>`}))
	st.route("/image.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(png))
	})
	st.route("/login.html", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("<h1>Forbidden</h1>"))
	})
	st.route("/broken.html", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	s := src.Streams()[0]
	ctx := context.Background()
	page, err := src.Fetch(ctx, s, connectors.Position{})
	if err != nil || len(page.Events) != 1 {
		t.Fatal(err)
	}
	// A body declared HTML that is an image: reported, tried again, dropped.
	_, err = src.Fetch(ctx, s, page.Next)
	var re *connectors.ResponseError
	if !errors.As(err, &re) || re.URL != srv.URL+"/image.html" || !strings.Contains(re.Err.Error(), "image/png") || !strings.Contains(re.Snippet, "PNG") {
		t.Fatalf("binary body: %v", err)
	}
	page, err = src.Fetch(ctx, s, page.Next)
	if err != nil || len(page.Events) != 0 || !page.More || st.count("/image.html") != 2 {
		t.Fatalf("binary body again: %+v, %v", page, err)
	}
	// 403: skipped, and the worker is not told the credentials were refused.
	page, err = src.Fetch(ctx, s, page.Next)
	if err != nil || len(page.Events) != 0 || !page.More {
		t.Fatalf("403 page: %+v, %v", page, err)
	}
	// 500 (after the client's retries): an error, then dropped.
	_, err = src.Fetch(ctx, s, page.Next)
	if err == nil || errors.Is(err, connectors.ErrAuth) {
		t.Fatalf("500 page: %v", err)
	}
	page, err = src.Fetch(ctx, s, page.Next)
	if err != nil || len(page.Events) != 0 || !page.More {
		t.Fatalf("500 page again: %+v, %v", page, err)
	}
	page, err = src.Fetch(ctx, s, page.Next)
	if err != nil || len(page.Events) != 1 || page.Events[0].Key != srv.URL+"/about.html" || page.More {
		t.Fatalf("the crawl did not go on past the failing pages: %+v, %v", page, err)
	}
}

func TestConfig(t *testing.T) {
	cfg := web.DefaultConfig()
	if cfg.MaxDepth != 2 || cfg.MaxPages != 200 || cfg.HostDelay != time.Second || cfg.MaxBodyBytes != 768<<10 ||
		cfg.UserAgent != "fairstream-crawler/1 (+https://github.com/fairstream/fairstream)" || !cfg.RespectRobots {
		t.Fatalf("defaults %+v", cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.Seeds = []string{"https://example.org/", "mailto:x@example.org"}
	cfg.AllowedHosts = []string{"docs.example.org", "*.example.net", "https://example.com/path"}
	cfg.MaxDepth = -1
	cfg.MaxPages = 100000
	cfg.HostDelay = -time.Second
	cfg.MaxBodyBytes = 10
	cfg.UserAgent = ""
	_, err := web.New(cfg, connectors.NewClient(connectors.DefaultHTTPConfig(), nil, nil))
	if err == nil {
		t.Fatal("an invalid configuration was accepted")
	}
	for _, key := range []string{"connectors.web.seeds[1]", "connectors.web.allowed_hosts[2]", "connectors.web.max_depth",
		"connectors.web.max_pages", "connectors.web.host_delay", "connectors.web.max_body_bytes", "connectors.web.user_agent"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("the error does not name %s: %v", key, err)
		}
	}
	for _, bad := range []string{"seeds[0]", "allowed_hosts[0]", "allowed_hosts[1]"} {
		if strings.Contains(err.Error(), bad) {
			t.Errorf("a valid setting was refused (%s): %v", bad, err)
		}
	}
}

func TestAllowedHosts(t *testing.T) {
	_, target, _ := served(t, nil)
	// A seed page on one host linking to the fixture site on another:
	// followed only where allowed_hosts says.
	hub := httptest.NewServer(pages(map[string]string{"/": fmt.Sprintf(`<a href="%s/about.html">there</a> <a href="/here.html">here</a>`, target.URL),
		"/here.html": "<p>here</p>"}))
	defer hub.Close()
	for _, tc := range []struct {
		allowed []string
		want    int
	}{
		{nil, 2},
		{[]string{strings.TrimPrefix(target.URL, "http://")}, 3},
		{[]string{"127.0.0.1"}, 3}, // no port: any port
		{[]string{"*.0.0.1"}, 3},
		{[]string{"localhost"}, 2},
	} {
		cfg := testConfig(hub.URL)
		cfg.MaxDepth = 1
		cfg.AllowedHosts = tc.allowed
		src, err := web.New(cfg, connectors.NewClient(testHTTP(), web.NoRedirects(nil), nil))
		if err != nil {
			t.Fatal(err)
		}
		got, _, _ := crawl(t, src, src.Streams()[0], connectors.Position{})
		if len(got) != tc.want {
			t.Errorf("allowed_hosts %q: %d pages, want %d", tc.allowed, len(got), tc.want)
		}
	}
}
