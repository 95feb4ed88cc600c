package podcast_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/connectors/podcast"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// drained is what fetching a stream until it has nothing more gave.
type drained struct {
	episodes []*fairstreampb.RawPodcastEpisode
	events   []connectors.Event
	pages    int
	errs     []error
	pos      connectors.Position
	done     bool
}

// drain fetches st from pos as the worker would, retrying a failed fetch
// at once, until a page says no More.
func drain(t *testing.T, src connectors.Source, st connectors.Stream, pos connectors.Position) drained {
	t.Helper()
	var d drained
	for range 20 {
		page, err := src.Fetch(context.Background(), st, pos.Clone())
		if err != nil {
			if errors.Is(err, connectors.ErrAuth) {
				t.Fatal(err)
			}
			d.errs = append(d.errs, err)
			continue
		}
		d.pages++
		for _, e := range page.Events {
			if e.Topic != podcast.Topic || e.Key != st.Params["url"] || e.Time.IsZero() {
				t.Fatalf("event topic %s key %s time %s", e.Topic, e.Key, e.Time)
			}
			d.events = append(d.events, e)
			d.episodes = append(d.episodes, e.Payload.(*fairstreampb.RawPodcastEpisode))
		}
		if page.Next != nil {
			pos = page.Next
		}
		if page.Done {
			d.done = true
		}
		if !page.More {
			d.pos = pos
			return d
		}
	}
	t.Fatalf("stream %s still had more after 20 fetches", st.ID)
	return d
}

type harness struct {
	fx  *fixture
	srv *httptest.Server
	cfg podcast.Config
	src *podcast.Source
}

func newHarness(t *testing.T, edit func(*podcast.Config)) *harness {
	t.Helper()
	fx := newFixture(t)
	srv := httptest.NewServer(fx)
	t.Cleanup(srv.Close)
	cfg := testConfig(t, srv.URL)
	if edit != nil {
		edit(&cfg)
	}
	client := connectors.NewClient(connectors.DefaultHTTPConfig(), srv.Client(), nil)
	src, err := podcast.New(cfg, client, podcast.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	return &harness{fx: fx, srv: srv, cfg: cfg, src: src}
}

func (h *harness) stream(t *testing.T, feed string) connectors.Stream {
	t.Helper()
	for _, st := range h.src.Streams() {
		if st.Params["url"] == h.srv.URL+"/feeds/"+feed {
			return st
		}
	}
	t.Fatalf("no stream for %s", feed)
	return connectors.Stream{}
}

// blobSHA checks that an episode's audio is stored where its URI says, in
// the content-addressed layout, with the fixture file's bytes.
func blobSHA(t *testing.T, h *harness, ep *fairstreampb.RawPodcastEpisode, fixture, ext string) {
	t.Helper()
	want, err := os.ReadFile("testdata/audio/" + fixture)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(want)
	hexSum := hex.EncodeToString(sum[:])
	if !slices.Equal(ep.GetAudioSha256(), sum[:]) {
		t.Errorf("%s: audio_sha256 %x, want %s", ep.GetTitle(), ep.GetAudioSha256(), hexSum)
	}
	u, err := url.Parse(ep.GetAudioUri())
	if err != nil || u.Scheme != "file" {
		t.Fatalf("%s: audio_uri %q", ep.GetTitle(), ep.GetAudioUri())
	}
	wantPath := filepath.Join(h.cfg.BlobDir, "sha256", hexSum[:2], hexSum+"."+ext)
	if filepath.FromSlash(u.Path) != wantPath {
		t.Errorf("%s: audio at %s, want %s", ep.GetTitle(), u.Path, wantPath)
	}
	got, err := os.ReadFile(wantPath)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("%s: stored audio differs from %s (%v)", ep.GetTitle(), fixture, err)
	}
	if ep.GetSkippedReason() != "" {
		t.Errorf("%s: stored and skipped %q", ep.GetTitle(), ep.GetSkippedReason())
	}
}

