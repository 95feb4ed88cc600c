package web

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// cursorKey is the Position entry holding the crawl's state.
const cursorKey = "crawl"

// stateVersion versions the cursor's JSON; a cursor of another version
// restarts the crawl.
const stateVersion = 1

// crawlState is a crawl's cursor: every URL admitted, in discovery order,
// and the index of the next one to fetch. URLs[:Next] were visited this
// round, URLs[Next:] are the frontier.
type crawlState struct {
	V     int `json:"v"`
	Round int `json:"round"`
	Next  int `json:"next"`
	// Finished is when the round ended (Unix seconds); 0 while crawling.
	Finished int64 `json:"done,omitempty"`
	// Hosts are hosts the seed redirected to, allowed for this crawl.
	Hosts []string    `json:"hosts,omitempty"`
	URLs  []*urlEntry `json:"urls"`

	index map[string]int
}

// urlEntry is one admitted URL.
type urlEntry struct {
	URL   string `json:"u"`
	Depth int    `json:"d,omitempty"`
	// Referrer is 1 + the index of the page that linked it; 0 for the seed.
	Referrer int `json:"r,omitempty"`
	// ETag and LastMod (Unix seconds) are the validators of the last 200.
	ETag    string `json:"e,omitempty"`
	LastMod int64  `json:"m,omitempty"`
	// Status and Hash are the last response's status and a hash of what was
	// kept of it, to leave out a page that did not change.
	Status int    `json:"s,omitempty"`
	Hash   string `json:"h,omitempty"`
	// Alias marks a URL reached through another URL's redirect this round.
	Alias bool `json:"a,omitempty"`
}

func newState(spec crawlSpec) *crawlState {
	cs := &crawlState{V: stateVersion, Round: 1}
	cs.add(&urlEntry{URL: spec.seed})
	return cs
}

// compressAbove is the JSON size past which the cursor is compressed.
const compressAbove = 2048

// maxStateBytes bounds a decompressed cursor.
const maxStateBytes = 64 << 20

func decodeState(raw string, spec crawlSpec) (*crawlState, error) {
	if raw == "" {
		return newState(spec), nil
	}
	b := []byte(raw)
	if z, ok := strings.CutPrefix(raw, "z:"); ok {
		packed, err := base64.RawStdEncoding.DecodeString(z)
		if err != nil {
			return nil, err
		}
		r := flate.NewReader(bytes.NewReader(packed))
		b, err = io.ReadAll(io.LimitReader(r, maxStateBytes))
		if err != nil {
			return nil, err
		}
	}
	cs := new(crawlState)
	if err := json.Unmarshal(b, cs); err != nil {
		return nil, err
	}
	switch {
	case cs.V != stateVersion:
		return nil, fmt.Errorf("cursor version %d, want %d", cs.V, stateVersion)
	case len(cs.URLs) == 0 || cs.URLs[0] == nil || cs.URLs[0].URL != spec.seed:
		return nil, errors.New("cursor is not this seed's crawl")
	case cs.Next < 0 || cs.Next > len(cs.URLs):
		return nil, fmt.Errorf("cursor's next URL %d is out of its %d URLs", cs.Next, len(cs.URLs))
	}
	cs.index = make(map[string]int, len(cs.URLs))
	for i, e := range cs.URLs {
		if e == nil {
			return nil, fmt.Errorf("cursor URL %d is empty", i)
		}
		cs.index[e.URL] = i
	}
	return cs, nil
}

// encode writes the state as JSON, compressed (flate, then base64 after
// "z:") once it is over a couple of KiB: the URLs of one site compress
// well, and the worker writes the cursor with every page.
func (cs *crawlState) encode() (string, error) {
	b, err := json.Marshal(cs)
	if err != nil || len(b) <= compressAbove {
		return string(b), err
	}
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.DefaultCompression)
	if err != nil {
		return "", err
	}
	if _, err := w.Write(b); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return "z:" + base64.RawStdEncoding.EncodeToString(buf.Bytes()), nil
}

