package web

import (
	"bytes"
	"mime"
	"net/http"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"
)

// bodyKind is how the crawler treats a response body.
type bodyKind int

const (
	kindOther bodyKind = iota // recorded without body
	kindHTML                  // kept; links read
	kindText                  // kept
)

// mediaType returns the lower-cased media type of a Content-Type header;
// a header with bad parameters still gives its type.
func mediaType(contentType string) string {
	if strings.TrimSpace(contentType) == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil && err != mime.ErrInvalidMediaParameter {
		mt, _, _ = strings.Cut(contentType, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	return mt
}

// classify decides from the declared content type (sniffed when there is
// none) whether a body is kept. binary is set when a body declared as HTML
// or text is, by its first bytes, something else: an image, an archive, a
// compressed stream the transport did not decode.
func classify(contentType string, body []byte) (k bodyKind, binary bool) {
	mt := mediaType(contentType)
	declared := mt != ""
	sniffed := mediaType(http.DetectContentType(body))
	if !declared {
		mt = sniffed
	}
	switch mt {
	case "text/html", "application/xhtml+xml":
		k = kindHTML
	case "text/plain":
		k = kindText
	default:
		return kindOther, false
	}
	if len(body) > 0 && !strings.HasPrefix(sniffed, "text/") {
		return k, true
	}
	return k, false
}

// robotsDirectives are the meta robots / X-Robots-Tag directives the
// crawler honours.
type robotsDirectives struct {
	noindex, nofollow bool
}

// add reads one directive list ("noindex, nofollow", "none").
func (d *robotsDirectives) add(content string) {
	for _, f := range strings.FieldsFunc(strings.ToLower(content), func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		switch f {
		case "noindex":
			d.noindex = true
		case "nofollow":
			d.nofollow = true
		case "none":
			d.noindex, d.nofollow = true, true
		}
	}
}

// headerDirectives reads X-Robots-Tag headers that apply to agent: those
// without an agent prefix, and those naming it ("fairstream-crawler:
// noindex").
func headerDirectives(h http.Header, agent string) robotsDirectives {
	var d robotsDirectives
	for _, v := range h.Values("X-Robots-Tag") {
		if name, rest, ok := strings.Cut(v, ":"); ok && !strings.ContainsAny(name, ", ") {
			switch strings.ToLower(strings.TrimSpace(name)) {
			case agent:
				d.add(rest)
			case "noindex", "nofollow", "none", "all", "noarchive", "nosnippet", "notranslate", "noimageindex", "unavailable_after",
				"max-snippet", "max-image-preview", "max-video-preview", "indexifembedded":
				d.add(v) // a directive with a value, not an agent
			}
			continue
		}
		d.add(v)
	}
	return d
}

// link is one followable link of a page.
type link struct {
	href     string
	nofollow bool
}

// htmlInfo is what the crawler reads from an HTML page.
type htmlInfo struct {
	base  string // the first <base href>
	links []link
	robotsDirectives
}

// maxLinks bounds the links read from one page.
const maxLinks = 5000

// parseHTML reads links, <base href> and meta robots from an HTML body,
// decoded from its charset (Content-Type, byte-order mark, <meta>, then
// sniffing).
func parseHTML(body []byte, contentType, agent string) htmlInfo {
	var info htmlInfo
	r, err := charset.NewReader(bytes.NewReader(body), contentType)
	if err != nil {
		r = bytes.NewReader(body)
	}
	z := html.NewTokenizer(r)
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return info // io.EOF, or a document too broken to go on
		case html.StartTagToken, html.SelfClosingTagToken:
		default:
			continue
		}
		name, hasAttr := z.TagName()
		if !hasAttr {
			continue
		}
		tag := string(name)
		switch tag {
		case "a", "area", "base", "meta":
		default:
			continue
		}
		attrs := map[string]string{}
		for {
			k, v, more := z.TagAttr()
			if _, dup := attrs[string(k)]; !dup {
				attrs[string(k)] = string(v)
			}
			if !more {
				break
			}
		}
		switch tag {
		case "base":
			if href, ok := attrs["href"]; ok && info.base == "" {
				info.base = href
			}
		case "meta":
			switch strings.ToLower(strings.TrimSpace(attrs["name"])) {
			case "robots", agent:
				info.add(attrs["content"])
			}
		default:
			href, ok := attrs["href"]
			if !ok || len(info.links) >= maxLinks {
				continue
			}
			nofollow := false
			for _, rel := range strings.Fields(attrs["rel"]) {
				nofollow = nofollow || strings.EqualFold(rel, "nofollow")
			}
			info.links = append(info.links, link{href: href, nofollow: nofollow})
		}
	}
}
