package structure

import (
	"encoding/json"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/itlightning/dateparse"
	"golang.org/x/net/html"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// Internal limits on short fields, so that no single field of a hostile page
// can grow the Document past reason.
const (
	maxFieldBytes  = 2048 // title, description, author, anchor text, alt text
	maxAuthors     = 20
	maxMedia       = 100
	maxJSONLDBytes = 1 << 20
	maxDateBytes   = 64
)

// attr returns the value of n's attribute key ("" when absent).
func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key && a.Namespace == "" {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key && a.Namespace == "" {
			return true
		}
	}
	return false
}

// visit calls fn on n and its descendants in document order; fn returns
// false to skip a node's children. It uses no recursion.
func visit(n *html.Node, fn func(*html.Node) bool) {
	if n == nil {
		return
	}
	stack := []*html.Node{n}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !fn(cur) {
			continue
		}
		// Push children last-first so that the first child is visited next.
		for c := cur.LastChild; c != nil; c = c.PrevSibling {
			stack = append(stack, c)
		}
	}
}

// find returns the first element in document order for which match is true.
func find(n *html.Node, match func(*html.Node) bool) *html.Node {
	var found *html.Node
	visit(n, func(c *html.Node) bool {
		if found != nil {
			return false
		}
		if c.Type == html.ElementNode && match(c) {
			found = c
			return false
		}
		return true
	})
	return found
}

func isTag(tag string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == tag && n.Namespace == "" }
}

// textOf returns the whitespace-normalised text content of n, without
// scripts and styles.
func textOf(n *html.Node) string {
	t := textBuilder{limit: maxFieldBytes}
	visit(n, func(c *html.Node) bool {
		switch c.Type {
		case html.TextNode:
			t.text(c.Data, false)
		case html.ElementNode:
			if skipAlways[c.Data] && c != n {
				return false
			}
			if _, block := blockSep[c.Data]; block || c.Data == "br" {
				t.brk(sepSpace)
			}
		}
		return !t.full()
	})
	return clip(t.String(), maxFieldBytes)
}

// relTokens returns a rel attribute as lower-case tokens joined by spaces.
func relTokens(n *html.Node) string {
	return strings.ToLower(strings.Join(strings.Fields(attr(n, "rel")), " "))
}

func hasRel(n *html.Node, token string) bool {
	for _, f := range strings.Fields(attr(n, "rel")) {
		if strings.EqualFold(f, token) {
			return true
		}
	}
	return false
}

// metaTag is one <meta> element's key (name, property or itemprop, lower
// case) and content.
type metaTag struct{ key, content string }

// pageMeta holds what one pass over the document finds.
type pageMeta struct {
	metas     []metaTag
	title     string     // first <title>
	h1        string     // first <h1>
	lang      string     // <html lang>
	baseHref  string     // first <base href>
	canonical string     // first <link rel=canonical href>
	jsonLD    []string   // <script type=application/ld+json> bodies
	body      *html.Node // <body>
}

func collectMeta(doc *html.Node) pageMeta {
	var m pageMeta
	var sawTitle, sawH1, sawBase, sawCanonical, sawLang bool
	visit(doc, func(n *html.Node) bool {
		if n.Type != html.ElementNode {
			return true
		}
		if n.Namespace != "" {
			// SVG and MathML have their own <title> and <script>.
			return false
		}
		switch n.Data {
		case "html":
			if !sawLang {
				sawLang = true
				m.lang = attr(n, "lang")
				if m.lang == "" {
					m.lang = attr(n, "xml:lang")
				}
			}
		case "body":
			if m.body == nil {
				m.body = n
			}
		case "meta":
			content := attr(n, "content")
			for _, k := range []string{"name", "property", "itemprop"} {
				if v := strings.ToLower(strings.TrimSpace(attr(n, k))); v != "" {
					m.metas = append(m.metas, metaTag{v, content})
				}
			}
		case "title":
			if !sawTitle {
				sawTitle = true
				m.title = clip(normalizeSpace(textContent(n)), maxFieldBytes)
			}
			return false
		case "h1":
			if !sawH1 {
				if t := textOf(n); t != "" {
					sawH1 = true
					m.h1 = t
				}
			}
		case "base":
			if !sawBase && hasAttr(n, "href") {
				sawBase = true
				m.baseHref = attr(n, "href")
			}
		case "link":
			if !sawCanonical && hasRel(n, "canonical") && hasAttr(n, "href") {
				sawCanonical = true
				m.canonical = attr(n, "href")
			}
		case "script":
			if strings.EqualFold(strings.TrimSpace(attr(n, "type")), "application/ld+json") {
				if s := textContent(n); len(s) <= maxJSONLDBytes {
					m.jsonLD = append(m.jsonLD, s)
				}
			}
			return false
		}
		return true
	})
	return m
}

// textContent concatenates the text node children of n.
func textContent(n *html.Node) string {
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return b.String()
}

