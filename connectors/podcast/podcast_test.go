package podcast_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/connectors/connectortest"
	"github.com/fairstream/fairstream/connectors/podcast"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// fixtureEpisodes is how many items the three fixture feeds hold:
// atom.xml 2, fair-ai.xml 7, noguid.xml 3.
const fixtureEpisodes = 12

func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Harness{
		Handler: fixtureHandler,
		New:     newSource,
		Want:    fixtureEpisodes,
		Topics:  []string{podcast.Topic},
		Setting: "", // public feeds: no credentials
		Job: func(baseURL string) *fairstreampb.Job {
			return &fairstreampb.Job{Id: "job-atom", Connector: podcast.Name, Kind: podcast.KindFeed, Params: map[string]string{"url": baseURL + "/feeds/atom.xml"}}
		},
		JobWant: 2,
	})
}

// BenchmarkConnector replays a feed of 200 episodes, each with 16 KiB of
// audio, in pages of 20: feed parsing, download, hashing and storing, and
// the worker's write path.
func BenchmarkConnector(b *testing.B) {
	const episodes = 200
	handler := func(t testing.TB) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("/feeds/bench.xml", func(w http.ResponseWriter, r *http.Request) {
			var sb strings.Builder
			sb.WriteString(`<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel><title>Bench — ベンチ</title><link>https://bench.example.org/</link><description>Many episodes.</description><itunes:author>Bench</itunes:author><language>en</language>`)
			start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
			for i := episodes - 1; i >= 0; i-- {
				fmt.Fprintf(&sb, `<item><title>Episode %d: données ✓</title><guid isPermaLink="false">bench-%d</guid><pubDate>%s</pubDate><description>Notes for episode %d.</description><enclosure url="http://%s/audio/%d.mp3" length="16384" type="audio/mpeg"/><itunes:duration>00:%02d:00</itunes:duration><itunes:episode>%d</itunes:episode></item>`,
					i, i, start.Add(time.Duration(i)*24*time.Hour).Format(time.RFC1123Z), i, r.Host, i, i%60, i)
			}
			sb.WriteString(`</channel></rss>`)
			w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
			_, _ = io.WriteString(w, sb.String())
		})
		mux.HandleFunc("/audio/", func(w http.ResponseWriter, r *http.Request) {
			sum := sha256.Sum256([]byte(r.URL.Path))
			w.Header().Set("Content-Type", "audio/mpeg")
			_, _ = w.Write(bytes.Repeat(sum[:], 16384/len(sum)))
		})
		return mux
	}
	newBench := func(t testing.TB, baseURL string, client *connectors.Client) connectors.Source {
		cfg := podcast.DefaultConfig()
		cfg.Feeds = []string{baseURL + "/feeds/bench.xml"}
		cfg.BlobDir = t.TempDir()
		s, err := podcast.New(cfg, client)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	connectortest.Bench(b, connectortest.Harness{Handler: handler, New: newBench, Want: episodes, Topics: []string{podcast.Topic}})
}