func (cs *crawlState) add(e *urlEntry) {
	if cs.index == nil {
		cs.index = map[string]int{}
	}
	cs.index[e.URL] = len(cs.URLs)
	cs.URLs = append(cs.URLs, e)
}

// startRound starts a recrawl over the known URLs.
func (cs *crawlState) startRound(maxPages int) {
	cs.Round++
	cs.Next, cs.Finished = 0, 0
	if len(cs.URLs) > maxPages {
		for _, e := range cs.URLs[maxPages:] {
			delete(cs.index, e.URL)
		}
		cs.URLs = cs.URLs[:maxPages]
	}
	for _, e := range cs.URLs {
		e.Alias = false
		if e.Referrer > len(cs.URLs) {
			e.Referrer = 0
		}
	}
}

// skip says why a URL was passed over after a request: logged, no event.
type skip string

func (s skip) Error() string { return string(s) }

// Fetch implements connectors.Source: it fetches the next URL of the
// stream's crawl and returns its page (none for a 304, a page that did not
// change, a noindex page, one skipped).
func (s *Source) Fetch(ctx context.Context, st connectors.Stream, cur connectors.Position) (connectors.Page, error) {
	spec, err := s.spec(st)
	if err != nil {
		return connectors.Page{}, err
	}
	cs, err := decodeState(cur[cursorKey], spec)
	if err != nil {
		s.log.Warn("unreadable crawl cursor; starting the crawl over", "stream", st.ID, "err", err)
		cs = newState(spec)
	}
	if cs.Finished != 0 {
		if !spec.recrawl {
			return connectors.Page{Next: cur, Done: true}, nil
		}
		if s.now().Before(time.Unix(cs.Finished, 0).Add(s.cfg.RecrawlInterval)) {
			return connectors.Page{Next: cur}, nil
		}
		cs.startRound(spec.maxPages)
	}
	var page connectors.Page
	for cs.Next < len(cs.URLs) {
		i := cs.Next
		if cs.URLs[i].Alias {
			cs.Next++
			continue
		}
		ev, requested, err := s.visit(ctx, st, spec, cs, i)
		key := st.ID + "\x00" + cs.URLs[i].URL
		if err != nil {
			if !s.giveUp(ctx, key, err) {
				return connectors.Page{}, err
			}
			s.log.Warn("giving up on a URL", "stream", st.ID, "url", cs.URLs[i].URL, "err", err)
			requested = true
		} else {
			s.mu.Lock()
			delete(s.failures, key)
			s.mu.Unlock()
		}
		cs.Next++
		if ev != nil {
			page.Events = append(page.Events, *ev)
		}
		if requested {
			break
		}
	}
	if cs.Next < len(cs.URLs) {
		page.More = true
	} else {
		cs.Finished = max(s.now().Unix(), 1)
		page.Done = !spec.recrawl
	}
	next, err := cs.encode()
	if err != nil {
		return connectors.Page{}, err
	}
	page.Next = connectors.Position{cursorKey: next}
	return page, nil
}

