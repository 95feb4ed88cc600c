package structure

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	readability "codeberg.org/readeck/go-readability/v2"
	"golang.org/x/net/html"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// Name is the stage name recorded in every Document's lineage, whatever the
// raw type. The runners have names of their own (StageWeb, ...).
const Name = "structure"

// Version is the extractor version recorded in lineage; bump it when output
// changes.
const Version = "1"

// ErrUnprocessable marks input that can never be structured. The caller
// sends such a record to the dead-letter topic with the error text, which
// says what is wrong, as the reason.
var ErrUnprocessable = errors.New("unprocessable input")

// errPanic stands for a panic recovered in a third-party parser.
var errPanic = errors.New("parser panicked")

// maxReadabilityElements bounds the pages handed to Readability, whose cost
// grows faster than linearly with the number of elements; larger pages use
// the visible body text.
const maxReadabilityElements = 100_000

// Source is what the stage knows about the raw event, for lineage.
type Source struct {
	EventID     string
	EventType   string
	Worker      string
	ContentHash []byte
}

// WebPage structures one fetched page. It returns (nil, nil) for a page that
// carries no document (non-2xx status, redirect, empty body): the caller
// counts it as skipped. It returns an error wrapping ErrUnprocessable for
// input that can never be structured (binary or unsupported content type,
// body over the limit, undecodable charset, no absolute http(s) URL), and a
// plain error for an invalid cfg.
func WebPage(cfg Config, src Source, page *fairstreampb.RawWebPage) (*fairstreampb.Document, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("structure: invalid config: %w", err)
	}
	if page == nil {
		return nil, fmt.Errorf("%w: no page", ErrUnprocessable)
	}
	if page.GetStatusCode() < 200 || page.GetStatusCode() > 299 || len(page.GetBody()) == 0 {
		return nil, nil
	}
	if len(page.GetBody()) > cfg.MaxBodyBytes {
		return nil, fmt.Errorf("%w: body is %d bytes, over the limit of %d (max_body_bytes)",
			ErrUnprocessable, len(page.GetBody()), cfg.MaxBodyBytes)
	}
	pageURL := parseHTTPURL(page.GetFinalUrl())
	if pageURL == nil {
		pageURL = parseHTTPURL(page.GetUrl())
	}
	if pageURL == nil {
		return nil, fmt.Errorf("%w: no absolute http(s) URL (url %q, final_url %q)",
			ErrUnprocessable, page.GetUrl(), page.GetFinalUrl())
	}
	mt, params := mediaType(page.GetContentType())
	k, mt, err := classify(mt, page.GetBody())
	if err != nil {
		return nil, err
	}
	text, err := decodeBody(page.GetBody(), mt, params, k == kindHTML)
	if err != nil {
		return nil, err
	}
	contentLanguage := page.GetHeaders()["content-language"]

	doc := &fairstreampb.Document{
		Source: "web",
		Lineage: &fairstreampb.Lineage{
			EventId:      src.EventID,
			EventType:    src.EventType,
			Worker:       src.Worker,
			ContentHash:  append([]byte(nil), src.ContentHash...),
			Stage:        Name,
			StageVersion: Version,
		},
	}
	if k == kindText {
		setURL(doc, normalizeURL(pageURL))
		doc.Text, doc.TextTruncated = truncateUTF8(normalizePlain(text, cfg.MaxTextBytes), cfg.MaxTextBytes)
		doc.Language, doc.LanguageConfidence = detectLanguage(doc.Text, contentLanguage)
		return doc, nil
	}
	structureHTML(cfg, doc, pageURL, text, contentLanguage)
	return doc, nil
}

func setURL(doc *fairstreampb.Document, canonical string) {
	doc.Id = documentID(canonical)
	doc.SourceId = canonical
	doc.Url = canonical
}

// structureHTML fills doc from a decoded HTML page.
func structureHTML(cfg Config, doc *fairstreampb.Document, pageURL *url.URL, text, contentLanguage string) {
	root := parseHTML(text)
	m := collectMeta(root)

	base := pageURL
	if m.baseHref != "" {
		if b := resolve(pageURL, m.baseHref); b != "" {
			base, _ = url.Parse(b)
		}
	}
	canonical := normalizeURL(pageURL)
	if m.canonical != "" {
		if c := resolve(base, m.canonical); c != "" {
			if cu, err := url.Parse(c); err == nil && sameSite(cu, pageURL) {
				canonical = c
			}
		}
	}
	setURL(doc, canonical)

	// Readability returns its best guess even for a short page, which may
	// then be the whole body; page furniture is left out of its result too,
	// unless that leaves nothing.
	article, byline := mainContent(root, base)
	var body string
	contentRoot, furniture := article, true
	if article != nil {
		body = renderText(article, true, cfg.MaxTextBytes)
		if body == "" {
			body, furniture = renderText(article, false, cfg.MaxTextBytes), false
		}
	}
	if body == "" {
		contentRoot, furniture = m.body, true
		if contentRoot == nil {
			contentRoot = root
		}
		body = renderText(contentRoot, true, cfg.MaxTextBytes)
	}
	doc.Text, doc.TextTruncated = truncateUTF8(body, cfg.MaxTextBytes)

	objs := m.jsonLDObjects()
	doc.Title = m.pageTitle()
	doc.Description = m.description()
	doc.Authors = m.authors(objs, byline)
	doc.Published = m.published(root, objs)
	doc.Links = links(root, base, cfg.MaxLinks)
	doc.Media = media(&m, contentRoot, furniture, base)
	doc.Language, doc.LanguageConfidence = detectLanguage(doc.Text, m.lang, contentLanguage)
}

// mainContent runs Readability on a copy of the page and returns the node
// holding the main content and the byline it found. It returns nil when
// Readability finds nothing, the page is too large for it, or it fails.
func mainContent(root *html.Node, base *url.URL) (node *html.Node, byline string) {
	defer func() {
		// Readability is heuristic code run on hostile input; a panic in it
		// must not stop the stage, so the page falls back to its body text.
		if r := recover(); r != nil {
			node, byline = nil, ""
		}
	}()
	elements := 0
	visit(root, func(n *html.Node) bool {
		if n.Type == html.ElementNode {
			elements++
		}
		return elements <= maxReadabilityElements
	})
	if elements > maxReadabilityElements {
		return nil, ""
	}
	p := readability.NewParser()
	article, err := p.ParseDocument(root, base)
	if err != nil || article.Node == nil {
		return nil, ""
	}
	return article.Node, strings.TrimSpace(article.Byline())
}
