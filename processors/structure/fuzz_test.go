package structure

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// FuzzWebPage feeds arbitrary bodies and content types to WebPage: it must
// not panic, it must fail only with ErrUnprocessable, and every document it
// gives must be valid UTF-8 throughout and respect the caps.
func FuzzWebPage(f *testing.F) {
	files, err := filepath.Glob("testdata/*")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		if fi, err := os.Stat(name); err != nil || fi.IsDir() {
			continue
		}
		body, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, ct := range []string{"text/html", "text/plain; charset=utf-8", "application/xhtml+xml", ""} {
			f.Add(body, ct, "https://example.com/a/b?c=d")
		}
	}
	f.Add([]byte("<p>caf\xe9 \xff\xfe</p>"), "text/html; charset=utf-8", "https://example.com/")
	f.Add([]byte(`<base href="//cdn.example.net/x/"><a href="../y#z">y</a>`), "text/html", "http://a.example/")
	f.Add([]byte(strings.Repeat("<div><b>", 600)+"deep"), "text/html", "http://a.example/")

	cfg := Config{MaxTextBytes: 2000, MaxLinks: 5, MaxBodyBytes: 1 << 20}
	f.Fuzz(func(t *testing.T, body []byte, contentType, pageURL string) {
		page := &fairstreampb.RawWebPage{Url: pageURL, StatusCode: 200, ContentType: contentType, Body: body}
		doc, err := WebPage(cfg, Source{EventID: "e"}, page)
		if err != nil {
			if !errors.Is(err, ErrUnprocessable) {
				t.Fatalf("error does not wrap ErrUnprocessable: %v", err)
			}
			if doc != nil {
				t.Fatal("document returned with an error")
			}
			return
		}
		if doc == nil {
			if len(body) != 0 {
				t.Fatal("a 200 page with a body was skipped")
			}
			return
		}
		if len(doc.GetText()) > cfg.MaxTextBytes {
			t.Errorf("text is %d bytes, over %d", len(doc.GetText()), cfg.MaxTextBytes)
		}
		if len(doc.GetLinks()) > cfg.MaxLinks {
			t.Errorf("%d links, over %d", len(doc.GetLinks()), cfg.MaxLinks)
		}
		if c := doc.GetLanguageConfidence(); c < 0 || c > 1 {
			t.Errorf("language confidence %v", c)
		}
		strs := []string{doc.GetId(), doc.GetUrl(), doc.GetTitle(), doc.GetText(), doc.GetLanguage(), doc.GetDescription()}
		strs = append(strs, doc.GetAuthors()...)
		for _, l := range doc.GetLinks() {
			strs = append(strs, l.GetUrl(), l.GetText(), l.GetRel())
		}
		for _, m := range doc.GetMedia() {
			strs = append(strs, m.GetUrl(), m.GetAltText(), m.GetMimeType())
		}
		for _, s := range strs {
			if !utf8.ValidString(s) {
				t.Errorf("invalid UTF-8: %q", s)
			}
		}
		if _, err := proto.Marshal(doc); err != nil {
			t.Errorf("marshal: %v", err)
		}
	})
}
