package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/temoto/robotstxt"

	"github.com/fairstream/fairstream/connectors"
)

// maxAttempts is how many fetches of one URL (or robots.txt) may fail in a
// row before the crawler gives up on it.
const maxAttempts = 2

// maxInlineWait is the longest politeness wait taken inside a Fetch; a
// longer one is handed back to the worker as a RateLimitError.
const maxInlineWait = 5 * time.Second

// robotsErrorTTL bounds how long an unreachable robots.txt keeps its host
// disallowed before it is tried again.
const robotsErrorTTL = 10 * time.Minute

// robotsRedirects is how many redirects a robots.txt fetch follows (RFC
// 9309 asks for at least five).
const robotsRedirects = 5

// hostState is one host's politeness state and robots.txt.
type hostState struct {
	sem  chan struct{} // one request to the host at a time
	last time.Time     // when the last request to it ended

	robots         *robotstxt.RobotsData
	robotsExpires  time.Time
	robotsFailures int // robots.txt fetches that failed or were unusable in a row
}

// host returns the state of a canonical host (host[:port]).
func (s *Source) host(name string) *hostState {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.hosts[name]
	if h == nil {
		h = &hostState{sem: make(chan struct{}, 1)}
		s.hosts[name] = h
	}
	return h
}

var (
	robotsAllowAll, _    = robotstxt.FromStatusAndBytes(http.StatusNotFound, nil)
	robotsDisallowAll, _ = robotstxt.FromStatusAndBytes(http.StatusServiceUnavailable, nil)
)

// cachedRobots returns the host's robots.txt if it is cached and fresh.
func (s *Source) cachedRobots(hostName string) *robotstxt.RobotsData {
	if !s.cfg.RespectRobots {
		return robotsAllowAll
	}
	h := s.host(hostName)
	s.mu.Lock()
	defer s.mu.Unlock()
	if h.robots != nil && s.now().Before(h.robotsExpires) {
		return h.robots
	}
	return nil
}

// robotsPath is what robots.txt rules match: the escaped path and query.
func robotsPath(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return p
}

// allowedByRobots reports whether robots.txt lets the crawler fetch u,
// fetching the host's robots.txt if it is not cached.
func (s *Source) allowedByRobots(ctx context.Context, u *url.URL) (bool, error) {
	if !s.cfg.RespectRobots {
		return true, nil
	}
	r, err := s.robotsFor(ctx, u)
	if err != nil {
		return false, err
	}
	return r.TestAgent(robotsPath(u), s.agent), nil
}

// crawlDelay is the host's Crawl-delay for the crawler's agent, if its
// robots.txt is cached.
func (s *Source) crawlDelay(hostName string) time.Duration {
	if !s.cfg.RespectRobots {
		return 0
	}
	r := s.cachedRobots(hostName)
	if r == nil {
		return 0
	}
	return r.FindGroup(s.agent).CrawlDelay
}

// robotsFor returns the robots.txt of u's host, from the cache or fetched.
func (s *Source) robotsFor(ctx context.Context, u *url.URL) (*robotstxt.RobotsData, error) {
	if r := s.cachedRobots(u.Host); r != nil {
		return r, nil
	}
	h := s.host(u.Host)
	robotsURL := u.Scheme + "://" + u.Host + "/robots.txt"
	r, err := s.fetchRobots(ctx, robotsURL)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var re *connectors.ResponseError
	var rl *connectors.RateLimitError
	switch {
	case err == nil:
		h.robots, h.robotsExpires, h.robotsFailures = r, now.Add(s.cfg.RobotsTTL), 0
		return r, nil
	case ctx.Err() != nil || errors.As(err, &rl):
		return nil, err
	case errors.As(err, &re):
		// An HTML page or a body the client refused: reported, tried once
		// more, then taken as no robots.txt.
		h.robotsFailures++
		if h.robotsFailures < maxAttempts {
			return nil, err
		}
		s.log.Warn("robots.txt unusable again; taking it as absent (allow all)", "url", robotsURL, "err", re.Err)
		h.robots, h.robotsExpires, h.robotsFailures = robotsAllowAll, now.Add(s.cfg.RobotsTTL), 0
		return robotsAllowAll, nil
	default:
		// Unreachable: RFC 9309 says assume a complete disallow.
		h.robotsFailures++
		if h.robotsFailures < maxAttempts {
			return nil, fmt.Errorf("robots.txt: %w", err)
		}
		s.log.Warn("robots.txt unreachable; the host is disallowed for now", "url", robotsURL, "err", err)
		h.robots, h.robotsExpires, h.robotsFailures = robotsDisallowAll, now.Add(min(s.cfg.RobotsTTL, robotsErrorTTL)), 0
		return robotsDisallowAll, nil
	}
}

