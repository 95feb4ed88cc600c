package web_test

import (
	"testing"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/connectors/connectortest"
	"github.com/fairstream/fairstream/connectors/web"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// siteEvents is how many events one crawl of the fixture site from / to
// depth 2 gives: /, about, blog/, latin1, unicode, report.pdf, notes.txt,
// old (→ new), missing (404), team, blog/posts/first, café, published.
// Not recorded: drafts (noindex), new (reached through old); not fetched:
// private/ and search.cgi (robots.txt), sponsored (rel=nofollow), hidden
// (meta nofollow), deep (depth 3), other hosts and schemes.
const siteEvents = 13

// testConfig crawls the fixture site at baseURL without delays.
func testConfig(baseURL string) web.Config {
	cfg := web.DefaultConfig()
	cfg.Seeds = []string{baseURL + "/"}
	cfg.HostDelay = 0
	return cfg
}

func newSource(t testing.TB, baseURL string, client *connectors.Client) connectors.Source {
	s, err := web.New(testConfig(baseURL), client)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The suite's client follows redirects itself (the final URL is then the
// requested one); TestRedirects covers the crawler's own handling. The
// suite's malformed response (an HTML error page with status 200) reaches
// robots.txt, the crawl's first request: an HTML robots.txt is unusable.
func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Harness{
		Handler: fixture,
		New:     newSource,
		Want:    siteEvents,
		Topics:  []string{web.Topic},
		Job:     crawlJob,
		JobWant: 2,
	})
}

// crawlJob asks for the blog, one link deep, two pages at most: /blog/ and
// /blog/posts/first.html.
func crawlJob(baseURL string) *fairstreampb.Job {
	return &fairstreampb.Job{Id: "job-blog-1", Connector: web.Name, Kind: web.KindCrawl, Requester: "connectortest",
		Params: map[string]string{"seed": baseURL + "/blog/", "depth": "1", "max_pages": "2"}}
}

func BenchmarkConnector(b *testing.B) {
	connectortest.Bench(b, connectortest.Harness{Handler: fixture, New: newSource, Want: siteEvents, Topics: []string{web.Topic}})
}
