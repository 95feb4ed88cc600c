package structure

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

func TestPodcastEpisode(t *testing.T) {
	const eventType = "raw.podcast/v1"
	tests := []struct {
		name    string
		episode *fairstreampb.RawPodcastEpisode
		want    *fairstreampb.Document
	}{
		{
			name: "HTML show notes, declared language, enclosure, artwork and transcript",
			episode: &fairstreampb.RawPodcastEpisode{
				FeedUrl: "https://Feeds.Example.org:443/show.xml", FeedTitle: "Fair Data Weekly", Guid: "ep-42",
				Title: "Episode 42: Q&amp;A on   fair data",
				Description: `<p>We answer your questions about <b>fair data</b> &amp; AI. Follow @fairdataweekly or use #FairData.</p>` +
					`<ul><li><a href="/notes/42">Show notes</a></li><li>Paper: https://arxiv.example.org/abs/2501.00001</li>` +
					`<li><a href="https://fairstream.example/">fairstream</a></li></ul><script>track()</script>`,
				Link:      "https://show.example.org/episodes/42#player",
				Published: ts("2025-09-01T05:00:00Z"), DurationSeconds: 3120,
				Enclosure: &fairstreampb.PodcastEnclosure{Url: "https://cdn.example.org/audio/42.mp3?src=rss", Type: "audio/mpeg", Length: 49872311},
				ImageUrl:  "https://cdn.example.org/art/42.jpg",
				Author:    "Jane Doe &amp; John Roe",
				Language:  "en-us",
				Season:    2, Episode: 42,
				TranscriptUrl: "https://show.example.org/episodes/42.vtt",
				Categories:    []string{"Technology"},
				AudioUri:      "sha256:abc", AudioSha256: []byte{1, 2},
			},
			want: &fairstreampb.Document{
				Id: "podcast:973aeacf85a78b827fe2a7fa2b1cbada", Source: "podcast", SourceId: "ep-42",
				Url:   "https://show.example.org/episodes/42",
				Title: "Episode 42: Q&A on fair data",
				Text: "We answer your questions about fair data & AI. Follow @fairdataweekly or use #FairData.\n\n" +
					"Show notes\nPaper: https://arxiv.example.org/abs/2501.00001\nfairstream",
				Language: "en", LanguageConfidence: 1,
				Authors:   []string{"Jane Doe & John Roe"},
				Published: ts("2025-09-01T05:00:00Z"),
				Links: []*fairstreampb.Link{
					{Url: "https://show.example.org/notes/42", Text: "Show notes"},
					{Url: "https://fairstream.example/", Text: "fairstream"},
					{Url: "https://arxiv.example.org/abs/2501.00001"},
					{Url: "https://show.example.org/episodes/42.vtt", Rel: "transcript"},
				},
				Hashtags: []string{"FairData"},
				Mentions: []string{"fairdataweekly"},
				Media: []*fairstreampb.MediaRef{
					{Type: "audio", Url: "https://cdn.example.org/audio/42.mp3?src=rss", MimeType: "audio/mpeg"},
					{Type: "image", Url: "https://cdn.example.org/art/42.jpg", MimeType: "image/jpeg"},
				},
				ThreadId:    "https://feeds.example.org/show.xml",
				Description: "We answer your questions about fair data & AI. Follow @fairdataweekly or use #FairData.",
				Lineage:     testLineage(eventType),
			},
		},
		{
			name: "plain-text notes with line breaks, no language, no guid (the enclosure URL stands in)",
			episode: &fairstreampb.RawPodcastEpisode{
				FeedUrl: "https://podcast.example.de/feed.rss", FeedTitle: "Datenküche",
				Title: "Folge 7: Woher kommen die Trainingsdaten?",
				Description: "In dieser Folge sprechen wir darüber, woher die Trainingsdaten großer Sprachmodelle stammen und wer dafür bezahlt wird.\r\n\r\n" +
					"Kapitel:\r\n00:00 Einleitung\r\n12:30 Lizenzen &amp; Urheberrecht   \r\n\r\n\r\nMehr unter https://datenkueche.example.de/7",
				Published: ts("2025-09-02T06:00:00Z"),
				Enclosure: &fairstreampb.PodcastEnclosure{Url: "https://cdn.example.de/folge-7.m4a"},
			},
			want: &fairstreampb.Document{
				Id: "podcast:032ee26791ea1933dbab30ae2743a48e", Source: "podcast", SourceId: "https://cdn.example.de/folge-7.m4a",
				Title: "Folge 7: Woher kommen die Trainingsdaten?",
				Text: "In dieser Folge sprechen wir darüber, woher die Trainingsdaten großer Sprachmodelle stammen und wer dafür bezahlt wird.\n\n" +
					"Kapitel:\n00:00 Einleitung\n12:30 Lizenzen & Urheberrecht\n\nMehr unter https://datenkueche.example.de/7",
				Language: "de", LanguageConfidence: detected,
				Published:   ts("2025-09-02T06:00:00Z"),
				Links:       []*fairstreampb.Link{{Url: "https://datenkueche.example.de/7"}},
				Media:       []*fairstreampb.MediaRef{{Type: "audio", Url: "https://cdn.example.de/folge-7.m4a", MimeType: "audio/mp4"}},
				ThreadId:    "https://podcast.example.de/feed.rss",
				Description: "In dieser Folge sprechen wir darüber, woher die Trainingsdaten großer Sprachmodelle stammen und wer dafür bezahlt wird.",
				Lineage:     testLineage(eventType),
			},
		},
		{
			name: "Arabic video podcast",
			episode: &fairstreampb.RawPodcastEpisode{
				FeedUrl: "https://feeds.example.org/ar.xml", Guid: "ar-ep-3",
				Title:       "الحلقة ٣: البيانات المفتوحة",
				Description: "<p>نتحدث عن البيانات المفتوحة و<strong>الذكاء الاصطناعي</strong>.</p>",
				Link:        "https://ar.example.org/3",
				Language:    "ar",
				Author:      "سارة",
				Enclosure:   &fairstreampb.PodcastEnclosure{Url: "https://cdn.example.org/ar/3.mp4", Type: "video/mp4; codecs=avc1"},
			},
			want: &fairstreampb.Document{
				Id: "podcast:9cf0fd0be80f88d8e644dcfe16acbc78", Source: "podcast", SourceId: "ar-ep-3",
				Url:                "https://ar.example.org/3",
				Title:              "الحلقة ٣: البيانات المفتوحة",
				Text:               "نتحدث عن البيانات المفتوحة والذكاء الاصطناعي.",
				Language:           "ar",
				Authors:            []string{"سارة"},
				Media:              []*fairstreampb.MediaRef{{Type: "video", Url: "https://cdn.example.org/ar/3.mp4", MimeType: "video/mp4"}},
				ThreadId:           "https://feeds.example.org/ar.xml",
				Description:        "نتحدث عن البيانات المفتوحة والذكاء الاصطناعي.",
				Lineage:            testLineage(eventType),
				LanguageConfidence: 1,
			},
		},
		{
			name: "a title and an enclosure only",
			episode: &fairstreampb.RawPodcastEpisode{
				FeedUrl: "https://feeds.example.org/show.xml", Guid: "ep-43", Title: "Bonus 🎧",
				Enclosure: &fairstreampb.PodcastEnclosure{Url: "https://cdn.example.org/audio/43.mp3", Type: "audio/mpeg"},
			},
			want: &fairstreampb.Document{
				Id: "podcast:d0909edc8f869fa9a472254fcd8ad040", Source: "podcast", SourceId: "ep-43",
				Title:    "Bonus 🎧",
				Media:    []*fairstreampb.MediaRef{{Type: "audio", Url: "https://cdn.example.org/audio/43.mp3", MimeType: "audio/mpeg"}},
				ThreadId: "https://feeds.example.org/show.xml",
				Lineage:  testLineage(eventType),
			},
		},
	}
	cfg := DefaultConfig()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := PodcastEpisode(cfg, testSource(eventType), tc.episode)
			if err != nil {
				t.Fatal(err)
			}
			diffDoc(t, doc, tc.want)
			checkDoc(t, cfg, doc)
			deterministic(t, cfg, testSource(eventType), tc.episode, PodcastEpisode, doc)
		})
	}
}

