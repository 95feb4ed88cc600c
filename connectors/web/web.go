package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// Name is the connector's name.
const Name = "web"

// Topic is where its events go.
const Topic = "raw.web.v1"

// Stream kinds.
const (
	// KindSeed is a configured seed: crawled again when finished.
	KindSeed = "seed"
	// KindCrawl is a data request's crawl: Done when finished.
	KindCrawl = "crawl"
)

// Ceilings that keep a crawl's cursor (one Kafka record) small.
const (
	MaxDepthLimit = 16
	MaxPagesLimit = 2000
)

// Config configures the connector (connectors.web.*).
type Config struct {
	// Enabled runs it in `fairstream dev`.
	Enabled bool `mapstructure:"enabled"`
	// Seeds are the URLs crawled continuously, one stream each.
	Seeds []string `mapstructure:"seeds"`
	// AllowedHosts are hosts a crawl may follow links to besides its
	// seed's host: "docs.example.org", "example.org:8080", or
	// "*.example.org" for its subdomains. An entry without a port matches
	// the host on any port.
	AllowedHosts []string `mapstructure:"allowed_hosts"`
	// MaxDepth is how many links from the seed a crawl follows.
	MaxDepth int `mapstructure:"max_depth"`
	// MaxPages caps the URLs one crawl admits (fetched or queued).
	MaxPages int `mapstructure:"max_pages"`
	// HostDelay is the least time between two requests to one host; a
	// longer Crawl-delay in robots.txt wins.
	HostDelay time.Duration `mapstructure:"host_delay"`
	// MaxBodyBytes cuts a kept body (RawWebPage.truncated). Keep it under
	// connectors.http.max_body_bytes, past which the client refuses a
	// response, and under what one Kafka record may hold.
	MaxBodyBytes int64 `mapstructure:"max_body_bytes"`
	// UserAgent is sent with every request; its product token (up to the
	// first "/") is the robots.txt user agent.
	UserAgent string `mapstructure:"user_agent"`
	// RespectRobots obeys robots.txt, Crawl-delay included.
	RespectRobots bool `mapstructure:"respect_robots"`
	// RobotsTTL is how long a host's robots.txt is cached.
	RobotsTTL time.Duration `mapstructure:"robots_ttl"`
	// MaxRedirects is how many redirects one fetch follows.
	MaxRedirects int `mapstructure:"max_redirects"`
	// SortQuery sorts query parameters in canonical URLs.
	SortQuery bool `mapstructure:"sort_query"`
	// RecrawlInterval is the least time between the end of a seed's crawl
	// and the start of its next; 0 starts it at the worker's next poll.
	RecrawlInterval time.Duration `mapstructure:"recrawl_interval"`
}

// DefaultUserAgent is the crawler's default User-Agent.
const DefaultUserAgent = "fairstream-crawler/1 (+https://github.com/fairstream/fairstream)"

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		MaxDepth:  2,
		MaxPages:  200,
		HostDelay: time.Second,
		// Under the 1 MiB records Kafka takes by default
		// (kafka.producer.batch_max_bytes): a page must fit one record.
		MaxBodyBytes:  768 << 10,
		UserAgent:     DefaultUserAgent,
		RespectRobots: true,
		RobotsTTL:     24 * time.Hour,
		MaxRedirects:  5,
	}
}

