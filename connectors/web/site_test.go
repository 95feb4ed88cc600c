package web_test

import (
	"bytes"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Validators of /about.html, which answers conditional GETs with 304.
const (
	aboutETag         = `"about-v1"`
	aboutLastModified = "Tue, 03 Jun 2025 10:00:00 GMT"
)

// site serves testdata/site the way a small static web server does:
// robots.txt, a content type per extension (windows-1252 for latin1.html),
// a 301 from /old.html to /new.html, 404s, and conditional GETs on
// /about.html. It keeps every request it gets.
type site struct {
	root string

	mu       sync.Mutex
	requests []*http.Request
	robots   string            // replaces robots.txt when set
	extra    map[string]string // path → body appended to the file (a changed page)
	routes   map[string]http.HandlerFunc
}

func newSite(t testing.TB) *site {
	t.Helper()
	if _, err := os.Stat("testdata/site/index.html"); err != nil {
		t.Fatal(err)
	}
	return &site{root: "testdata/site", extra: map[string]string{}, routes: map[string]http.HandlerFunc{}}
}

// fixture is the conformance suite's handler.
func fixture(t testing.TB) http.Handler { return newSite(t) }

// route answers path with h instead of the files.
func (s *site) route(p string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes[p] = h
}

func (s *site) setRobots(body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.robots = body
}

func (s *site) change(p, appended string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.extra[p] = appended
}

// count is how many requests path got.
func (s *site) count(p string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if r.URL.Path == p {
			n++
		}
	}
	return n
}

// last is the last request for path, or nil.
func (s *site) last(p string) *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.requests) - 1; i >= 0; i-- {
		if s.requests[i].URL.Path == p {
			return s.requests[i]
		}
	}
	return nil
}

// paths lists the paths requested, in order.
func (s *site) paths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.requests {
		out = append(out, r.URL.Path)
	}
	return out
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Clone(r.Context()))
	route, robots, extra := s.routes[r.URL.Path], s.robots, s.extra[r.URL.Path]
	s.mu.Unlock()
	w.Header().Set("Server", "fixture/1")
	if route != nil {
		route(w, r)
		return
	}
	switch r.URL.Path {
	case "/robots.txt":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if robots != "" {
			_, _ = w.Write([]byte(robots))
			return
		}
	case "/old.html":
		w.Header().Set("Location", "/new.html")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusMovedPermanently)
		_, _ = w.Write([]byte(`<html><body>Moved <a href="/new.html">here</a>.</body></html>`))
		return
	case "/about.html":
		w.Header().Set("ETag", aboutETag)
		w.Header().Set("Last-Modified", aboutLastModified)
		lm, _ := http.ParseTime(aboutLastModified)
		ims, err := http.ParseTime(r.Header.Get("If-Modified-Since"))
		if inm := r.Header.Get("If-None-Match"); inm == aboutETag || (inm == "" && err == nil && !lm.After(ims)) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	case "/unicode.html":
		w.Header().Set("Content-Language", "ja")
	}
	p := path.Clean(r.URL.Path)
	if strings.HasSuffix(r.URL.Path, "/") {
		p = path.Join(p, "index.html")
	}
	if p == "/café.html" {
		p = "/cafe.html"
	}
	body, err := os.ReadFile(filepath.Join(s.root, filepath.FromSlash(p)))
	if err != nil {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>"))
		return
	}
	body = bytes.ReplaceAll(body, []byte("{{HOST}}"), []byte(r.Host))
	body = append(body, extra...)
	if w.Header().Get("Content-Type") == "" {
		switch {
		case p == "/latin1.html":
			w.Header().Set("Content-Type", "text/html; charset=windows-1252")
		case strings.HasSuffix(p, ".html"):
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		case strings.HasSuffix(p, ".txt"):
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		case strings.HasSuffix(p, ".pdf"):
			w.Header().Set("Content-Type", "application/pdf")
		}
	}
	w.Header().Set("Date", time.Now().UTC().Format(http.TimeFormat))
	_, _ = w.Write(body)
}
