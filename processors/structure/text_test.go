package structure

import (
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

func TestRenderTextVisibleBody(t *testing.T) {
	const page = `<html><head><title>T</title><style>p{color:red}</style></head><body>
		<header><a href="/">Site name</a></header>
		<nav>Home · Products · Contact</nav>
		<div role="navigation">Breadcrumb trail</div>
		<div class="content">
		  <h2>Opening   hours</h2>
		  <p>Monday to Friday,<br>9am to 5pm.</p>
		  <ul><li>Car park at the back</li><li>Step-free access</li></ul>
		  <table><tr><td>Tea</td><td>£2</td></tr></table>
		  <pre>line one
line   two</pre>
		  <script>track("view")</script><noscript>Please enable JavaScript</noscript>
		  <template><p>Template text</p></template>
		  <p hidden>Hidden text</p><p aria-hidden="true">Aria hidden</p>
		</div>
		<aside>Related: our other shop</aside>
		<footer>Copyright Example Ltd</footer>
		</body></html>`
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	got := renderText(doc, true, 1<<20)
	want := "Opening hours\n\nMonday to Friday,\n9am to 5pm.\n\nCar park at the back\nStep-free access\n\nTea £2\n\nline one\nline two"
	if got != want {
		t.Errorf("renderText =\n%q\nwant\n%q", got, want)
	}
	// Without skipping furniture, navigation and footer come back.
	all := renderText(doc, false, 1<<20)
	for _, p := range []string{"Site name", "Home · Products · Contact", "Copyright Example Ltd", "Opening hours"} {
		if !strings.Contains(all, p) {
			t.Errorf("full text lacks %q: %q", p, all)
		}
	}
	if strings.Contains(all, "track(") || strings.Contains(all, "Please enable") || strings.Contains(all, "Template text") {
		t.Errorf("full text has script, noscript or template content: %q", all)
	}
}

func TestShortPageDropsFurniture(t *testing.T) {
	// Readability returns the whole body of a short page; its navigation and
	// footer are still left out.
	body := `<html><body><header><nav><a href="/">Home</a> <a href="/about">About us</a></nav></header>
		<main><p>Short body text here.</p></main><footer>Copyright 2024 Example Ltd</footer></body></html>`
	doc, err := WebPage(DefaultConfig(), Source{}, &fairstreampb.RawWebPage{
		Url: "https://example.com/", StatusCode: 200, ContentType: "text/html", Body: []byte(body),
	})
	if err != nil {
		t.Fatal(err)
	}
	if doc.GetText() != "Short body text here." {
		t.Errorf("text = %q", doc.GetText())
	}
	if len(doc.GetLinks()) != 2 || doc.GetLinks()[1].GetUrl() != "https://example.com/about" || doc.GetLinks()[1].GetText() != "About us" {
		t.Errorf("links = %v; navigation links are still links", doc.GetLinks())
	}
}

func TestRelativeBaseHref(t *testing.T) {
	body := `<html><head><base href="/static/v3/"></head><body><a href="img/a.png">a</a><a href="../v2/">b</a><a href="https://other.example/x">c</a></body></html>`
	doc, err := WebPage(DefaultConfig(), Source{}, &fairstreampb.RawWebPage{
		Url: "https://example.com/page/one", StatusCode: 200, ContentType: "text/html", Body: []byte(body),
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range doc.GetLinks() {
		got = append(got, l.GetUrl())
	}
	want := []string{"https://example.com/static/v3/img/a.png", "https://example.com/static/v2/", "https://other.example/x"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("links = %q, want %q", got, want)
	}
}

func TestNormalizeURL(t *testing.T) {
	tests := map[string]string{
		"HTTP://Example.COM":              "http://example.com/",
		"https://example.com:443/a#frag":  "https://example.com/a",
		"http://example.com:8080/a?b=c#d": "http://example.com:8080/a?b=c",
		"https://[::1]:443/":              "https://[::1]/",
		"https://example.com/caf%C3%A9":   "https://example.com/caf%C3%A9",
	}
	for in, want := range tests {
		u := parseHTTPURL(in)
		if u == nil {
			t.Errorf("parseHTTPURL(%q) = nil", in)
			continue
		}
		if got := normalizeURL(u); got != want {
			t.Errorf("normalizeURL(%q) = %q, want %q", in, got, want)
		}
	}
	for _, bad := range []string{"", "/relative", "mailto:a@b.c", "ftp://example.com/", "http:opaque", "https://", "http://bad\xff.example/"} {
		if u := parseHTTPURL(bad); u != nil {
			t.Errorf("parseHTTPURL(%q) = %v, want nil", bad, u)
		}
	}
}
