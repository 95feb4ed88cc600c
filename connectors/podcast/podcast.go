// Package podcast is the podcast connector: RSS 2.0 and Atom feeds (parsed
// with gofeed, iTunes and Podcasting 2.0 tags included), polled with
// conditional GETs, each new episode written to raw.podcast.v1 keyed by
// its feed URL, with its enclosure's audio downloaded into a
// content-addressed BlobStore.
//
// Streams are the configured feeds (connectors.podcast.feeds), followed
// for ever, and `feed` jobs (param url), which end once every episode the
// feed lists has been emitted.
//
// New episodes are found by identity: the item's GUID, or, in a feed
// without GUIDs, its enclosure URL, then its link. The cursor keeps the
// fingerprints of the episodes emitted (see nextSeen for the bound), so a
// restart emits nothing twice, and the ETag and Last-Modified of the last
// feed version fully emitted. One fetch emits at most
// max_episodes_per_fetch episodes, oldest first, and says More while
// others remain.
//
// Audio: the enclosure is streamed to the blob store while its SHA-256 is
// computed; audio_uri is the blob's file:// URI
// (file://<blob_dir>/sha256/<aa>/<hash>.<ext>) and audio_sha256 its hash.
// An enclosure over max_audio_bytes (declared in the feed, announced by
// Content-Length or found while reading), over max_duration (by
// itunes:duration), of a type not in audio_types, or answered with a
// permanent error (404, 410) is skipped: the episode is still written,
// without audio and with skipped_reason. A download that fails transiently
// (5xx, 429, a network error) fails the fetch, which the worker backs off
// and retries: an episode is never written without its audio unless
// skipped. Episodes downloaded before the failure are kept in the page.
//
// Feeds are public: there are no credentials. A feed answering 401 or 403
// is an unusable response (recorded on connectors.errors.v1 and backed
// off), not refused credentials: it must not stop the other feeds.
//
// Refetch reads an episode's feed again and finds the episode by its guid,
// for the validator (without downloading its audio).
package podcast

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// Name is the connector's name.
const Name = "podcast"

// Topic is where its events go.
const Topic = "raw.podcast.v1"

// KindFeed is the stream and job kind: one feed, params {"url": …}.
const KindFeed = "feed"

// defaultUserAgent is what enclosure downloads send unless WithUserAgent
// says otherwise.
const defaultUserAgent = "fairstream/1 (+https://github.com/fairstream/fairstream)"

// Source is the podcast connector.
type Source struct {
	cfg       Config
	client    *connectors.Client
	hc        *http.Client
	store     BlobStore
	userAgent string
	allowed   map[string]bool
	log       *slog.Logger
	reg       prometheus.Registerer
	metrics   *metrics
}

var _ connectors.Source = (*Source)(nil)

// Option configures a Source.
type Option func(*Source)

// WithBlobStore stores audio in bs instead of an FSStore in blob_dir.
func WithBlobStore(bs BlobStore) Option { return func(s *Source) { s.store = bs } }

// WithHTTPClient sets the HTTP client of enclosure downloads, which stream
// to the blob store (connectors.Client reads bodies whole). The default
// has no timeout of its own: download_timeout bounds each download.
func WithHTTPClient(hc *http.Client) Option { return func(s *Source) { s.hc = hc } }

// WithUserAgent sets the User-Agent of enclosure downloads (the CLI passes
// connectors.http.user_agent).
func WithUserAgent(ua string) Option { return func(s *Source) { s.userAgent = ua } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Source) { s.log = l } }

// WithMetrics registers the download metrics with reg.
func WithMetrics(reg prometheus.Registerer) Option { return func(s *Source) { s.reg = reg } }