// giveUp counts a failed fetch of a URL and reports whether it is time to
// drop the URL; cancellation and rate limits are not failures.
func (s *Source) giveUp(ctx context.Context, key string, err error) bool {
	var rl *connectors.RateLimitError
	if ctx.Err() != nil || errors.As(err, &rl) || errors.Is(err, connectors.ErrAuth) {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[key]++
	if s.failures[key] < maxAttempts {
		return false
	}
	delete(s.failures, key)
	return true
}

// accept is the Accept header of page requests.
const accept = "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5"

// visit fetches URL i of the crawl: requested says a request for the page
// was sent (the Fetch ends there).
func (s *Source) visit(ctx context.Context, st connectors.Stream, spec crawlSpec, cs *crawlState, i int) (*connectors.Event, bool, error) {
	e := cs.URLs[i]
	u, err := url.Parse(e.URL)
	if err != nil || !s.hostAllowed(spec, cs.Hosts, u) {
		return nil, false, nil // from a configuration since changed
	}
	if ok, err := s.allowedByRobots(ctx, u); err != nil {
		return nil, false, err
	} else if !ok {
		s.log.Debug("disallowed by robots.txt", "stream", st.ID, "url", e.URL)
		return nil, false, nil
	}
	hdr := http.Header{"Accept": {accept}}
	if e.ETag != "" {
		hdr.Set("If-None-Match", e.ETag)
	}
	if e.LastMod != 0 {
		hdr.Set("If-Modified-Since", time.Unix(e.LastMod, 0).UTC().Format(http.TimeFormat))
	}
	resp, final, err := s.follow(ctx, spec, cs, i, u, hdr)
	var sk skip
	switch {
	case errors.As(err, &sk):
		s.log.Info("not crawled", "stream", st.ID, "url", e.URL, "reason", string(sk))
		return nil, true, nil
	case errors.Is(err, connectors.ErrAuth):
		// A page behind a login is not public: skipped, and the worker goes on.
		s.log.Info("not crawled: access refused", "stream", st.ID, "url", e.URL, "err", err)
		return nil, true, nil
	case err != nil:
		return nil, true, err
	}
	fetched := s.now().UTC()
	finalURL := final.String()
	if finalURL != e.URL {
		if j, ok := cs.index[finalURL]; ok && j != i {
			if j < cs.Next {
				s.log.Debug("redirects to a page already crawled", "stream", st.ID, "url", e.URL, "final_url", finalURL)
				return nil, true, nil
			}
			cs.URLs[j].Alias = true
		} else if !ok && len(cs.URLs) < spec.maxPages {
			cs.add(&urlEntry{URL: finalURL, Depth: e.Depth, Referrer: e.Referrer, Alias: true})
		}
	}
	code := resp.StatusCode
	if code == http.StatusNotModified {
		return nil, true, nil
	}
	ct := resp.Header.Get("Content-Type")
	raw := &fairstreampb.RawWebPage{
		Url:          e.URL,
		FinalUrl:     finalURL,
		StatusCode:   int32(code),
		ContentType:  ct,
		FetchedAt:    timestamppb.New(fetched),
		Etag:         resp.Header.Get("ETag"),
		LastModified: resp.Header.Get("Last-Modified"),
		Headers:      keptHeaders(resp.Header),
		Depth:        int32(e.Depth),
		Seed:         spec.seed,
	}
	if e.Referrer > 0 && e.Referrer <= len(cs.URLs) {
		raw.Referrer = cs.URLs[e.Referrer-1].URL
	}
	dir := headerDirectives(resp.Header, s.agent)
	if code >= 200 && code <= 299 {
		kind, binary := classify(ct, resp.Body)
		if binary {
			return nil, true, &connectors.ResponseError{URL: finalURL, StatusCode: code, ContentType: ct,
				Snippet: connectors.Snippet(resp.Body, 512),
				Err:     fmt.Errorf("declared %q but the body is %s data", ct, mediaType(http.DetectContentType(resp.Body)))}
		}
		if kind != kindOther {
			raw.Body = resp.Body
			if int64(len(raw.Body)) > s.cfg.MaxBodyBytes {
				raw.Body, raw.Truncated = raw.Body[:s.cfg.MaxBodyBytes], true
			}
		}
		if kind == kindHTML {
			info := parseHTML(resp.Body, ct, s.agent)
			dir.noindex = dir.noindex || info.noindex
			dir.nofollow = dir.nofollow || info.nofollow
			if !dir.nofollow && e.Depth < spec.depth {
				s.admitLinks(spec, cs, i, final, info)
			}
		}
	}
	e.ETag, e.LastMod = raw.Etag, 0
	evTime := fetched
	if t, err := http.ParseTime(raw.LastModified); err == nil {
		e.LastMod = t.Unix()
		if !t.After(fetched) {
			evTime = t
		}
	}
	hash := pageHash(code, raw.Body)
	unchanged := e.Status == code && e.Hash == hash
	e.Status, e.Hash = code, hash
	if dir.noindex {
		s.log.Debug("noindex: not recorded", "stream", st.ID, "url", e.URL)
		return nil, true, nil
	}
	if unchanged {
		return nil, true, nil
	}
	return &connectors.Event{Topic: Topic, Key: e.URL, Time: evTime, Payload: raw}, true, nil
}

// follow requests u, following redirects within the crawl's hosts and
// robots.txt; it returns the last response and the URL that gave it.
func (s *Source) follow(ctx context.Context, spec crawlSpec, cs *crawlState, i int, u *url.URL, hdr http.Header) (*connectors.Response, *url.URL, error) {
	cur := u
	for hop := 0; ; hop++ {
		resp, err := s.request(ctx, cur, hdr.Clone())
		if err != nil {
			return nil, cur, err
		}
		loc := resp.Header.Get("Location")
		if !isRedirect(resp.StatusCode) || loc == "" {
			return resp, cur, nil
		}
		if hop >= s.cfg.MaxRedirects {
			return nil, cur, skip(fmt.Sprintf("more than %d redirects (max_redirects)", s.cfg.MaxRedirects))
		}
		next, ok := resolveLink(cur, loc, s.cfg.SortQuery)
		if !ok {
			return nil, cur, skip(fmt.Sprintf("redirect to %q, not an http(s) URL", loc))
		}
		if !s.hostAllowed(spec, cs.Hosts, next) {
			if i != 0 {
				return nil, cur, skip(fmt.Sprintf("redirect to %s, outside the allowed hosts", next))
			}
			// The seed moved (example.org to www.example.org): its new host
			// is the crawl's.
			cs.Hosts = append(cs.Hosts, next.Host)
		}
		allowed, err := s.allowedByRobots(ctx, next)
		if err != nil {
			return nil, cur, err
		}
		if !allowed {
			return nil, cur, skip(fmt.Sprintf("redirect to %s, disallowed by robots.txt", next))
		}
		cur = next
	}
}

// admitLinks queues the followable links of page i, breadth first, within
// the crawl's hosts and page limit.
func (s *Source) admitLinks(spec crawlSpec, cs *crawlState, i int, final *url.URL, info htmlInfo) {
	base := final
	if info.base != "" {
		if b, err := url.Parse(cleanHref(info.base)); err == nil {
			base = final.ResolveReference(b)
		}
	}
	depth := cs.URLs[i].Depth + 1
	for _, l := range info.links {
		if len(cs.URLs) >= spec.maxPages {
			return
		}
		if l.nofollow {
			continue
		}
		u, ok := resolveLink(base, l.href, s.cfg.SortQuery)
		if !ok || !s.hostAllowed(spec, cs.Hosts, u) {
			continue
		}
		c := u.String()
		if _, seen := cs.index[c]; seen {
			continue
		}
		if r := s.cachedRobots(u.Host); r != nil && !r.TestAgent(robotsPath(u), s.agent) {
			continue
		}
		cs.add(&urlEntry{URL: c, Depth: depth, Referrer: i + 1})
	}
}

// keptHeaders are the response headers a RawWebPage carries.
var keptHeaderNames = []string{"content-language", "content-type", "etag", "last-modified"}

func keptHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for _, k := range keptHeaderNames {
		if v := h.Get(k); v != "" {
			out[k] = v
		}
	}
	return out
}

// pageHash identifies what a response gave: its status and kept body.
func pageHash(code int, body []byte) string {
	h := sha256.New()
	_ = binary.Write(h, binary.BigEndian, int32(code))
	h.Write(body)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:9])
}