// fetchRobots fetches and parses one robots.txt, following redirects.
func (s *Source) fetchRobots(ctx context.Context, robotsURL string) (*robotstxt.RobotsData, error) {
	cur := robotsURL
	for hop := 0; ; hop++ {
		u, err := url.Parse(cur)
		if err != nil {
			return nil, err
		}
		resp, err := s.request(ctx, u, http.Header{"Accept": {"text/plain,*/*;q=0.5"}})
		if errors.Is(err, connectors.ErrAuth) {
			return robotsAllowAll, nil // 401 and 403 are 4xx: no restrictions
		}
		if err != nil {
			return nil, err
		}
		switch code := resp.StatusCode; {
		case code >= 200 && code <= 299:
			if looksHTML(resp.Body) {
				return nil, &connectors.ResponseError{URL: robotsURL, StatusCode: code, ContentType: resp.Header.Get("Content-Type"),
					Snippet: connectors.Snippet(resp.Body, 512), Err: errors.New("robots.txt is an HTML page, not robots rules")}
			}
			return parseRobots(resp.Body), nil
		case isRedirect(code) && resp.Header.Get("Location") != "" && hop < robotsRedirects:
			next, ok := resolveLink(u, resp.Header.Get("Location"), false)
			if !ok {
				return robotsAllowAll, nil
			}
			cur = next.String()
		default:
			// 4xx: no robots.txt; a redirect loop or another status: as
			// unavailable, which RFC 9309 also treats as allow all.
			return robotsAllowAll, nil
		}
	}
}

// looksHTML reports whether a body is an HTML document rather than robots
// rules (no robots.txt line starts with "<").
func looksHTML(body []byte) bool {
	b := bytes.TrimLeft(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), " \t\r\n")
	return len(b) > 0 && b[0] == '<'
}

// parseRobots parses a robots.txt as RFC 9309 asks: what can be parsed is
// used. The library refuses a file with a rule before any User-agent or a
// bad Crawl-delay; those lines are dropped and the rest parsed again.
func parseRobots(body []byte) *robotstxt.RobotsData {
	if r, err := robotstxt.FromBytes(body); err == nil {
		return r
	}
	if r, err := robotstxt.FromBytes(lenientRobots(body)); err == nil {
		return r
	}
	return robotsAllowAll
}

func lenientRobots(body []byte) []byte {
	var out bytes.Buffer
	agent := false
	for _, line := range bytes.Split(body, []byte("\n")) {
		l := line
		if i := bytes.IndexByte(l, '#'); i >= 0 {
			l = l[:i]
		}
		k, v, _ := bytes.Cut(l, []byte(":"))
		switch string(bytes.ToLower(bytes.TrimSpace(k))) {
		case "user-agent":
			agent = true
		case "allow", "disallow":
			if !agent {
				continue
			}
		case "crawl-delay", "crawldelay":
			d, err := strconv.ParseFloat(string(bytes.TrimSpace(v)), 64)
			if !agent || err != nil || d < 0 || math.IsInf(d, 0) || math.IsNaN(d) {
				continue
			}
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

func isRedirect(code int) bool {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// request sends one GET to u's host, one at a time per host and spaced by
// the host's delay. A wait longer than maxInlineWait is returned as a
// RateLimitError for the worker to wait out.
func (s *Source) request(ctx context.Context, u *url.URL, hdr http.Header) (*connectors.Response, error) {
	h := s.host(u.Host)
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-h.sem }()
	delay := max(s.cfg.HostDelay, s.crawlDelay(u.Host))
	s.mu.Lock()
	last := h.last
	s.mu.Unlock()
	if !last.IsZero() {
		until := last.Add(delay)
		wait := until.Sub(s.now())
		if wait > maxInlineWait {
			return nil, &connectors.RateLimitError{URL: u.String(), Until: until}
		}
		if wait > 0 {
			if err := s.sleep(ctx, wait); err != nil {
				return nil, err
			}
		}
	}
	if hdr == nil {
		hdr = http.Header{}
	}
	hdr.Set("User-Agent", s.cfg.UserAgent)
	resp, err := s.client.Do(ctx, connectors.Request{URL: u.String(), Header: hdr})
	s.mu.Lock()
	h.last = s.now()
	s.mu.Unlock()
	return resp, err
}
