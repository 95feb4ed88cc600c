package structure

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"google.golang.org/protobuf/proto"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// want lists what a case expects of the Document; empty fields are not
// checked.
type want struct {
	url         string   // canonical URL (also source_id)
	title       string   // exact title
	textHas     []string // phrases the text contains
	textLacks   []string // phrases the text must not contain
	lang        string   // exact language code
	minConf     float64  // lowest acceptable language confidence
	links       []string // link URLs that must be present
	linksLack   []string // link URLs that must be absent
	authors     []string // exact authors
	published   string   // RFC 3339, UTC
	description string
	media       []string // media URLs that must be present
	noTitle     bool
	noLinks     bool
}

func TestWebPageFixtures(t *testing.T) {
	const newsURL = "https://coastalherald.example/news/2024/03/14/tidal-barrier"
	tests := []struct {
		name        string
		file        string
		body        []byte // used when file is empty
		contentType string
		url         string
		finalURL    string
		headers     map[string]string
		want        want
	}{
		{
			name:        "news article with boilerplate",
			file:        "news_article.html",
			contentType: "text/html; charset=utf-8",
			url:         "https://coastalherald.example/r/abc123",
			finalURL:    newsURL,
			want: want{
				url:   newsURL,
				title: "Harbour City approves £240m tidal barrier",
				textHas: []string{
					"Harbour City council has approved plans for a £240m tidal barrier",
					"said council leader Priya Raman.",
					"start construction in 2026.",
				},
				textLacks: []string{
					"Subscribe today", "All rights reserved", "Manage cookie preferences",
					"Ferry timetable changes", "dataLayer", "position:fixed", "Contact the newsroom",
				},
				lang:    "en",
				minConf: 0.9,
				links: []string{
					"https://coastalherald.example/news/",
					"https://coastalherald.example/documents/tidal-barrier-report.pdf",
					"https://maps.example.net/wend-flood-zones?src=herald",
					"https://coastalherald.example/privacy",
				},
				linksLack: []string{
					"https://coastalherald.example/privacy#cookies",
					"https://maps.example.net/wend-flood-zones?src=herald#zone-2",
				},
				authors:     []string{"Maria Okafor", "https://coastalherald.example/staff/maria-okafor"},
				published:   "2024-03-14T07:30:00Z",
				description: "Councillors voted 9 to 4 for a £240m tidal barrier after two winters of flooding in the old town.",
				media: []string{
					"https://coastalherald.example/media/2024/03/barrier-render.jpg",
					"https://coastalherald.example/media/2024/03/old-town-flood.jpg",
				},
			},
		},
		{
			name:        "German blog post",
			file:        "blog_de.html",
			contentType: "text/html",
			url:         "https://backstube.example.de/2023/11/sauerteigbrot/",
			want: want{
				url:       "https://backstube.example.de/2023/11/sauerteigbrot/",
				title:     "Sauerteigbrot für Anfänger – Backstube am Fluss",
				textHas:   []string{"500 Gramm Roggenmehl", "Gärkörbchen"},
				textLacks: []string{"Stolz präsentiert von WordPress", "Über mich"},
				lang:      "de",
				minConf:   0.9,
				published: "2023-11-05T08:15:00Z",
				links:     []string{"https://backstube.example.de/rezepte/", "https://backstube.example.de/ueber-mich/"},
				media:     []string{"https://backstube.example.de/wp-content/uploads/2023/11/brot-anschnitt.jpg"},
			},
		},
		{
			name:        "base href and relative links",
			file:        "base_href.html",
			contentType: "text/html",
			url:         "https://www.example.org/docs/install",
			want: want{
				url:     "https://www.example.org/docs/install",
				title:   "Installing the toolkit",
				textHas: []string{"Start with the prerequisites, then follow the Linux guide"},
				lang:    "en",
				links: []string{
					"https://docs.example.org/manual/v2/prerequisites.html",
					"https://docs.example.org/manual/v2/install/linux.html",
					"https://docs.example.org/manual/v1/install.html",
					"https://mirror.example.net/toolkit/",
					"https://example.com/Downloads",
					"https://docs.example.org/search?q=install&lang=en",
					"https://docs.example.org/manual/v2/faq.html",
					"https://docs.example.org/manual/v2/changelog.html",
				},
				linksLack: []string{
					"https://www.example.org/docs/prerequisites.html",
					"https://docs.example.org/manual/v2/prerequisites.html#os",
					"https://www.example.org/docs/install",
					"mailto:help@example.org",
					"ftp://files.example.org/pub/",
				},
				media: []string{"https://docs.example.org/manual/v2/img/changes.png"},
			},
		},
		{
			name:        "rel=canonical",
			file:        "canonical.html",
			contentType: "text/html",
			url:         "https://www.recipes.example.com/recipes/wild-garlic-pesto?utm_source=feed&utm_medium=rss",
			want: want{
				url:     "https://www.recipes.example.com/recipes/wild-garlic-pesto",
				title:   "Spring recipes: wild garlic pesto",
				textHas: []string{"Wild garlic grows in damp woodland"},
				lang:    "en",
				noLinks: true,
			},
		},
		{
			name:        "windows-1252 declared in meta",
			file:        "windows1252.html",
			contentType: "text/html",
			url:         "http://cafe.example.fr/carte",
			want: want{
				title:   "Café naïve – la carte d’été",
				textHas: []string{"Notre crème brûlée coûte désormais 6,50 €.", "« C’est la spécialité de la maison »", "gâteau à l’orange"},
				lang:    "fr",
				minConf: 0.9,
			},
		},
		{
			name:        "ISO-8859-1 declared in Content-Type decodes as windows-1252",
			file:        "windows1252_nometa.html",
			contentType: "text/html; charset=ISO-8859-1",
			url:         "http://cafe.example.fr/carte",
			want: want{
				title:   "Café naïve – la carte d’été",
				textHas: []string{"6,50 €", "réservations"},
				lang:    "fr",
			},
		},
		{
			name:        "undeclared windows-1252 is detected as not UTF-8",
			file:        "windows1252_nometa.html",
			contentType: "text/html",
			url:         "http://cafe.example.fr/carte",
			want:        want{title: "Café naïve – la carte d’été", textHas: []string{"crème brûlée"}},
		},
		{
			name:        "plain text is kept as is",
			file:        "plain.txt",
			contentType: "text/plain; charset=utf-8",
			url:         "https://status.example.org/notice.txt",
			want: want{
				url:     "https://status.example.org/notice.txt",
				noTitle: true,
				textHas: []string{
					"RFC-style notice\n================\n\nThis service",
					"6 April   from 02:00",
					"UTC\nfor scheduled maintenance.\n\nContact ops@example.org",
				},
				lang:    "en",
				noLinks: true,
			},
		},
		{
			name:        "Arabic, English and emoji",
			file:        "mixed_scripts.html",
			contentType: "text/html; charset=UTF-8",
			url:         "https://news.example.ae/culture/book-festival",
			want: want{
				title:   "مهرجان الكتاب 📚 Book Festival",
				textHas: []string{"افتتح مهرجان الكتاب السنوي", "English programme", "😀👍🏽"},
				lang:    "ar",
			},
		},
		{
			name:        "cross-site canonical is ignored",
			body:        []byte(`<html><head><title>Mirror</title><link rel="canonical" href="https://elsewhere.example.net/story"></head><body><p>Copied text.</p></body></html>`),
			contentType: "text/html",
			url:         "https://mirror.example.org/story?id=7",
			want:        want{url: "https://mirror.example.org/story?id=7", title: "Mirror", textHas: []string{"Copied text."}},
		},
		{
			name: "canonical on a sibling subdomain is followed and normalised",
			body: []byte(`<html><head><link rel="Canonical" href="HTTPS://WWW.Example.co.uk:443/a/b#top"><meta property="og:title" content="  Spaced
			   title "></head><body><h1>Heading</h1></body></html>`),
			contentType: "text/html",
			url:         "https://m.example.co.uk/a/b",
			want:        want{url: "https://www.example.co.uk/a/b", title: "Spaced title"},
		},
		{
			name:        "canonical across a public suffix is ignored",
			body:        []byte(`<html><head><link rel="canonical" href="https://other.co.uk/a"></head><body>x</body></html>`),
			contentType: "text/html",
			url:         "https://example.co.uk/a",
			want:        want{url: "https://example.co.uk/a"},
		},
		{
			name:        "title falls back to the first h1; short text takes html lang",
			body:        []byte(`<html lang="nl-BE"><body><h1> Welkom </h1><p>Hallo!</p></body></html>`),
			contentType: "text/html",
			url:         "https://example.be/",
			want:        want{title: "Welkom", lang: "nl", textHas: []string{"Hallo!"}},
		},
		{
			name:        "Content-Language header is the last fallback",
			body:        []byte(`<html><body><p>Ciao!</p></body></html>`),
			contentType: "text/html",
			url:         "https://example.it/",
			headers:     map[string]string{"content-language": "it-IT, en"},
			want:        want{lang: "it"},
		},
		{
			name: "missing content type is sniffed",
			body: []byte(`<!DOCTYPE html><html><head><title>Sniffed</title></head><body><p>Body</p></body></html>`),
			url:  "https://example.com/",
			want: want{title: "Sniffed", textHas: []string{"Body"}},
		},
		{
			name:        "XHTML with an XML declaration naming the charset",
			body:        append([]byte(`<?xml version="1.0" encoding="ISO-8859-15"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>Tarif</title></head><body><p>Prix: 10 `), 0xA4, '<', '/', 'p', '>', '<', '/', 'b', 'o', 'd', 'y', '>', '<', '/', 'h', 't', 'm', 'l', '>'),
			contentType: "application/xhtml+xml",
			url:         "https://example.fr/tarif",
			want:        want{title: "Tarif", textHas: []string{"Prix: 10 €"}},
		},
		{
			name:        "UTF-16 with a byte-order mark",
			body:        mustUTF16(t, `<html><head><title>Ünïcödé</title></head><body><p>Grüße aus Köln</p></body></html>`),
			contentType: "text/html; charset=utf-8",
			url:         "https://example.de/",
			want:        want{title: "Ünïcödé", textHas: []string{"Grüße aus Köln"}},
		},
		{
			name:        "unknown charset label with a UTF-8 body",
			body:        []byte(`<html><head><meta charset="x-klingon"><title>Ok</title></head><body>naïve</body></html>`),
			contentType: "text/html; charset=x-vulcan",
			url:         "https://example.com/",
			want:        want{title: "Ok", textHas: []string{"naïve"}},
		},
		{
			name: "JSON-LD author and date; hidden text skipped",
			body: []byte(`<html><head><title>LD</title><script type="application/ld+json">
				{"@context":"https://schema.org","@graph":[{"@type":"WebSite","name":"Site"},
				{"@type":"NewsArticle","datePublished":"2021-06-01 14:05","author":[{"@type":"Person","name":"Ana Lima"},{"name":"Rui Costa"}]}]}
				</script></head><body><p>Visible words.</p><div hidden>Secret words.</div><p style="display: none">Also secret.</p></body></html>`),
			contentType: "text/html",
			url:         "https://example.pt/a",
			want: want{
				title:     "LD",
				authors:   []string{"Ana Lima", "Rui Costa"},
				published: "2021-06-01T14:05:00Z",
				textHas:   []string{"Visible words."},
				textLacks: []string{"Secret words", "Also secret"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			if tc.file != "" {
				body = fixture(t, tc.file)
			}
			page := &fairstreampb.RawWebPage{
				Url: tc.url, FinalUrl: tc.finalURL, StatusCode: 200,
				ContentType: tc.contentType, Body: body, Headers: tc.headers,
			}
			src := Source{EventID: "01HV0000000000000000000000", EventType: "raw.web/v1", Worker: "worker-1", ContentHash: []byte{1, 2, 3}}
			doc, err := WebPage(DefaultConfig(), src, page)
			if err != nil {
				t.Fatalf("WebPage: %v", err)
			}
			if doc == nil {
				t.Fatal("WebPage returned no document")
			}
			checkDocument(t, doc, tc.want)
			checkLineage(t, doc, src)
		})
	}
}

func mustUTF16(t *testing.T, s string) []byte {
	b, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func checkDocument(t *testing.T, doc *fairstreampb.Document, w want) {
	t.Helper()
	if doc.GetSource() != "web" {
		t.Errorf("source = %q, want web", doc.GetSource())
	}
	if doc.GetUrl() != doc.GetSourceId() || doc.GetId() != documentID(doc.GetUrl()) {
		t.Errorf("id %q, source_id %q, url %q do not agree", doc.GetId(), doc.GetSourceId(), doc.GetUrl())
	}
	if len(doc.GetId()) != len("web:")+32 || !strings.HasPrefix(doc.GetId(), "web:") {
		t.Errorf("id = %q, want web: and 32 hex digits", doc.GetId())
	}
	if w.url != "" && doc.GetUrl() != w.url {
		t.Errorf("url = %q, want %q", doc.GetUrl(), w.url)
	}
	if w.title != "" && doc.GetTitle() != w.title {
		t.Errorf("title = %q, want %q", doc.GetTitle(), w.title)
	}
	if w.noTitle && doc.GetTitle() != "" {
		t.Errorf("title = %q, want none", doc.GetTitle())
	}
	for _, p := range w.textHas {
		if !strings.Contains(doc.GetText(), p) {
			t.Errorf("text lacks %q; text:\n%s", p, doc.GetText())
		}
	}
	for _, p := range w.textLacks {
		if strings.Contains(doc.GetText(), p) {
			t.Errorf("text contains boilerplate %q; text:\n%s", p, doc.GetText())
		}
	}
	if strings.Contains(doc.GetText(), "\n\n\n") || strings.TrimSpace(doc.GetText()) != doc.GetText() {
		t.Errorf("text is not normalised: %q", doc.GetText())
	}
	if w.lang != "" && doc.GetLanguage() != w.lang {
		t.Errorf("language = %q (%.2f), want %q", doc.GetLanguage(), doc.GetLanguageConfidence(), w.lang)
	}
	if c := doc.GetLanguageConfidence(); c < w.minConf || c > 1 {
		t.Errorf("language confidence = %v, want in [%v, 1]", c, w.minConf)
	}
	urls := map[string]bool{}
	for _, l := range doc.GetLinks() {
		if urls[l.GetUrl()] {
			t.Errorf("link %q appears twice", l.GetUrl())
		}
		urls[l.GetUrl()] = true
		if !strings.HasPrefix(l.GetUrl(), "http://") && !strings.HasPrefix(l.GetUrl(), "https://") || strings.Contains(l.GetUrl(), "#") {
			t.Errorf("link %q is not an absolute http(s) URL without fragment", l.GetUrl())
		}
	}
	for _, u := range w.links {
		if !urls[u] {
			t.Errorf("links lack %q; have %v", u, slices.Sorted(mapsKeys(urls)))
		}
	}
	for _, u := range w.linksLack {
		if urls[u] {
			t.Errorf("links contain %q", u)
		}
	}
	if w.noLinks && len(doc.GetLinks()) != 0 {
		t.Errorf("links = %v, want none", doc.GetLinks())
	}
	if w.authors != nil && !slices.Equal(doc.GetAuthors(), w.authors) {
		t.Errorf("authors = %q, want %q", doc.GetAuthors(), w.authors)
	}
	if w.published != "" {
		if doc.GetPublished() == nil {
			t.Errorf("published missing, want %s", w.published)
		} else if got := doc.GetPublished().AsTime().Format("2006-01-02T15:04:05Z07:00"); got != w.published {
			t.Errorf("published = %s, want %s", got, w.published)
		}
	}
	if w.description != "" && doc.GetDescription() != w.description {
		t.Errorf("description = %q, want %q", doc.GetDescription(), w.description)
	}
	var media []string
	for _, m := range doc.GetMedia() {
		media = append(media, m.GetUrl())
	}
	for _, u := range w.media {
		if !slices.Contains(media, u) {
			t.Errorf("media lack %q; have %q", u, media)
		}
	}
}

func mapsKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func checkLineage(t *testing.T, doc *fairstreampb.Document, src Source) {
	t.Helper()
	l := doc.GetLineage()
	if l.GetEventId() != src.EventID || l.GetEventType() != src.EventType || l.GetWorker() != src.Worker ||
		!bytes.Equal(l.GetContentHash(), src.ContentHash) || l.GetStage() != Name || l.GetStageVersion() != Version {
		t.Errorf("lineage = %v, want %+v with stage %s/%s", l, src, Name, Version)
	}
}

func TestWebPageNewsDetails(t *testing.T) {
	page := &fairstreampb.RawWebPage{
		Url: "https://coastalherald.example/news/x", StatusCode: 200,
		ContentType: "text/html", Body: fixture(t, "news_article.html"),
	}
	doc, err := WebPage(DefaultConfig(), Source{}, page)
	if err != nil {
		t.Fatal(err)
	}
	byURL := map[string]*fairstreampb.Link{}
	for _, l := range doc.GetLinks() {
		byURL[l.GetUrl()] = l
	}
	if l := byURL["https://coastalherald.example/subscribe"]; l.GetText() != "Subscribe today for unlimited access" || l.GetRel() != "nofollow" {
		t.Errorf("subscribe link = %v", l)
	}
	// The first occurrence of a URL wins: the cookie banner's link comes before the footer's.
	if l := byURL["https://coastalherald.example/privacy"]; l.GetText() != "Manage cookie preferences" {
		t.Errorf("privacy link = %v", l)
	}
	media := doc.GetMedia()
	if len(media) < 2 || media[0].GetAltText() != "Artist's impression of the barrier at high tide" ||
		media[0].GetMimeType() != "image/jpeg" || media[1].GetAltText() != "Flood water on Quay Street in January" {
		t.Errorf("media = %v", media)
	}
	// Paragraphs are separated by one blank line.
	if !strings.Contains(doc.GetText(), "from flooding.\n\nCouncillors voted") {
		t.Errorf("paragraph break missing in %q", doc.GetText())
	}
}

func TestWebPageSkipped(t *testing.T) {
	html := fixture(t, "news_article.html")
	tests := []struct {
		name   string
		status int32
		body   []byte
	}{
		{"404 with a body", 404, fixture(t, "not_found.html")},
		{"301 redirect", 301, []byte(`<a href="/new">Moved</a>`)},
		{"500 error", 500, html},
		{"no status", 0, html},
		{"200 with empty body", 200, nil},
		{"204 no content", 204, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := WebPage(DefaultConfig(), Source{}, &fairstreampb.RawWebPage{
				Url: "https://example.com/", StatusCode: tc.status, ContentType: "text/html", Body: tc.body,
			})
			if doc != nil || err != nil {
				t.Errorf("WebPage = %v, %v; want nil, nil", doc, err)
			}
		})
	}
}

func TestWebPageUnprocessable(t *testing.T) {
	png := fixture(t, "pixel.png")
	tests := []struct {
		name        string
		contentType string
		url         string
		body        []byte
		cfg         func(*Config)
		wantMsg     string
	}{
		{"PNG", "image/png", "", png, nil, `unsupported content type "image/png"`},
		{"PNG served as text/html", "text/html; charset=utf-8", "", png, nil, `content type "text/html" but body is image/png data`},
		{"PDF", "application/pdf", "", []byte("%PDF-1.7\n1 0 obj\n"), nil, `unsupported content type "application/pdf"`},
		{"octet-stream", "application/octet-stream", "", []byte("hello"), nil, `unsupported content type "application/octet-stream"`},
		{"JSON", "application/json", "", []byte(`{"a":1}`), nil, `unsupported content type "application/json"`},
		{"binary with no content type", "", "", []byte{0x00, 0x01, 0x02, 0x03, 0xff, 0xfe, 0x10}, nil, `no content type and body sniffed as "application/octet-stream"`},
		{"NUL bytes in HTML", "text/html", "", []byte("<html><body><p>text and more text and more</p>\x00</body></html>"), nil, `body is binary (NUL byte at offset 46, decoded as utf-8)`},
		{"mostly invalid UTF-8", "text/plain; charset=utf-8", "", bytes.Repeat([]byte{'a', 0xff, 0xfe, 0xc3}, 64), nil, `192 of 256 bytes are not valid UTF-8`},
		{"unknown charset, not UTF-8", "text/html; charset=x-vulcan", "", []byte("<p>caf\xe9</p>"), nil, `unknown charset "x-vulcan" and body is not valid UTF-8`},
		{"replacement charset", "text/html; charset=iso-2022-kr", "", []byte("<p>hi</p>"), nil, `charset "iso-2022-kr" cannot be decoded`},
		{"body over the limit", "text/html", "", bytes.Repeat([]byte("<p>x</p>"), 20), func(c *Config) { c.MaxBodyBytes = 100 }, `body is 160 bytes, over the limit of 100 (max_body_bytes)`},
		{"no usable URL", "text/html", "ftp://example.com/x", []byte("<p>x</p>"), nil, `no absolute http(s) URL (url "ftp://example.com/x", final_url "")`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			u := tc.url
			if u == "" {
				u = "https://example.com/file"
			}
			doc, err := WebPage(cfg, Source{}, &fairstreampb.RawWebPage{Url: u, StatusCode: 200, ContentType: tc.contentType, Body: tc.body})
			if doc != nil {
				t.Errorf("got a document %v", doc)
			}
			if !errors.Is(err, ErrUnprocessable) {
				t.Fatalf("err = %v, want ErrUnprocessable", err)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("err = %q, want it to contain %q", err, tc.wantMsg)
			}
		})
	}
}

