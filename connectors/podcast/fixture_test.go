package podcast_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/connectors/podcast"
)

// feedLastModified is when the fixture feeds last changed.
var feedLastModified = time.Date(2025, 11, 25, 9, 0, 0, 0, time.UTC)

// fixture serves testdata/ the way a podcast host and its CDN do: feeds
// with ETag and Last-Modified, answering conditional GETs with 304; audio
// files with their media types; /audio/flaky.mp3 fails with a 500 the first
// time; /audio/huge.mp3 streams 100 KiB without a Content-Length.
type fixture struct {
	t testing.TB

	mu       sync.Mutex
	requests []string          // paths, in order
	status   map[string][]int  // per path, the statuses answered
	extra    map[string]string // per feed, items added before the first <item>
	flaky    bool              // flaky.mp3 has failed once
}

func newFixture(t testing.TB) *fixture {
	return &fixture{t: t, status: map[string][]int{}, extra: map[string]string{}}
}

func fixtureHandler(t testing.TB) http.Handler { return newFixture(t) }

// addItem publishes a new item in feed (a file name under testdata/feeds).
func (f *fixture) addItem(feed, item string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.extra[feed] = item + f.extra[feed]
}

// requested returns how often p was requested, and the statuses answered.
func (f *fixture) requested(p string) []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.status[p]...)
}

func (f *fixture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	status := f.serve(w, r)
	f.mu.Lock()
	f.requests = append(f.requests, r.URL.Path)
	f.status[r.URL.Path] = append(f.status[r.URL.Path], status)
	f.mu.Unlock()
}

func (f *fixture) serve(w http.ResponseWriter, r *http.Request) int {
	dir, name := path.Split(r.URL.Path)
	switch {
	case dir == "/feeds/":
		return f.feed(w, r, name)
	case r.URL.Path == "/audio/flaky.mp3":
		f.mu.Lock()
		failed := f.flaky
		f.flaky = true
		f.mu.Unlock()
		if !failed {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte("<html><body><h1>500 Internal Server Error</h1>upstream reset</body></html>"))
			return http.StatusInternalServerError
		}
	case r.URL.Path == "/audio/huge.mp3":
		w.Header().Set("Content-Type", "audio/mpeg")
		chunk := bytes.Repeat([]byte{0xFF, 0xFB, 0x90, 0x64}, 256)
		for range 100 {
			if _, err := w.Write(chunk); err != nil {
				break
			}
			w.(http.Flusher).Flush() // chunked: no Content-Length
		}
		return http.StatusOK
	}
	if dir != "/audio/" {
		http.NotFound(w, r)
		return http.StatusNotFound
	}
	b, err := os.ReadFile("testdata/audio/" + name)
	if err != nil {
		http.NotFound(w, r)
		return http.StatusNotFound
	}
	switch path.Ext(name) {
	case ".m4a":
		w.Header().Set("Content-Type", "audio/x-m4a")
	case ".opus":
		w.Header().Set("Content-Type", "audio/opus")
	default:
		if name == "nog-1.mp3" {
			// An old host that serves everything as a download.
			w.Header().Set("Content-Type", "application/octet-stream")
		} else {
			w.Header().Set("Content-Type", "audio/mpeg")
		}
	}
	w.Header().Set("Accept-Ranges", "bytes")
	_, _ = w.Write(b)
	return http.StatusOK
}

func (f *fixture) feed(w http.ResponseWriter, r *http.Request, name string) int {
	raw, err := os.ReadFile("testdata/feeds/" + name)
	if err != nil {
		http.NotFound(w, r)
		return http.StatusNotFound
	}
	body := strings.ReplaceAll(string(raw), "{{BASE}}", "http://"+r.Host)
	modified := feedLastModified
	f.mu.Lock()
	if extra := f.extra[name]; extra != "" {
		i := strings.Index(body, "<item>")
		body = body[:i] + extra + "\n    " + body[i:]
		modified = modified.Add(time.Hour)
	}
	f.mu.Unlock()
	sum := sha256.Sum256([]byte(body))
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Last-Modified", modified.Format(http.TimeFormat))
	w.Header().Set("Cache-Control", "max-age=300")
	inm := r.Header.Get("If-None-Match")
	ims, imsErr := http.ParseTime(r.Header.Get("If-Modified-Since"))
	if inm == etag || (inm == "" && imsErr == nil && !modified.After(ims)) {
		w.WriteHeader(http.StatusNotModified)
		return http.StatusNotModified
	}
	if strings.HasSuffix(name, "atom.xml") {
		w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
	}
	_, _ = w.Write([]byte(body))
	return http.StatusOK
}

// feeds are the fixture feeds, in the order their streams are fetched.
var feeds = []string{"atom.xml", "fair-ai.xml", "noguid.xml"}

// testConfig follows the fixture feeds with limits the fixtures cross:
// two episodes a page, 64 KiB of audio at most.
func testConfig(t testing.TB, baseURL string) podcast.Config {
	cfg := podcast.DefaultConfig()
	for _, f := range feeds {
		cfg.Feeds = append(cfg.Feeds, baseURL+"/feeds/"+f)
	}
	cfg.BlobDir = t.TempDir()
	cfg.MaxAudioBytes = 64 << 10
	cfg.MaxEpisodesPerFetch = 2
	return cfg
}

func newSource(t testing.TB, baseURL string, client *connectors.Client) connectors.Source {
	s, err := podcast.New(testConfig(t, baseURL), client)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
