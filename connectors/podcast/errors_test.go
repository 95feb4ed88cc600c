package podcast_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/connectors/podcast"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// oneItemFeed is an RSS feed whose one episode's enclosure is url.
func oneItemFeed(url, typ string, length int) string {
	return fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel>
<title>Edge cases</title><link>https://edge.example.org/</link><description>x</description>
<item><title>Only episode</title><guid>edge-1</guid><pubDate>Mon, 24 Nov 2025 10:00:00 GMT</pubDate>
<enclosure url="%s" length="%d" type="%s"/></item>
</channel></rss>`, url, length, typ)
}

// edgeServer serves /feed.xml, whose enclosure is /audio, answered by
// audio.
func edgeServer(t *testing.T, typ string, length int, audio http.HandlerFunc) (*podcast.Source, connectors.Stream) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	mux.HandleFunc("/feed.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		_, _ = io.WriteString(w, oneItemFeed(srv.URL+"/audio", typ, length))
	})
	mux.HandleFunc("/audio", audio)
	cfg := podcast.DefaultConfig()
	cfg.Feeds = []string{srv.URL + "/feed.xml"}
	cfg.BlobDir = t.TempDir()
	cfg.MaxAudioBytes = 1000
	src, err := podcast.New(cfg, connectors.NewClient(connectors.DefaultHTTPConfig(), srv.Client(), nil))
	if err != nil {
		t.Fatal(err)
	}
	return src, src.Streams()[0]
}

func TestEnclosureOutcomes(t *testing.T) {
	mp3 := bytes.Repeat([]byte{0xFF, 0xFB, 0x90, 0x64}, 100) // 400 bytes
	for _, c := range []struct {
		name    string
		typ     string
		length  int
		audio   http.HandlerFunc
		skipped string
	}{
		{"content length over the limit", "audio/mpeg", 0, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "audio/mpeg")
			_, _ = w.Write(bytes.Repeat(mp3, 3))
		}, "enclosure is 1200 bytes (Content-Length), over max_audio_bytes 1000"},
		{"an HTML page instead of audio", "", 0, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, "<html><body>Episode not found</body></html>")
		}, "enclosure served as text/html, not in audio_types"},
		{"gone", "audio/mpeg", 400, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "gone", http.StatusGone)
		}, "enclosure answered 410 Gone"},
		{"stored", "audio/mp3", 400, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "binary/octet-stream")
			_, _ = w.Write(mp3)
		}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			src, st := edgeServer(t, c.typ, c.length, c.audio)
			page, err := src.Fetch(context.Background(), st, connectors.Position{})
			if err != nil || len(page.Events) != 1 {
				t.Fatalf("%d events, %v", len(page.Events), err)
			}
			ep := page.Events[0].Payload.(*fairstreampb.RawPodcastEpisode)
			if ep.GetSkippedReason() != c.skipped {
				t.Fatalf("skipped %q, want %q", ep.GetSkippedReason(), c.skipped)
			}
			if c.skipped == "" {
				sum := sha256.Sum256(mp3)
				if !bytes.Equal(ep.GetAudioSha256(), sum[:]) || !strings.HasSuffix(ep.GetAudioUri(), ".mp3") {
					t.Fatalf("audio %s %x", ep.GetAudioUri(), ep.GetAudioSha256())
				}
			} else if ep.GetAudioUri() != "" {
				t.Fatalf("skipped with audio %s", ep.GetAudioUri())
			}
		})
	}
}

func TestEnclosureRateLimited(t *testing.T) {
	src, st := edgeServer(t, "audio/mpeg", 400, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	})
	_, err := src.Fetch(context.Background(), st, connectors.Position{})
	var rl *connectors.RateLimitError
	if !errors.As(err, &rl) || time.Until(rl.Until) < 100*time.Second {
		t.Fatalf("Fetch = %v, want a RateLimitError about two minutes away", err)
	}
}

func TestFeedErrors(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/html.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<!DOCTYPE html><html><head><title>Just a moment…</title></head><body>Checking your browser</body></html>")
	})
	mux.HandleFunc("/private.xml", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "This feed is for subscribers only", http.StatusForbidden)
	})
	mux.HandleFunc("/truncated.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		_, _ = io.WriteString(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>Cut</title><item><title>Half`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	cfg := podcast.DefaultConfig()
	cfg.BlobDir = t.TempDir()
	src, err := podcast.New(cfg, connectors.NewClient(connectors.DefaultHTTPConfig(), srv.Client(), nil))
	if err != nil {
		t.Fatal(err)
	}
	for path, snippet := range map[string]string{
		"/html.xml":      "Just a moment…",
		"/private.xml":   "subscribers only",
		"/missing.xml":   "404 page not found",
		"/truncated.xml": "<title>Half",
	} {
		st, err := src.StreamForJob(&fairstreampb.Job{Id: "j", Kind: podcast.KindFeed, Params: map[string]string{"url": srv.URL + path}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = src.Fetch(context.Background(), st, connectors.Position{})
		var re *connectors.ResponseError
		if !errors.As(err, &re) || !strings.Contains(re.Snippet, snippet) || errors.Is(err, connectors.ErrAuth) {
			t.Errorf("%s: %v; want an unusable response with %q, not refused credentials", path, err, snippet)
		}
	}
}

func TestConfigNamesKeys(t *testing.T) {
	cfg := podcast.DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	cfg.Feeds = []string{"https://a.example/feed.xml", "feed.xml", "https://a.example/feed.xml"}
	cfg.MaxAudioBytes = 0
	cfg.AudioTypes = []string{"audio/mpeg", "mp3"}
	cfg.MaxEpisodesPerFetch = 0
	_, err := podcast.New(cfg, nil)
	for _, key := range []string{"connectors.podcast.feeds[1]", "connectors.podcast.feeds[2]", "connectors.podcast.max_audio_bytes",
		"connectors.podcast.audio_types[1]", "connectors.podcast.max_episodes_per_fetch"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("New = %v, want it to name %s", err, key)
		}
	}
	// Audio needs somewhere to go.
	if _, err := podcast.New(podcast.DefaultConfig(), nil); err == nil || !strings.Contains(err.Error(), "connectors.podcast.blob_dir") {
		t.Errorf("no blob_dir: %v", err)
	}
}

func TestFSStore(t *testing.T) {
	dir := t.TempDir()
	s, err := podcast.NewFSStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	content := []byte("ID3\x04\x00\x00\x00\x00\x00\x00 not really audio, über")
	sum := sha256.Sum256(content)
	a, err := s.Put(ctx, bytes.NewReader(content), ".MP3")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Put(ctx, bytes.NewReader(content), "mp3")
	if err != nil {
		t.Fatal(err)
	}
	hexSum := fmt.Sprintf("%x", sum)
	want := filepath.Join(dir, "sha256", hexSum[:2], hexSum+".mp3")
	if a != b || a.SHA256 != sum || a.Size != int64(len(content)) || a.URI != "file://"+filepath.ToSlash(want) {
		t.Fatalf("blobs %+v and %+v, want one at %s", a, b, want)
	}
	rc, err := s.Open(ctx, a.URI)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	_ = rc.Close()
	if !bytes.Equal(got, content) {
		t.Fatalf("read back %q", got)
	}
	// A failed copy leaves nothing.
	if _, err := s.Put(ctx, io.MultiReader(bytes.NewReader(content), errReader{}), "mp3"); err == nil {
		t.Fatal("a failed read stored a blob")
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
	// An odd extension is not trusted.
	c, err := s.Put(ctx, strings.NewReader("x"), "../../etc")
	if err != nil || !strings.HasSuffix(c.URI, ".bin") {
		t.Fatalf("odd extension: %+v %v", c, err)
	}
	if _, err := s.Open(ctx, "file:///etc/passwd"); err == nil {
		t.Fatal("opened a file outside the store")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset by peer") }