func TestWebPageCaps(t *testing.T) {
	body := fixture(t, "news_article.html")
	page := &fairstreampb.RawWebPage{Url: "https://coastalherald.example/news/x", StatusCode: 200, ContentType: "text/html", Body: body}
	full, err := WebPage(DefaultConfig(), Source{}, page)
	if err != nil {
		t.Fatal(err)
	}
	if full.GetTextTruncated() || len(full.GetLinks()) < 10 {
		t.Fatalf("default config truncated the fixture: truncated=%v links=%d", full.GetTextTruncated(), len(full.GetLinks()))
	}

	cfg := DefaultConfig()
	cfg.MaxTextBytes = 100
	cfg.MaxLinks = 3
	doc, err := WebPage(cfg, Source{}, page)
	if err != nil {
		t.Fatal(err)
	}
	if !doc.GetTextTruncated() || len(doc.GetText()) > 100 || len(doc.GetText()) < 90 {
		t.Errorf("text = %d bytes, truncated=%v; want 90..100 bytes, truncated", len(doc.GetText()), doc.GetTextTruncated())
	}
	if !strings.HasPrefix(full.GetText(), doc.GetText()) {
		t.Errorf("truncated text %q is not a prefix of the full text", doc.GetText())
	}
	if got := len(doc.GetLinks()); got != 3 {
		t.Fatalf("links = %d, want 3", got)
	}
	for i, l := range doc.GetLinks() {
		if l.GetUrl() != full.GetLinks()[i].GetUrl() {
			t.Errorf("link %d = %q, want the page's first links in order (%q)", i, l.GetUrl(), full.GetLinks()[i].GetUrl())
		}
	}
}