func TestFetchMapsRSSWithITunesAndPodcastTags(t *testing.T) {
	h := newHarness(t, nil)
	st := h.stream(t, "fair-ai.xml")
	d := drain(t, h.src, st, connectors.Position{})
	if len(d.episodes) != 7 {
		t.Fatalf("%d episodes, want 7", len(d.episodes))
	}
	// Oldest first.
	var guids []string
	for _, ep := range d.episodes {
		guids = append(guids, ep.GetGuid())
	}
	if want := []string{"fairai-trailer", "fairai-ep-001", "fairai-ep-002", "fairai-ep-003", "fairai-ep-004", "fairai-ep-005", "fairai-ep-006"}; !slices.Equal(guids, want) {
		t.Fatalf("guids %v, want %v", guids, want)
	}
	// Two episodes a page; the 500 on flaky.mp3 failed one fetch, which
	// was retried.
	if d.pages != 4 || len(d.errs) != 1 || !strings.Contains(d.errs[0].Error(), "server error 500") {
		t.Fatalf("%d pages, errors %v; want 4 pages and one 500", d.pages, d.errs)
	}
	var re *connectors.ResponseError
	if errors.As(d.errs[0], &re) {
		t.Fatalf("a failed download is not an unusable response: %v", d.errs[0])
	}
	feedURL := h.srv.URL + "/feeds/fair-ai.xml"
	for _, ep := range d.episodes {
		if ep.GetFeedUrl() != feedURL || ep.GetFeedTitle() != "Fair AI Weekly — Daten, Modelle & Menschen" || ep.GetLanguage() != "de-DE" {
			t.Fatalf("feed fields: %q %q %q", ep.GetFeedUrl(), ep.GetFeedTitle(), ep.GetLanguage())
		}
	}
	trailer, ep1, ep2, ep3, ep4, ep5, ep6 := d.episodes[0], d.episodes[1], d.episodes[2], d.episodes[3], d.episodes[4], d.episodes[5], d.episodes[6]

	if ep6.GetTitle() != "Folge 6: Über faire Daten — 公平なデータ 🎙️" ||
		!strings.Contains(ep6.GetDescription(), "über Datenherkunft, Einwilligung und 公平なデータ") ||
		ep6.GetLink() != "https://fairai.example.org/podcast/folge-6" ||
		!ep6.GetPublished().AsTime().Equal(time.Date(2025, 11, 25, 6, 0, 0, 0, time.UTC)) ||
		ep6.GetDurationSeconds() != 31*60+7 || ep6.GetSeason() != 2 || ep6.GetEpisode() != 6 || ep6.GetExplicit() ||
		ep6.GetImageUrl() != "https://fairai.example.org/media/ep6-3000.jpg" ||
		ep6.GetAuthor() != "Jürgen Weiß & Aiko Tanaka" ||
		ep6.GetTranscriptUrl() != "https://fairai.example.org/podcast/folge-6/transcript.vtt" {
		t.Errorf("episode 6: %v", ep6)
	}
	if enc := ep6.GetEnclosure(); enc.GetUrl() != h.srv.URL+"/audio/ep6.mp3" || enc.GetType() != "audio/mpeg" || enc.GetLength() != 1715 {
		t.Errorf("episode 6 enclosure: %v", enc)
	}
	if want := []string{"Datenherkunft", "Einwilligung", "Technology", "Society & Culture", "Philosophy"}; !slices.Equal(ep6.GetCategories(), want) {
		t.Errorf("episode 6 categories %q, want %q", ep6.GetCategories(), want)
	}
	if d.events[6].Time != ep6.GetPublished().AsTime() {
		t.Errorf("event time %s, want the episode's publication", d.events[6].Time)
	}
	blobSHA(t, h, ep6, "ep6.mp3", "mp3")

	if ep1.GetTitle() != "Ep. 1: Hola, ñandú — datos justos" || !ep1.GetExplicit() || ep1.GetDurationSeconds() != 12*60+34 ||
		ep1.GetSeason() != 1 || ep1.GetEpisode() != 1 || ep1.GetAuthor() != "Fair AI Collective" ||
		ep1.GetImageUrl() != "https://fairai.example.org/media/cover-3000.jpg" || ep1.GetTranscriptUrl() != "" ||
		!slices.Equal(ep1.GetCategories(), []string{"Datos", "Technology", "Society & Culture", "Philosophy"}) {
		t.Errorf("episode 1: %v", ep1)
	}
	blobSHA(t, h, ep1, "ep1.m4a", "m4a")
	blobSHA(t, h, ep2, "flaky.mp3", "mp3")
	if got := h.fx.requested("/audio/flaky.mp3"); !slices.Equal(got, []int{500, 200}) {
		t.Errorf("flaky.mp3 answered %v, want 500 then 200", got)
	}

	// Skipped, each for its reason, still written, without audio.
	for _, c := range []struct {
		ep     *fairstreampb.RawPodcastEpisode
		reason string
		path   string
	}{
		{trailer, "no enclosure", ""},
		{ep3, "duration 5h12m0s (itunes:duration) is over max_duration 4h0m0s", "/audio/ep3-long.mp3"},
		{ep4, "enclosure declares 734003200 bytes, over max_audio_bytes 65536", "/audio/ep4-lossless.wav"},
		{ep5, "enclosure type video/mp4 is not in audio_types", "/video/ep5.mp4"},
	} {
		if c.ep.GetSkippedReason() != c.reason || c.ep.GetAudioUri() != "" || len(c.ep.GetAudioSha256()) != 0 {
			t.Errorf("%s: skipped %q, audio %q; want skipped %q", c.ep.GetGuid(), c.ep.GetSkippedReason(), c.ep.GetAudioUri(), c.reason)
		}
		if c.path != "" && len(h.fx.requested(c.path)) != 0 {
			t.Errorf("%s was downloaded", c.path)
		}
	}
	if ep3.GetTitle() != "Эпизод 3: Длинный разговор о справедливости" || ep3.GetDurationSeconds() != 5*3600+12*60 {
		t.Errorf("episode 3: %v", ep3)
	}
	if ep5.GetTitle() != "Épisode 5 : la vidéo du meetup à Zürich" || ep5.GetEnclosure().GetType() != "video/mp4" || ep5.GetEnclosure().GetLength() != 48211003 {
		t.Errorf("episode 5: %v", ep5)
	}
	if trailer.GetEnclosure() != nil || trailer.GetEpisode() != 0 {
		t.Errorf("trailer: %v", trailer)
	}
}

