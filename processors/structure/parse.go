package structure

import (
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// maxShallowDepth is how deep the fallback tree builder nests elements.
const maxShallowDepth = 256

// parseHTML parses a decoded page. golang.org/x/net/html refuses documents
// whose open elements nest more than 512 deep; those are rebuilt by
// parseShallow, which ignores the tags past maxShallowDepth but keeps their
// text, so a pathological page still yields its words.
func parseHTML(s string) *html.Node {
	if doc, err := html.Parse(strings.NewReader(s)); err == nil {
		return doc
	}
	return parseShallow(s)
}

// voidElements never have children.
var voidElements = map[string]bool{
	"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true,
	"img": true, "input": true, "link": true, "meta": true, "param": true,
	"source": true, "track": true, "wbr": true, "keygen": true,
}

// parseShallow builds a tree straight from the token stream: every element
// goes under <body>, end tags close the nearest open element of that name,
// and start tags past maxShallowDepth are dropped.
func parseShallow(s string) *html.Node {
	doc := &html.Node{Type: html.DocumentNode}
	root := element("html")
	head := element("head")
	body := element("body")
	doc.AppendChild(root)
	root.AppendChild(head)
	root.AppendChild(body)

	stack := []*html.Node{body}
	z := html.NewTokenizer(strings.NewReader(s))
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return doc
		case html.TextToken:
			stack[len(stack)-1].AppendChild(&html.Node{Type: html.TextNode, Data: string(z.Text())})
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			if tok.Data == "html" || tok.Data == "head" || tok.Data == "body" {
				continue
			}
			n := &html.Node{Type: html.ElementNode, DataAtom: tok.DataAtom, Data: tok.Data, Attr: tok.Attr}
			if tt == html.SelfClosingTagToken || voidElements[tok.Data] {
				stack[len(stack)-1].AppendChild(n)
				continue
			}
			if len(stack) >= maxShallowDepth {
				continue
			}
			stack[len(stack)-1].AppendChild(n)
			stack = append(stack, n)
		case html.EndTagToken:
			name, _ := z.TagName()
			for i := len(stack) - 1; i > 0; i-- {
				if stack[i].Data == string(name) {
					stack = stack[:i]
					break
				}
			}
		}
	}
}

func element(tag string) *html.Node {
	return &html.Node{Type: html.ElementNode, DataAtom: atom.Lookup([]byte(tag)), Data: tag}
}