func TestTruncateOnRuneBoundary(t *testing.T) {
	// "é" is two bytes and "👍" four: every odd limit falls inside a rune.
	text := strings.Repeat("é", 20) + strings.Repeat("👍", 5)
	page := &fairstreampb.RawWebPage{Url: "https://example.com/", StatusCode: 200, ContentType: "text/plain", Body: []byte(text)}
	for limit := 1; limit <= len(text)+1; limit++ {
		cfg := DefaultConfig()
		cfg.MaxTextBytes = limit
		doc, err := WebPage(cfg, Source{}, page)
		if err != nil {
			t.Fatal(err)
		}
		got := doc.GetText()
		if len(got) > limit || !utf8.ValidString(got) || !strings.HasPrefix(text, got) || len(got) < limit-3 && limit <= len(text) {
			t.Errorf("limit %d: text %q (%d bytes)", limit, got, len(got))
		}
		if doc.GetTextTruncated() != (limit < len(text)) {
			t.Errorf("limit %d: text_truncated = %v", limit, doc.GetTextTruncated())
		}
	}
}

func TestWebPageDeterministic(t *testing.T) {
	files := []string{"news_article.html", "blog_de.html", "base_href.html", "canonical.html", "windows1252.html", "mixed_scripts.html", "plain.txt"}
	opts := proto.MarshalOptions{Deterministic: true}
	for _, f := range files {
		ct := "text/html"
		if strings.HasSuffix(f, ".txt") {
			ct = "text/plain"
		}
		page := &fairstreampb.RawWebPage{Url: "https://example.com/" + f, StatusCode: 200, ContentType: ct, Body: fixture(t, f)}
		var first []byte
		for i := range 5 {
			doc, err := WebPage(DefaultConfig(), Source{EventID: "e"}, proto.Clone(page).(*fairstreampb.RawWebPage))
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			b, err := opts.Marshal(doc)
			if err != nil {
				t.Fatalf("%s: marshal: %v", f, err)
			}
			if i == 0 {
				first = b
			} else if !bytes.Equal(b, first) {
				t.Fatalf("%s: run %d gave different bytes", f, i)
			}
		}
	}
}