func TestFailedDownloadKeepsTheEpisodesBeforeIt(t *testing.T) {
	h := newHarness(t, func(c *podcast.Config) { c.MaxEpisodesPerFetch = 3 })
	st := h.stream(t, "fair-ai.xml")
	page, err := h.src.Fetch(context.Background(), st, connectors.Position{})
	if err != nil {
		t.Fatal(err)
	}
	// The third episode's download failed: the first two are written, the
	// cursor remembers only them and no validators, and more is to come.
	if len(page.Events) != 2 || !page.More || page.Next["etag"] != "" || len(strings.Fields(page.Next["seen"])) != 2 {
		t.Fatalf("%d events, more %v, next %v", len(page.Events), page.More, page.Next)
	}
	d := drain(t, h.src, st, page.Next)
	if len(d.episodes) != 5 || d.episodes[0].GetGuid() != "fairai-ep-002" || d.episodes[0].GetAudioUri() == "" || d.pos["etag"] == "" {
		t.Fatalf("after the failure: %d episodes, first %v, cursor %v", len(d.episodes), d.episodes[0], d.pos)
	}
}

func TestFetchMapsAtom(t *testing.T) {
	h := newHarness(t, nil)
	d := drain(t, h.src, h.stream(t, "atom.xml"), connectors.Position{})
	if len(d.episodes) != 2 || d.pages != 1 || len(d.errs) != 0 {
		t.Fatalf("%d episodes in %d pages, errors %v", len(d.episodes), d.pages, d.errs)
	}
	n1, n2 := d.episodes[0], d.episodes[1]
	if n1.GetGuid() != "tag:notes.example.net,2025:note-1" || n1.GetTitle() != "Note 1: Consent is not a checkbox" ||
		n1.GetAuthor() != "Kwame Mensah" || n1.GetLink() != "https://notes.example.net/1" || n1.GetDescription() != "A note on consent." ||
		!n1.GetPublished().AsTime().Equal(time.Date(2025, 11, 17, 8, 0, 0, 0, time.UTC)) || n1.GetFeedTitle() != "Fair Data Notes (Atom)" {
		t.Errorf("note 1 (its updated time is its publication): %v", n1)
	}
	blobSHA(t, h, n1, "atom-1.mp3", "mp3")
	if n2.GetTitle() != "Note 2: Provenance in 90 seconds ⏱" || n2.GetAuthor() != "Zoë Ångström" ||
		!slices.Equal(n2.GetCategories(), []string{"provenance"}) || n2.GetEnclosure().GetType() != "audio/opus" || n2.GetEnclosure().GetLength() != 687 {
		t.Errorf("note 2 (the feed's author): %v", n2)
	}
	blobSHA(t, h, n2, "atom-2.opus", "opus")
}