// first returns the first non-empty content among the meta tags named by
// keys, trying the keys in order.
func (m *pageMeta) first(keys ...string) string {
	for _, k := range keys {
		for _, t := range m.metas {
			if t.key == k {
				if v := clip(normalizeSpace(t.content), maxFieldBytes); v != "" {
					return v
				}
			}
		}
	}
	return ""
}

// all returns every non-empty content among the meta tags named by keys.
func (m *pageMeta) all(keys ...string) []string {
	var out []string
	for _, t := range m.metas {
		for _, k := range keys {
			if t.key == k {
				if v := clip(normalizeSpace(t.content), maxFieldBytes); v != "" {
					out = append(out, v)
				}
				break
			}
		}
	}
	return out
}

// jsonLDObjects returns the top-level JSON-LD objects and those in their
// @graph, in document order.
func (m *pageMeta) jsonLDObjects() []map[string]any {
	var out []map[string]any
	var add func(v any, depth int)
	add = func(v any, depth int) {
		switch x := v.(type) {
		case []any:
			if depth > 2 {
				return
			}
			for _, e := range x {
				add(e, depth+1)
			}
		case map[string]any:
			out = append(out, x)
			if g, ok := x["@graph"]; ok && depth <= 1 {
				add(g, depth+1)
			}
		}
	}
	for _, s := range m.jsonLD {
		var v any
		if json.Unmarshal([]byte(s), &v) == nil {
			add(v, 0)
		}
	}
	return out
}