func TestWebPageDeeplyNested(t *testing.T) {
	// golang.org/x/net/html rejects nesting past 512 elements; the page is
	// rebuilt shallowly rather than lost.
	var b strings.Builder
	b.WriteString(`<html><head><title>Deep</title></head><body>`)
	for i := range 20000 {
		b.WriteString(`<div><span>`)
		if i%1000 == 0 {
			b.WriteString(`<a href="/level">level</a> `)
		}
	}
	b.WriteString(`bottom of the well`)
	page := &fairstreampb.RawWebPage{Url: "https://example.com/deep", StatusCode: 200, ContentType: "text/html", Body: []byte(b.String())}
	doc, err := WebPage(DefaultConfig(), Source{}, page)
	if err != nil {
		t.Fatal(err)
	}
	if doc.GetTitle() != "Deep" || !strings.Contains(doc.GetText(), "bottom of the well") {
		t.Errorf("title %q, text %q", doc.GetTitle(), doc.GetText())
	}
	if len(doc.GetLinks()) != 1 || doc.GetLinks()[0].GetUrl() != "https://example.com/level" {
		t.Errorf("links = %v", doc.GetLinks())
	}
}

func TestWebPageGarbage(t *testing.T) {
	// Malformed markup still gives a document and does not panic.
	bodies := []string{
		`<<<>>><a href=">`,
		`<html><body><table><tr><td><p><b><i>unclosed`,
		`<script>`,
		`</p></p></div>text after stray end tags`,
		`<a href="http://[fe80::1%en0]/">v6</a><a href="http://%zz/">bad escape</a><a href="https://ok.example/">ok</a>`,
		`<meta property="article:published_time" content="not a date"><time datetime="31/31/31">x</time>`,
	}
	for _, body := range bodies {
		doc, err := WebPage(DefaultConfig(), Source{}, &fairstreampb.RawWebPage{Url: "https://example.com/", StatusCode: 200, ContentType: "text/html", Body: []byte(body)})
		if err != nil || doc == nil {
			t.Errorf("%q: doc %v, err %v", body, doc, err)
			continue
		}
		if doc.GetPublished() != nil {
			t.Errorf("%q: published = %v from an unparseable date", body, doc.GetPublished())
		}
	}
}