func TestFeedWithoutGUIDs(t *testing.T) {
	h := newHarness(t, nil)
	st := h.stream(t, "noguid.xml")
	d := drain(t, h.src, st, connectors.Position{})
	if len(d.episodes) != 3 {
		t.Fatalf("%d episodes, want 3", len(d.episodes))
	}
	link, one, huge := d.episodes[0], d.episodes[1], d.episodes[2]
	// No GUID: the enclosure URL is the identity, then the link.
	if link.GetGuid() != "http://radio.example.com/sendung-3" || link.GetSkippedReason() != "no enclosure" || link.GetPublished() != nil {
		t.Errorf("link-only item: %v", link)
	}
	if d.events[0].Time.IsZero() {
		t.Error("an item without a date has no event time")
	}
	if one.GetGuid() != h.srv.URL+"/audio/nog-1.mp3" || one.GetTitle() != "Sendung 1: Grüße aus Köln" ||
		one.GetAuthor() != "Radio Nord" || one.GetImageUrl() != "http://radio.example.com/cover.jpg" || one.GetDurationSeconds() != 2712 {
		t.Errorf("episode 1: %v", one)
	}
	// Declared audio/mp3 and served as application/octet-stream: stored
	// as audio/mpeg.
	blobSHA(t, h, one, "nog-1.mp3", "mp3")
	if huge.GetSkippedReason() != "enclosure is larger than max_audio_bytes 65536" || huge.GetAudioUri() != "" {
		t.Errorf("oversized download: %v", huge)
	}
	// Nothing of the aborted download is left behind.
	left, err := os.ReadDir(filepath.Join(h.cfg.BlobDir, "tmp"))
	if err != nil || len(left) != 0 {
		t.Errorf("temporary files left: %v %v", left, err)
	}

	// A restart from the cursor finds nothing new, by the same identities.
	delete(d.pos, "etag")
	delete(d.pos, "last_modified")
	again := drain(t, h.src, st, d.pos)
	if len(again.episodes) != 0 {
		t.Fatalf("the restart emitted %d episodes again", len(again.episodes))
	}
}

