package structure

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// Separators between pieces of text, from weakest to strongest.
const (
	sepNone = iota
	sepSpace
	sepLine
	sepParagraph
)

// textBuilder writes whitespace-normalised text: runs of spaces become one
// space, line breaks become "\n", paragraph breaks "\n\n", and nothing leads
// or trails. It stops growing once it holds more than limit bytes.
type textBuilder struct {
	b     strings.Builder
	sep   int
	limit int
}

func (t *textBuilder) full() bool { return t.limit > 0 && t.b.Len() > t.limit }

func (t *textBuilder) brk(sep int) {
	if sep > t.sep {
		t.sep = sep
	}
}

func (t *textBuilder) word(w string) {
	if t.full() {
		return
	}
	if t.b.Len() > 0 {
		switch t.sep {
		case sepSpace:
			t.b.WriteByte(' ')
		case sepLine:
			t.b.WriteByte('\n')
		case sepParagraph:
			t.b.WriteString("\n\n")
		}
	}
	t.sep = sepNone
	t.b.WriteString(w)
}

// text writes s, collapsing its whitespace; in preformatted text its line
// breaks are kept.
func (t *textBuilder) text(s string, pre bool) {
	start := -1
	for i, r := range s {
		if !unicode.IsSpace(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			t.word(s[start:i])
			start = -1
		}
		if pre && r == '\n' {
			t.brk(sepLine)
		} else {
			t.brk(sepSpace)
		}
	}
	if start >= 0 {
		t.word(s[start:])
	}
}

func (t *textBuilder) String() string { return t.b.String() }

// normalizeSpace collapses all whitespace in s to single spaces and trims it.
func normalizeSpace(s string) string {
	var t textBuilder
	t.text(s, false)
	return t.String()
}

// normalizePlain keeps plain text as it is but for its line endings: "\r\n"
// and "\r" become "\n", trailing spaces are cut from each line, and runs of
// blank lines become one blank line (a paragraph break). Spacing within a line
// is kept, so that tables and indentation survive. It stops once it holds more
// than limit bytes.
func normalizePlain(s string, limit int) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	var b strings.Builder
	blank := false
	for line := range strings.Lines(s) {
		line = strings.TrimRightFunc(line, unicode.IsSpace)
		if strings.TrimSpace(line) == "" {
			blank = b.Len() > 0
			continue
		}
		if b.Len() > 0 {
			if blank {
				b.WriteString("\n\n")
			} else {
				b.WriteByte('\n')
			}
		}
		blank = false
		b.WriteString(line)
		if limit > 0 && b.Len() > limit {
			break
		}
	}
	return b.String()
}

// Elements whose content is never text a reader sees.
var skipAlways = map[string]bool{
	"script": true, "style": true, "noscript": true, "template": true, "head": true,
	"title": true, "svg": true, "math": true, "iframe": true, "object": true,
	"embed": true, "canvas": true, "select": true, "textarea": true, "input": true,
	"button": true, "audio": true, "video": true, "map": true, "frameset": true,
	"noframes": true,
}

// Elements that are page furniture rather than content, skipped when the
// whole body stands in for the main text.
var skipBoilerplate = map[string]bool{
	"nav": true, "footer": true, "header": true, "aside": true,
}

// ARIA landmark roles that are page furniture.
var boilerplateRoles = map[string]bool{
	"navigation": true, "banner": true, "contentinfo": true, "complementary": true,
	"search": true,
}

// Elements that end a line (sepLine) or a paragraph (sepParagraph).
var blockSep = map[string]int{
	"li": sepLine, "dt": sepLine, "dd": sepLine, "tr": sepLine, "option": sepLine,
	"figcaption": sepLine, "summary": sepLine, "caption": sepLine,
	"address": sepParagraph, "article": sepParagraph, "aside": sepParagraph,
	"blockquote": sepParagraph, "center": sepParagraph, "details": sepParagraph,
	"dialog": sepParagraph, "dir": sepParagraph, "div": sepParagraph, "dl": sepParagraph,
	"fieldset": sepParagraph, "figure": sepParagraph, "footer": sepParagraph,
	"form": sepParagraph, "h1": sepParagraph, "h2": sepParagraph, "h3": sepParagraph,
	"h4": sepParagraph, "h5": sepParagraph, "h6": sepParagraph, "header": sepParagraph,
	"hgroup": sepParagraph, "hr": sepParagraph, "main": sepParagraph, "menu": sepParagraph,
	"nav": sepParagraph, "ol": sepParagraph, "p": sepParagraph, "pre": sepParagraph,
	"section": sepParagraph, "table": sepParagraph, "ul": sepParagraph, "body": sepParagraph,
	"legend": sepParagraph,
}

// hidden reports whether n is hidden from readers by its attributes.
func hidden(n *html.Node) bool {
	for _, a := range n.Attr {
		switch a.Key {
		case "hidden":
			return true
		case "aria-hidden":
			if strings.EqualFold(strings.TrimSpace(a.Val), "true") {
				return true
			}
		case "style":
			s := strings.ToLower(strings.Join(strings.Fields(a.Val), ""))
			if strings.Contains(s, "display:none") || strings.Contains(s, "visibility:hidden") {
				return true
			}
		}
	}
	return false
}

// boilerplate reports whether n is navigation, header, footer or aside.
func boilerplate(n *html.Node) bool {
	if skipBoilerplate[n.Data] {
		return true
	}
	return boilerplateRoles[strings.ToLower(strings.TrimSpace(attr(n, "role")))]
}

// renderText returns the visible text under n. With skipFurniture, it also
// leaves out navigation, headers, footers and asides. limit bounds the work
// done; the result may exceed it by one word and is cut later.
func renderText(n *html.Node, skipFurniture bool, limit int) string {
	t := textBuilder{limit: limit}
	var walk func(n *html.Node, pre bool)
	walk = func(n *html.Node, pre bool) {
		if t.full() {
			return
		}
		switch n.Type {
		case html.TextNode:
			t.text(n.Data, pre)
			return
		case html.ElementNode:
			if skipAlways[n.Data] || hidden(n) || (skipFurniture && boilerplate(n)) {
				// Hidden content may still separate the words around it.
				t.brk(sepSpace)
				return
			}
			switch n.Data {
			case "br":
				t.brk(sepLine)
				return
			case "td", "th":
				t.brk(sepSpace)
			case "img":
				return
			case "pre", "listing", "plaintext", "xmp":
				pre = true
			}
		case html.DocumentNode:
		default:
			return
		}
		sep := blockSep[n.Data]
		t.brk(sep)
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, pre)
		}
		t.brk(sep)
	}
	walk(n, false)
	return t.String()
}

// truncateUTF8 cuts s to at most n bytes on a rune boundary and trims the
// whitespace the cut leaves at its end.
func truncateUTF8(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return strings.TrimRightFunc(s[:i], unicode.IsSpace), true
}

// clip cuts a short field (a title, an anchor text) to n bytes.
func clip(s string, n int) string {
	s, _ = truncateUTF8(s, n)
	return s
}