// Validate reports invalid settings, naming their keys.
func (c Config) Validate() error {
	var errs []error
	for i, s := range c.Seeds {
		if _, err := Canonical(s, c.SortQuery); err != nil {
			errs = append(errs, fmt.Errorf("seeds[%d]: %w", i, err))
		}
	}
	for i, h := range c.AllowedHosts {
		if err := checkHostPattern(h); err != nil {
			errs = append(errs, fmt.Errorf("allowed_hosts[%d]: %w", i, err))
		}
	}
	if c.MaxDepth < 0 || c.MaxDepth > MaxDepthLimit {
		errs = append(errs, fmt.Errorf("max_depth: must be between 0 and %d, got %d", MaxDepthLimit, c.MaxDepth))
	}
	if c.MaxPages < 1 || c.MaxPages > MaxPagesLimit {
		errs = append(errs, fmt.Errorf("max_pages: must be between 1 and %d, got %d", MaxPagesLimit, c.MaxPages))
	}
	if c.HostDelay < 0 {
		errs = append(errs, fmt.Errorf("host_delay: must be >= 0, got %s", c.HostDelay))
	}
	if c.MaxBodyBytes < 1024 {
		errs = append(errs, fmt.Errorf("max_body_bytes: must be >= 1024, got %d", c.MaxBodyBytes))
	}
	switch {
	case strings.TrimSpace(c.UserAgent) == "":
		errs = append(errs, errors.New("user_agent: must not be empty"))
	case strings.ContainsAny(c.UserAgent, "\r\n\x00"):
		errs = append(errs, errors.New("user_agent: must be one line"))
	}
	if c.RobotsTTL <= 0 {
		errs = append(errs, fmt.Errorf("robots_ttl: must be > 0, got %s", c.RobotsTTL))
	}
	if c.MaxRedirects < 0 || c.MaxRedirects > 20 {
		errs = append(errs, fmt.Errorf("max_redirects: must be between 0 and 20, got %d", c.MaxRedirects))
	}
	if c.RecrawlInterval < 0 {
		errs = append(errs, fmt.Errorf("recrawl_interval: must be >= 0, got %s", c.RecrawlInterval))
	}
	return errors.Join(errs...)
}

// checkHostPattern checks one allowed_hosts entry.
func checkHostPattern(h string) error {
	if h == "" {
		return errors.New("empty host")
	}
	if strings.ContainsAny(h, "/?#@ ") {
		return fmt.Errorf("%q is not a host (no scheme or path: example.org, example.org:8080, *.example.org)", h)
	}
	name := strings.TrimPrefix(h, "*.")
	if _, err := Canonical("http://"+name+"/", false); err != nil {
		return fmt.Errorf("%q is not a host: %w", h, err)
	}
	return nil
}

// Option configures a Source.
type Option func(*Source)

// WithLogger sets the logger for what the crawler skips and why.
func WithLogger(l *slog.Logger) Option { return func(s *Source) { s.log = l } }

// Source is the web connector. It is safe for concurrent use: requests to
// one host are serialised.
type Source struct {
	cfg    Config
	client *connectors.Client
	log    *slog.Logger
	agent  string // robots.txt product token, lower case
	// allowed are the allowed_hosts patterns, canonical.
	allowed []string

	now   func() time.Time
	sleep func(context.Context, time.Duration) error

	mu       sync.Mutex
	hosts    map[string]*hostState
	failures map[string]int // per stream and URL: fetches that failed in a row
}

var _ connectors.Source = (*Source)(nil)

// New returns the connector. Build client on NoRedirects(nil) so that the
// crawler sees redirects (final_url, the redirect limit, the allowed hosts
// and robots.txt of every hop); a client that follows redirects itself
// works, without those.
func New(cfg Config, client *connectors.Client, opts ...Option) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("web: %w", connectors.PrefixSetting("connectors.web.", err))
	}
	if client == nil {
		return nil, errors.New("web: no HTTP client")
	}
	s := &Source{cfg: cfg, client: client, log: slog.New(slog.DiscardHandler), agent: productToken(cfg.UserAgent),
		now: time.Now, sleep: connectors.Sleep, hosts: map[string]*hostState{}, failures: map[string]int{}}
	for _, p := range cfg.AllowedHosts {
		wild, name := "", p
		if rest, ok := strings.CutPrefix(p, "*."); ok {
			wild, name = "*.", rest
		}
		c, _ := Canonical("http://"+name+"/", false) // Validate checked it
		u, _ := url.Parse(c)
		s.allowed = append(s.allowed, wild+u.Host)
	}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// NoRedirects returns a copy of hc (a new client if nil) that hands