func TestWindows1252Bytes(t *testing.T) {
	// The fixture really is windows-1252: "€" is the single byte 0x80, after
	// a no-break space (0xA0), which the text normalises to a space.
	b := fixture(t, "windows1252.html")
	if !bytes.Contains(b, []byte{0xA0, 0x80, '.'}) || utf8.Valid(b) {
		t.Fatal("fixture is not windows-1252 encoded")
	}
	enc, _ := charmap.Windows1252.NewEncoder().String("€")
	if enc != "\x80" {
		t.Fatalf("windows-1252 euro = %q", enc)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("default config: %v", err)
	}
	err := Config{MaxLinks: 5}.Validate()
	if err == nil {
		t.Fatal("zero limits accepted")
	}
	for _, field := range []string{"max_text_bytes: must be > 0", "max_body_bytes: must be > 0"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error %q does not name %q", err, field)
		}
	}
	if strings.Contains(err.Error(), "max_links") {
		t.Errorf("error %q names a valid field", err)
	}
	if _, err := WebPage(Config{}, Source{}, &fairstreampb.RawWebPage{}); err == nil || errors.Is(err, ErrUnprocessable) {
		t.Errorf("WebPage with an invalid config: err = %v, want a config error", err)
	}
}

func TestDetectLanguage(t *testing.T) {
	tests := []struct {
		text, declared string
		want           string
		conf           float64 // exact, or -1 for "high"
	}{
		{"The quick brown fox jumps over the lazy dog while the farmer watches from the fence.", "", "en", -1},
		{"Der schnelle braune Fuchs springt über den faulen Hund, während der Bauer zuschaut.", "en", "de", -1},
		{"Hi", "pt-BR", "pt", declaredConfidence},
		{"Hi", "deu", "de", declaredConfidence},
		{"Hi", "und", "", 0},
		{"Hi", "not a tag!", "", 0},
		{"12345 67890 !!!", "", "", 0},
	}
	for _, tc := range tests {
		got, conf := detectLanguage(tc.text, tc.declared)
		if got != tc.want || (tc.conf >= 0 && conf != tc.conf) || (tc.conf < 0 && conf < 0.5) {
			t.Errorf("detectLanguage(%q, %q) = %q, %v; want %q, %v", tc.text, tc.declared, got, conf, tc.want, tc.conf)
		}
	}
}