// New returns the connector. Downloading audio needs blob_dir (or
// WithBlobStore).
func New(cfg Config, client *connectors.Client, opts ...Option) (*Source, error) {
	cfg.Enabled = true
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("podcast: %w", connectors.PrefixSetting("connectors.podcast.", err))
	}
	s := &Source{cfg: cfg, client: client, userAgent: defaultUserAgent, allowed: map[string]bool{}}
	for _, o := range opts {
		o(s)
	}
	if s.client == nil {
		s.client = connectors.NewClient(connectors.DefaultHTTPConfig(), nil, s.log)
	}
	if s.hc == nil {
		s.hc = &http.Client{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("connector", Name)
	if s.store == nil && cfg.DownloadAudio {
		if cfg.BlobDir == "" {
			return nil, errors.New("podcast: connectors.podcast.blob_dir: must be set while download_audio is true (the CLI sets <data_dir>/blobs)")
		}
		fs, err := NewFSStore(cfg.BlobDir)
		if err != nil {
			return nil, fmt.Errorf("podcast: connectors.podcast.blob_dir: %w", err)
		}
		s.store = fs
	}
	for _, t := range cfg.AudioTypes {
		s.allowed[mediaType(t)] = true
	}
	s.metrics = newMetrics(s.reg)
	return s, nil
}

// Name implements connectors.Source.
func (s *Source) Name() string { return Name }

// Streams implements connectors.Source: one stream per configured feed.
func (s *Source) Streams() []connectors.Stream {
	out := make([]connectors.Stream, 0, len(s.cfg.Feeds))
	for _, f := range s.cfg.Feeds {
		out = append(out, feedStream(f))
	}
	return out
}

func feedStream(u string) connectors.Stream {
	return connectors.Stream{ID: "feed:" + u, Kind: KindFeed, Params: map[string]string{"url": u}}
}

// StreamForJob implements connectors.Source: a `feed` job with param url
// emits the feed's episodes, then ends.
func (s *Source) StreamForJob(job *fairstreampb.Job) (connectors.Stream, error) {
	if job.GetKind() != KindFeed {
		return connectors.Stream{}, fmt.Errorf("%w: the podcast connector serves %q jobs (param url), not %q", connectors.ErrUnsupportedJob, KindFeed, job.GetKind())
	}
	u := strings.TrimSpace(job.GetParams()["url"])
	if u == "" {
		return connectors.Stream{}, fmt.Errorf("%w: a %q job needs the param url (the RSS or Atom feed URL)", connectors.ErrUnsupportedJob, KindFeed)
	}
	if err := checkFeedURL(u); err != nil {
		return connectors.Stream{}, fmt.Errorf("%w: param url: %w", connectors.ErrUnsupportedJob, err)
	}
	return feedStream(u), nil
}

// Fetch implements connectors.Source: one conditional GET of the feed, then
// the next new episodes, their audio downloaded.
func (s *Source) Fetch(ctx context.Context, st connectors.Stream, cur connectors.Position) (connectors.Page, error) {
	feedURL := st.Params["url"]
	if err := checkFeedURL(feedURL); err != nil {
		return connectors.Page{}, fmt.Errorf("stream %s: %w", st.ID, err)
	}
	h := http.Header{}
	h.Set("Accept", "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5")
	if v := cur[posETag]; v != "" {
		h.Set("If-None-Match", v)
	}
	if v := cur[posLastModified]; v != "" {
		h.Set("If-Modified-Since", v)
	}
	fetched := time.Now().UTC()
	resp, err := s.client.Do(ctx, connectors.Request{URL: feedURL, Header: h})
	if errors.Is(err, connectors.ErrAuth) {
		// A public feed has no credentials to refuse: this feed alone is
		// unusable, the others go on.
		return connectors.Page{}, &connectors.ResponseError{URL: feedURL, Snippet: err.Error(),
			Err: errors.New("the feed refused access (401/403): it is not public")}
	}
	if err != nil {
		return connectors.Page{}, err
	}
	if resp.StatusCode == http.StatusNotModified {
		return connectors.Page{Next: cur.Clone()}, nil
	}
	ct := resp.Header.Get("Content-Type")
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return connectors.Page{}, &connectors.ResponseError{URL: feedURL, StatusCode: resp.StatusCode, ContentType: ct,
			Snippet: connectors.Snippet(resp.Body, 512), Err: fmt.Errorf("status %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))}
	}
	feed, err := parseFeed(resp.Body)
	if err != nil {
		return connectors.Page{}, &connectors.ResponseError{URL: feedURL, StatusCode: resp.StatusCode, ContentType: ct,
			Snippet: connectors.Snippet(resp.Body, 512), Err: fmt.Errorf("not an RSS or Atom feed: %w", err)}
	}

	eps := episodes(feedURL, feed)
	prev := strings.Fields(cur[posSeen])
	was := make(map[string]bool, len(prev))
	for _, fp := range prev {
		was[fp] = true
	}
	current := make([]string, 0, len(eps))
	var fresh []*episode
	// Feed order (newest first, by convention) for the cursor; eps is
	// oldest first.
	for i := len(eps) - 1; i >= 0; i-- {
		current = append(current, fingerprint(eps[i].key))
	}
	for _, ep := range eps {
		if !was[fingerprint(ep.key)] {
			fresh = append(fresh, ep)
		}
	}

	page := connectors.Page{Next: connectors.Position{}}
	emitted := map[string]bool{}
	for _, ep := range fresh[:min(len(fresh), s.cfg.MaxEpisodesPerFetch)] {
		a, err := s.download(ctx, ep)
		if ctx.Err() != nil {
			return connectors.Page{}, ctx.Err()
		}
		if err != nil {
			s.metrics.downloads.WithLabelValues("failed").Inc()
			if len(page.Events) == 0 {
				return connectors.Page{}, fmt.Errorf("episode %q of %s: %w", ep.raw.GetGuid(), feedURL, err)
			}
			// Keep the episodes done; the next page starts with this one,
			// and its failure then backs the stream off.
			s.log.Warn("audio download failed; writing the episodes before it", "feed", feedURL, "guid", ep.raw.GetGuid(), "err", err)
			break
		}
		if a.skipped != "" {
			s.metrics.downloads.WithLabelValues("skipped").Inc()
			ep.raw.SkippedReason = a.skipped
			s.log.Info("audio skipped", "feed", feedURL, "guid", ep.raw.GetGuid(), "reason", a.skipped)
		} else {
			ep.raw.AudioUri = a.blob.URI
			ep.raw.AudioSha256 = a.blob.SHA256[:]
		}
		emitted[fingerprint(ep.key)] = true
		t := ep.published
		if t.IsZero() {
			t = fetched
		}
		page.Events = append(page.Events, connectors.Event{Topic: Topic, Key: feedURL, Time: t, Payload: ep.raw})
	}
	page.Next[posSeen] = nextSeen(prev, current, emitted)
	if len(page.Events) < len(fresh) {
		page.More = true
		return page, nil
	}
	if v := resp.Header.Get("ETag"); v != "" {
		page.Next[posETag] = v
	}
	if v := resp.Header.Get("Last-Modified"); v != "" {
		page.Next[posLastModified] = v
	}
	page.Done = st.JobID != ""
	return page, nil
}

type metrics struct {
	downloads *prometheus.CounterVec
	bytes     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{
		downloads: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "fairstream", Subsystem: "podcast", Name: "audio_downloads_total",
			Help: "Enclosures by outcome: stored, skipped (a limit, a type, a permanent error), failed (retried later)."}, []string{"result"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "fairstream", Subsystem: "podcast", Name: "audio_bytes_total",
			Help: "Bytes of audio stored."}),
	}
	for _, c := range []prometheus.Collector{m.downloads, m.bytes} {
		_ = reg.Register(c) // a second source shares nothing: its collectors are simply not exported
	}
	return m
}