// redirects back to the caller instead of following them, for the client
// the crawler is built on.
func NoRedirects(hc *http.Client) *http.Client {
	c := &http.Client{}
	if hc != nil {
		*c = *hc
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// productToken is the robots.txt user agent of a User-Agent header: its
// first product's name, lower case.
func productToken(ua string) string {
	tok := strings.TrimSpace(ua)
	if i := strings.IndexAny(tok, "/ \t("); i >= 0 {
		tok = tok[:i]
	}
	return strings.ToLower(tok)
}

// Name implements connectors.Source.
func (s *Source) Name() string { return Name }

// Streams implements connectors.Source: one stream per configured seed.
func (s *Source) Streams() []connectors.Stream {
	var out []connectors.Stream
	seen := map[string]bool{}
	for _, raw := range s.cfg.Seeds {
		seed, err := Canonical(raw, s.cfg.SortQuery)
		if err != nil || seen[seed] {
			continue // Validate refused it; a duplicate is one stream
		}
		seen[seed] = true
		out = append(out, connectors.Stream{ID: "seed:" + seed, Kind: KindSeed, Params: map[string]string{
			"seed":      seed,
			"depth":     strconv.Itoa(s.cfg.MaxDepth),
			"max_pages": strconv.Itoa(s.cfg.MaxPages),
		}})
	}
	return out
}

// jobParams are the params a crawl job may carry.
var jobParams = []string{"seed", "depth", "max_pages"}

// StreamForJob implements connectors.Source: a "crawl" job (params seed,
// and optionally depth, max 16, and max_pages, max 2000; the configured
// max_depth and max_pages by default) is a finite crawl.
func (s *Source) StreamForJob(job *fairstreampb.Job) (connectors.Stream, error) {
	refuse := func(format string, a ...any) (connectors.Stream, error) {
		return connectors.Stream{}, fmt.Errorf("%w: %s", connectors.ErrUnsupportedJob, fmt.Sprintf(format, a...))
	}
	if job.GetKind() != KindCrawl {
		return refuse("the web connector serves %q jobs (params seed, depth, max_pages), not %q", KindCrawl, job.GetKind())
	}
	params := job.GetParams()
	for k := range params {
		if !slices.Contains(jobParams, k) {
			return refuse("unknown param %q (known: %s)", k, strings.Join(jobParams, ", "))
		}
	}
	seed, err := Canonical(params["seed"], s.cfg.SortQuery)
	if err != nil {
		return refuse("param seed: %v", err)
	}
	depth, err := intParam(params, "depth", s.cfg.MaxDepth, 0, MaxDepthLimit)
	if err != nil {
		return refuse("%v", err)
	}
	pages, err := intParam(params, "max_pages", s.cfg.MaxPages, 1, MaxPagesLimit)
	if err != nil {
		return refuse("%v", err)
	}
	return connectors.Stream{ID: "crawl:" + seed, Kind: KindCrawl, Params: map[string]string{
		"seed": seed, "depth": strconv.Itoa(depth), "max_pages": strconv.Itoa(pages),
	}}, nil
}

func intParam(params map[string]string, key string, def, lo, hi int) (int, error) {
	v, ok := params[key]
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("param %s: must be an integer between %d and %d, got %q", key, lo, hi, v)
	}
	return n, nil
}

// crawlSpec is what a stream asks: where to start and how far to go.
type crawlSpec struct {
	seed     string
	seedURL  *url.URL
	depth    int
	maxPages int
	recrawl  bool
}

func (s *Source) spec(st connectors.Stream) (crawlSpec, error) {
	seed, err := Canonical(st.Params["seed"], s.cfg.SortQuery)
	if err != nil {
		return crawlSpec{}, fmt.Errorf("stream %s: seed: %w", st.ID, err)
	}
	u, _ := url.Parse(seed)
	depth, err := intParam(st.Params, "depth", s.cfg.MaxDepth, 0, MaxDepthLimit)
	if err != nil {
		return crawlSpec{}, fmt.Errorf("stream %s: %w", st.ID, err)
	}
	pages, err := intParam(st.Params, "max_pages", s.cfg.MaxPages, 1, MaxPagesLimit)
	if err != nil {
		return crawlSpec{}, fmt.Errorf("stream %s: %w", st.ID, err)
	}
	return crawlSpec{seed: seed, seedURL: u, depth: depth, maxPages: pages, recrawl: st.Kind != KindCrawl}, nil
}

// hostAllowed reports whether a crawl of spec (with extra hosts its seed
// redirected to) may fetch from host (canonical, with a port if not the
// default).
func (s *Source) hostAllowed(spec crawlSpec, extra []string, u *url.URL) bool {
	if u.Host == spec.seedURL.Host || slices.Contains(extra, u.Host) {
		return true
	}
	name := u.Hostname()
	for _, p := range s.allowed {
		if rest, ok := strings.CutPrefix(p, "*."); ok {
			if strings.HasSuffix(name, "."+rest) {
				return true
			}
			continue
		}
		if strings.Contains(p, ":") && !strings.HasSuffix(p, "]") {
			if u.Host == p {
				return true
			}
			continue
		}
		if name == strings.Trim(p, "[]") {
			return true
		}
	}
	return false
}