// jsonLDString returns the first string value of key among the JSON-LD
// objects.
func jsonLDString(objs []map[string]any, key string) string {
	for _, o := range objs {
		if s, ok := o[key].(string); ok && strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

// jsonLDAuthors returns the author names of the first JSON-LD object that
// names any.
func jsonLDAuthors(objs []map[string]any) []string {
	for _, o := range objs {
		var names []string
		var add func(v any, depth int)
		add = func(v any, depth int) {
			switch x := v.(type) {
			case string:
				names = append(names, x)
			case map[string]any:
				if s, ok := x["name"].(string); ok {
					names = append(names, s)
				}
			case []any:
				if depth == 0 {
					for _, e := range x {
						add(e, 1)
					}
				}
			}
		}
		add(o["author"], 0)
		if len(names) > 0 {
			return names
		}
	}
	return nil
}

// title picks og:title, then <title>, then the first <h1>.
func (m *pageMeta) pageTitle() string {
	if t := m.first("og:title"); t != "" {
		return t
	}
	if m.title != "" {
		return m.title
	}
	return m.h1
}

func (m *pageMeta) description() string {
	return m.first("description", "og:description", "twitter:description", "dc.description")
}

// authors gathers meta author, article:author and JSON-LD authors, falling
// back to the Readability byline.
func (m *pageMeta) authors(objs []map[string]any, byline string) []string {
	names := m.all("author", "article:author", "dc.creator", "parsely-author", "sailthru.author")
	names = append(names, jsonLDAuthors(objs)...)
	if len(names) == 0 && byline != "" {
		b := normalizeSpace(byline)
		for _, p := range []string{"By ", "by ", "Von ", "Par ", "Por "} {
			b = strings.TrimPrefix(b, p)
		}
		if len(b) <= 100 {
			names = append(names, b)
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		n = clip(normalizeSpace(n), maxFieldBytes)
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, n)
		if len(out) == maxAuthors {
			break
		}
	}
	return out
}

// published finds when the page was published: article:published_time and
// kin, JSON-LD datePublished, itemprop=datePublished, then the first
// <time datetime> inside <article> (or <main>).
func (m *pageMeta) published(doc *html.Node, objs []map[string]any) *timestamppb.Timestamp {
	candidates := []string{
		m.first("article:published_time", "og:published_time", "datepublished"),
		jsonLDString(objs, "datePublished"),
	}
	if n := find(doc, func(n *html.Node) bool {
		return strings.EqualFold(attr(n, "itemprop"), "datePublished") && n.Data != "meta"
	}); n != nil {
		if v := attr(n, "datetime"); v != "" {
			candidates = append(candidates, v)
		} else {
			candidates = append(candidates, attr(n, "content"), textOf(n))
		}
	}
	candidates = append(candidates, m.first("date", "pubdate", "publishdate", "publish-date",
		"dc.date.issued", "dc.date", "dcterms.issued", "dcterms.created", "dcterms.date",
		"sailthru.date", "parsely-pub-date"))
	for _, scope := range []string{"article", "main"} {
		if container := find(doc, isTag(scope)); container != nil {
			if t := find(container, func(n *html.Node) bool { return n.Data == "time" && attr(n, "datetime") != "" }); t != nil {
				candidates = append(candidates, attr(t, "datetime"))
				break
			}
		}
	}
	for _, c := range candidates {
		if t, ok := parseDate(c); ok {
			return timestamppb.New(t)
		}
	}
	return nil
}

// parseDate parses a date leniently, in UTC where the string gives no zone,
// and rejects the implausible.
func parseDate(s string) (t time.Time, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxDateBytes {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t, err = parseDateLenient(s)
		if err != nil {
			return time.Time{}, false
		}
	}
	if t.Year() < 1990 || t.Year() > 2200 {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// parseDateLenient calls dateparse, which guesses the layout. It is fed
// page content, so a panic in it is turned into a parse failure.
func parseDateLenient(s string) (t time.Time, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = time.Time{}, errPanic
		}
	}()
	return dateparse.ParseIn(s, time.UTC)
}

// links returns the page's <a href> links: resolved against base, only
// http(s), without fragments, deduplicated, in document order, at most max.
// Same-document references ("#top") are not links to another document and are
// left out.
func links(doc *html.Node, base *url.URL, max int) []*fairstreampb.Link {
	var out []*fairstreampb.Link
	index := map[string]int{}
	visit(doc, func(n *html.Node) bool {
		if len(out) >= max {
			return false
		}
		if n.Type != html.ElementNode || n.Namespace != "" || n.Data != "a" {
			return true
		}
		href := cleanHref(attr(n, "href"))
		if href == "" || strings.HasPrefix(href, "#") {
			return true
		}
		u := resolve(base, href)
		if u == "" {
			return true
		}
		text := anchorText(n)
		if i, ok := index[u]; ok {
			if out[i].Text == "" {
				out[i].Text = text
			}
			return true
		}
		index[u] = len(out)
		out = append(out, &fairstreampb.Link{Url: u, Text: text, Rel: relTokens(n)})
		return true
	})
	return out
}

// anchorText is a link's text, or its aria-label, title or image alt text.
func anchorText(a *html.Node) string {
	if t := textOf(a); t != "" {
		return t
	}
	for _, k := range []string{"aria-label", "title"} {
		if v := clip(normalizeSpace(attr(a, k)), maxFieldBytes); v != "" {
			return v
		}
	}
	if img := find(a, isTag("img")); img != nil {
		return clip(normalizeSpace(attr(img, "alt")), maxFieldBytes)
	}
	return ""
}

// media returns og:image (or twitter:image) and the images in the main
// content, with their alt text, deduplicated, at most maxMedia.
func media(m *pageMeta, content *html.Node, contentFurniture bool, base *url.URL) []*fairstreampb.MediaRef {
	var out []*fairstreampb.MediaRef
	seen := map[string]bool{}
	add := func(raw, alt, mimeType string) {
		u := resolve(base, raw)
		if u == "" || seen[u] || len(out) >= maxMedia {
			return
		}
		seen[u] = true
		if mimeType == "" {
			mimeType = imageMIME(u)
		}
		out = append(out, &fairstreampb.MediaRef{Type: "image", Url: u, AltText: alt, MimeType: mimeType})
	}
	if og := m.first("og:image:secure_url", "og:image", "og:image:url", "twitter:image", "twitter:image:src"); og != "" {
		add(og, m.first("og:image:alt", "twitter:image:alt"), strings.ToLower(m.first("og:image:type")))
	}
	visit(content, func(n *html.Node) bool {
		if len(out) >= maxMedia {
			return false
		}
		if n.Type != html.ElementNode {
			return true
		}
		if skipAlways[n.Data] || hidden(n) || (contentFurniture && boilerplate(n)) {
			return false
		}
		if n.Data == "img" {
			src := attr(n, "src")
			if strings.HasPrefix(strings.TrimSpace(src), "data:") || strings.TrimSpace(src) == "" {
				src = attr(n, "data-src")
			}
			if src == "" {
				src = firstSrcset(attr(n, "srcset"))
			}
			add(src, clip(normalizeSpace(attr(n, "alt")), maxFieldBytes), "")
		}
		return true
	})
	return out
}

// firstSrcset returns the first URL in a srcset attribute.
func firstSrcset(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	f := strings.Fields(s)
	return strings.TrimSuffix(f[0], ",")
}

// imageMIME guesses an image's media type from its URL's extension, from a
// fixed table (mime.TypeByExtension reads the host's files, which would make
// the output depend on the machine).
func imageMIME(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return imageExtMIME(path.Ext(p.Path))
}

// imageExtMIME is imageMIME for a file name extension (".jpg").
func imageExtMIME(ext string) string {
	switch strings.ToLower(ext) {
	case ".jpg", ".jpeg", ".jpe":
		return "image/jpeg"
	case ".png":
		return "image/png"
	case ".gif":
		return "image/gif"
	case ".webp":
		return "image/webp"
	case ".avif":
		return "image/avif"
	case ".svg":
		return "image/svg+xml"
	case ".bmp":
		return "image/bmp"
	case ".ico":
		return "image/x-icon"
	case ".tif", ".tiff":
		return "image/tiff"
	}
	return ""
}