// TestPodcastEpisodeID: the ID is the SHA-256 of the feed URL and the GUID;
// an edited episode keeps it.
func TestPodcastEpisodeID(t *testing.T) {
	cfg := DefaultConfig()
	src := testSource("raw.podcast/v1")
	ep := &fairstreampb.RawPodcastEpisode{FeedUrl: "https://feeds.example.org/show.xml", Guid: "urn:uuid:5b1c", Title: "First title"}
	a, err := PodcastEpisode(cfg, src, ep)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("https://feeds.example.org/show.xml\nurn:uuid:5b1c\n"))
	if want := "podcast:" + hex.EncodeToString(sum[:])[:32]; a.GetId() != want {
		t.Errorf("id %q, want %q", a.GetId(), want)
	}
	ep.Title, ep.Description = "Edited title", "Now with notes"
	if b, err := PodcastEpisode(cfg, src, ep); err != nil || b.GetId() != a.GetId() {
		t.Errorf("edited episode: id %q, %v; want %q", b.GetId(), err, a.GetId())
	}
	ep.FeedUrl = "https://feeds.example.org/other.xml"
	if c, err := PodcastEpisode(cfg, src, ep); err != nil || c.GetId() == a.GetId() {
		t.Errorf("same GUID in another feed: id %q, %v; want another ID", c.GetId(), err)
	}
}