func TestConditionalGetAndNewEpisodes(t *testing.T) {
	h := newHarness(t, nil)
	st := h.stream(t, "fair-ai.xml")
	d := drain(t, h.src, st, connectors.Position{})
	if d.pos["etag"] == "" || d.pos["last_modified"] != feedLastModified.Format(http.TimeFormat) || len(strings.Fields(d.pos["seen"])) != 7 {
		t.Fatalf("cursor after the feed: %v", d.pos)
	}

	// Unchanged: a 304 and an empty page that keeps the cursor.
	page, err := h.src.Fetch(context.Background(), st, d.pos.Clone())
	if err != nil {
		t.Fatal(err)
	}
	statuses := h.fx.requested("/feeds/fair-ai.xml")
	if len(page.Events) != 0 || page.More || statuses[len(statuses)-1] != http.StatusNotModified || !mapsEqual(page.Next, d.pos) {
		t.Fatalf("unchanged feed: %d events, status %d, next %v", len(page.Events), statuses[len(statuses)-1], page.Next)
	}

	// A new episode: the feed changes, and only it is emitted.
	h.fx.addItem("fair-ai.xml", `<item>
      <title>Folge 7: Ħello, Ωmega</title>
      <guid isPermaLink="false">fairai-ep-007</guid>
      <pubDate>Tue, 02 Dec 2025 06:00:00 +0000</pubDate>
      <enclosure url="https://cdn.example.org/ep7.flac" length="1000" type="audio/flac"/>
      <itunes:episode>7</itunes:episode>
    </item>`)
	next := drain(t, h.src, st, d.pos)
	if len(next.episodes) != 1 || next.episodes[0].GetGuid() != "fairai-ep-007" || next.episodes[0].GetTitle() != "Folge 7: Ħello, Ωmega" ||
		next.episodes[0].GetSkippedReason() != "enclosure type audio/flac is not in audio_types" {
		t.Fatalf("after a new item: %v", next.episodes)
	}
	if next.pos["etag"] == d.pos["etag"] || len(strings.Fields(next.pos["seen"])) != 8 {
		t.Fatalf("cursor after the new item: %v", next.pos)
	}
}

func TestJobStreamEnds(t *testing.T) {
	h := newHarness(t, nil)
	for _, job := range []*fairstreampb.Job{
		{Id: "j1", Connector: podcast.Name, Kind: "search", Params: map[string]string{"q": "fair ai"}},
		{Id: "j2", Connector: podcast.Name, Kind: podcast.KindFeed},
		{Id: "j3", Connector: podcast.Name, Kind: podcast.KindFeed, Params: map[string]string{"url": "ftp://example.org/feed.xml"}},
	} {
		if _, err := h.src.StreamForJob(job); !errors.Is(err, connectors.ErrUnsupportedJob) {
			t.Errorf("job %s: %v, want ErrUnsupportedJob", job.GetId(), err)
		}
	}
	u := h.srv.URL + "/feeds/atom.xml"
	st, err := h.src.StreamForJob(&fairstreampb.Job{Id: "j4", Connector: podcast.Name, Kind: podcast.KindFeed, Params: map[string]string{"url": u}})
	if err != nil || st.Kind != podcast.KindFeed || st.Params["url"] != u {
		t.Fatalf("feed job: %+v, %v", st, err)
	}
	st.ID, st.JobID = "job:j4", "j4" // as the worker sets them
	d := drain(t, h.src, st, connectors.Position{})
	if len(d.episodes) != 2 || !d.done {
		t.Fatalf("job: %d episodes, done %v", len(d.episodes), d.done)
	}
}

func TestDownloadDisabled(t *testing.T) {
	h := newHarness(t, func(c *podcast.Config) {
		c.DownloadAudio = false
		c.BlobDir = ""
	})
	d := drain(t, h.src, h.stream(t, "atom.xml"), connectors.Position{})
	if len(d.episodes) != 2 {
		t.Fatalf("%d episodes", len(d.episodes))
	}
	for _, ep := range d.episodes {
		if ep.GetSkippedReason() != "audio download disabled (download_audio is false)" || ep.GetAudioUri() != "" || ep.GetEnclosure().GetUrl() == "" {
			t.Errorf("%s: %v", ep.GetGuid(), ep)
		}
	}
	if n := len(h.fx.requested("/audio/atom-1.mp3")); n != 0 {
		t.Errorf("audio downloaded %d times", n)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