func TestPodcastSkippedAndUnprocessable(t *testing.T) {
	cfg := DefaultConfig()
	src := testSource("raw.podcast/v1")
	feed := "https://feeds.example.org/show.xml"
	for name, e := range map[string]*fairstreampb.RawPodcastEpisode{
		"nothing":            {FeedUrl: feed, Guid: "x"},
		"empty HTML":         {FeedUrl: feed, Guid: "x", Description: "<p> </p><script>x()</script>"},
		"unusable enclosure": {FeedUrl: feed, Guid: "x", Enclosure: &fairstreampb.PodcastEnclosure{Url: "ftp://cdn.example.org/a.mp3"}},
	} {
		if doc, err := PodcastEpisode(cfg, src, e); doc != nil || err != nil {
			t.Errorf("%s: PodcastEpisode = %v, %v; want skipped", name, doc, err)
		}
	}
	for name, e := range map[string]*fairstreampb.RawPodcastEpisode{
		"no feed URL":      {Guid: "x", Title: "T"},
		"relative feed":    {FeedUrl: "/feed.xml", Guid: "x", Title: "T"},
		"no identity":      {FeedUrl: feed, Title: "T"},
		"nil":              nil,
		"non-http feed":    {FeedUrl: "file:///etc/feed.xml", Guid: "x", Title: "T"},
		"blank everything": {FeedUrl: feed, Guid: "  ", Link: " ", Title: "T"},
	} {
		if _, err := PodcastEpisode(cfg, src, e); !errors.Is(err, ErrUnprocessable) {
			t.Errorf("%s: err = %v, want ErrUnprocessable", name, err)
		}
	}
}

func TestLooksHTML(t *testing.T) {
	for s, want := range map[string]bool{
		"<p>x</p>": true, "a <br/> b": true, "</div>": true, "<!-- c -->": true,
		"a < b and c > d": false, "I <3 this": false, "plain": false, "<": false,
	} {
		if got := looksHTML(s); got != want {
			t.Errorf("looksHTML(%q) = %v", s, got)
		}
	}
}
