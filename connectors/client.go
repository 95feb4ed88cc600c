package connectors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// HTTPConfig tunes the HTTP client every connector uses.
type HTTPConfig struct {
	// Timeout bounds one request, body included.
	Timeout time.Duration `mapstructure:"timeout"`
	// MaxRetries is how many times a 429, a 5xx or a network error is
	// retried before the request fails.
	MaxRetries     int           `mapstructure:"max_retries"`
	BackoffInitial time.Duration `mapstructure:"backoff_initial"`
	BackoffMax     time.Duration `mapstructure:"backoff_max"`
	// MaxInlineWait is the longest rate-limit wait taken inside a request;
	// a longer one is handed back to the worker, which fetches other
	// streams meanwhile.
	MaxInlineWait time.Duration `mapstructure:"max_inline_wait"`
	// MaxBodyBytes caps a response body; a longer one is an unusable
	// response.
	MaxBodyBytes int64  `mapstructure:"max_body_bytes"`
	UserAgent    string `mapstructure:"user_agent"`
}

// DefaultHTTPConfig returns the defaults.
func DefaultHTTPConfig() HTTPConfig {
	return HTTPConfig{
		Timeout:        30 * time.Second,
		MaxRetries:     4,
		BackoffInitial: time.Second,
		BackoffMax:     2 * time.Minute,
		MaxInlineWait:  30 * time.Second,
		MaxBodyBytes:   32 << 20,
		UserAgent:      "fairstream/1 (+https://github.com/fairstream/fairstream)",
	}
}

// Validate reports invalid settings, naming their keys.
func (c HTTPConfig) Validate() error {
	var errs []error
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout: must be > 0, got %s", c.Timeout))
	}
	if c.MaxRetries < 0 {
		errs = append(errs, fmt.Errorf("max_retries: must be >= 0, got %d", c.MaxRetries))
	}
	if c.BackoffInitial <= 0 || c.BackoffMax < c.BackoffInitial {
		errs = append(errs, fmt.Errorf("backoff_initial, backoff_max: need 0 < backoff_initial <= backoff_max, got %s and %s", c.BackoffInitial, c.BackoffMax))
	}
	if c.MaxInlineWait < 0 {
		errs = append(errs, fmt.Errorf("max_inline_wait: must be >= 0, got %s", c.MaxInlineWait))
	}
	if c.MaxBodyBytes < 1024 {
		errs = append(errs, fmt.Errorf("max_body_bytes: must be >= 1024, got %d", c.MaxBodyBytes))
	}
	if c.UserAgent == "" {
		errs = append(errs, errors.New("user_agent: must not be empty"))
	}
	return errors.Join(errs...)
}

// RateLimitError says the source asked the connector to wait until Until,
// longer than the client waits inside a request.
type RateLimitError struct {
	URL   string
	Until time.Time
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("rate limited by %s until %s", e.URL, e.Until.UTC().Format(time.RFC3339))
}

// AuthError is a 401 or 403 answer; it wraps ErrAuth. A source for which a
// 403 means "not this resource" rather than "not these credentials" (a
// Discord channel the bot may not read) can turn it into a ResponseError.
type AuthError struct {
	Method      string
	URL         string
	StatusCode  int
	Setting     string
	ContentType string
	Body        string
}

func (e *AuthError) Error() string {
	setting := ""
	if e.Setting != "" {
		setting = "; check " + e.Setting
	}
	// The query string says nothing about credentials, and X's is long.
	u, _, _ := strings.Cut(e.URL, "?")
	return fmt.Sprintf("%v: %s %s answered %d %s%s: %s", ErrAuth, e.Method, u, e.StatusCode,
		http.StatusText(e.StatusCode), setting, Snippet([]byte(e.Body), 200))
}

func (e *AuthError) Unwrap() error { return ErrAuth }

// Request is one HTTP request.
type Request struct {
	Method string // GET if empty
	URL    string
	Header http.Header
	Body   []byte
	// Setting names the configuration key of the credentials, for the
	// error a 401 or 403 gives ("connectors.twitter.bearer_token").
	Setting string
}

// Response is a response read whole.
type Response struct {
	URL        string
	StatusCode int
	Header     http.Header
	Body       []byte
}

// Client is an HTTP client that honours rate limits. It is safe for
// concurrent use.
type Client struct {
	http *http.Client
	cfg  HTTPConfig
	log  *slog.Logger

	mu        sync.Mutex
	notBefore map[string]time.Time // per window (windowKey), from exhausted rate limits
}

// NewClient returns a client. A nil hc uses a default transport.
func NewClient(cfg HTTPConfig, hc *http.Client, log *slog.Logger) *Client {
	if hc == nil {
		hc = &http.Client{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{http: hc, cfg: cfg, log: log, notBefore: map[string]time.Time{}}
}

func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.BackoffInitial << min(attempt-1, 20)
	if d <= 0 || d > c.cfg.BackoffMax {
		d = c.cfg.BackoffMax
	}
	return d/2 + rand.N(d/2+1)
}

// Sleep waits d or until ctx ends, whichever is first; it returns ctx's
// error when ctx ended (at once for d <= 0 on an ended ctx).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Do sends req, retrying 429s, 5xx and network errors with backoff, and
// returns the response of any other status. 401 and 403 wrap ErrAuth.
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	u, err := url.Parse(req.URL)
	if err != nil {
		return nil, fmt.Errorf("request URL %q: %w", req.URL, err)
	}
	host := windowKey(u)
	for attempt := 1; ; attempt++ {
		if err := c.waitHost(ctx, host, req.URL); err != nil {
			return nil, err
		}
		resp, err := c.once(ctx, method, req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			var re *ResponseError
			if errors.As(err, &re) {
				return nil, err
			}
			if attempt > c.cfg.MaxRetries {
				return nil, fmt.Errorf("%s %s: %w (after %d attempts)", method, req.URL, err, attempt)
			}
			wait := c.backoff(attempt)
			c.log.Warn("request failed, retrying", "url", req.URL, "attempt", attempt, "backoff", wait, "err", err)
			if err := Sleep(ctx, wait); err != nil {
				return nil, err
			}
			continue
		}
		c.noteLimits(host, resp)
		switch {
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return nil, &AuthError{Method: method, URL: req.URL, StatusCode: resp.StatusCode, Setting: req.Setting,
				ContentType: resp.Header.Get("Content-Type"), Body: Snippet(resp.Body, 512)}
		case resp.StatusCode == http.StatusTooManyRequests:
			wait, ok := RetryAfter(resp.Header, resp.Body, time.Now())
			if !ok {
				wait = c.backoff(attempt)
			}
			wait += rand.N(wait/5 + time.Millisecond) // jitter: replicas do not retry in step
			if wait > c.cfg.MaxInlineWait || attempt > c.cfg.MaxRetries {
				until := time.Now().Add(wait)
				c.setNotBefore(host, until)
				return nil, &RateLimitError{URL: req.URL, Until: until}
			}
			c.log.Warn("rate limited, waiting", "url", req.URL, "attempt", attempt, "wait", wait.Round(time.Millisecond))
			if err := Sleep(ctx, wait); err != nil {
				return nil, err
			}
		case resp.StatusCode >= 500:
			if attempt > c.cfg.MaxRetries {
				return nil, fmt.Errorf("%s %s: server error %d after %d attempts: %s", method, req.URL, resp.StatusCode, attempt, Snippet(resp.Body, 200))
			}
			wait := c.backoff(attempt)
			c.log.Warn("server error, retrying", "url", req.URL, "status", resp.StatusCode, "attempt", attempt, "backoff", wait)
			if err := Sleep(ctx, wait); err != nil {
				return nil, err
			}
		default:
			return resp, nil
		}
	}
}

func (c *Client) once(ctx context.Context, method string, req Request) (*Response, error) {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hreq, err := http.NewRequestWithContext(rctx, method, req.URL, body)
	if err != nil {
		return nil, err
	}
	for k, vs := range req.Header {
		for _, v := range vs {
			hreq.Header.Add(k, v)
		}
	}
	if hreq.Header.Get("User-Agent") == "" {
		hreq.Header.Set("User-Agent", c.cfg.UserAgent)
	}
	hresp, err := c.http.Do(hreq)
	if err != nil {
		return nil, err
	}
	defer hresp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(hresp.Body, c.cfg.MaxBodyBytes+1))
	resp := &Response{URL: req.URL, StatusCode: hresp.StatusCode, Header: hresp.Header, Body: b}
	if err != nil {
		return nil, &ResponseError{URL: req.URL, StatusCode: hresp.StatusCode, ContentType: hresp.Header.Get("Content-Type"),
			Snippet: Snippet(b, 512), Err: fmt.Errorf("truncated body: %w", err)}
	}
	if int64(len(b)) > c.cfg.MaxBodyBytes {
		return nil, &ResponseError{URL: req.URL, StatusCode: hresp.StatusCode, ContentType: hresp.Header.Get("Content-Type"),
			Snippet: Snippet(b, 512), Err: fmt.Errorf("body over %d bytes (http.max_body_bytes)", c.cfg.MaxBodyBytes)}
	}
	return resp, nil
}

// windowKey names the rate-limit window a request counts against: the host
// and the path with its numeric segments (IDs) generalised. Sources such as
// the X API keep one window per endpoint, not per host, so an exhausted
// search window must not hold up timelines.
func windowKey(u *url.URL) string {
	parts := strings.Split(u.Path, "/")
	for i, p := range parts {
		if p != "" && strings.Trim(p, "0123456789") == "" {
			parts[i] = "{id}"
		}
	}
	return u.Host + strings.Join(parts, "/")
}

// waitHost waits out an exhausted rate-limit window, or hands a long one
// back as a RateLimitError.
func (c *Client) waitHost(ctx context.Context, host, u string) error {
	c.mu.Lock()
	until := c.notBefore[host]
	c.mu.Unlock()
	wait := time.Until(until)
	if wait <= 0 {
		return nil
	}
	if wait > c.cfg.MaxInlineWait {
		return &RateLimitError{URL: u, Until: until}
	}
	return Sleep(ctx, wait)
}

func (c *Client) setNotBefore(host string, t time.Time) {
	c.mu.Lock()
	if t.After(c.notBefore[host]) {
		c.notBefore[host] = t
	}
	c.mu.Unlock()
}

// noteLimits remembers a rate-limit window the response says is exhausted
// (X-RateLimit-Remaining: 0), so that the next request waits for its reset
// instead of earning a 429.
func (c *Client) noteLimits(host string, resp *Response) {
	rem := firstHeader(resp.Header, "x-rate-limit-remaining", "x-ratelimit-remaining")
	if rem == "" {
		return
	}
	if n, err := strconv.ParseFloat(rem, 64); err != nil || n > 0 {
		return
	}
	if wait, ok := resetIn(resp.Header, time.Now()); ok {
		c.setNotBefore(host, time.Now().Add(wait))
	}
}

func firstHeader(h http.Header, names ...string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// resetIn reads when a rate-limit window resets: X-RateLimit-Reset-After
// (seconds, Discord) or x-rate-limit-reset / X-RateLimit-Reset (Unix time,
// X API).
func resetIn(h http.Header, now time.Time) (time.Duration, bool) {
	if v := h.Get("X-RateLimit-Reset-After"); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			return time.Duration(s * float64(time.Second)), true
		}
	}
	if v := firstHeader(h, "x-rate-limit-reset", "X-RateLimit-Reset"); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil {
			if d := time.Unix(0, int64(s*1e9)).Sub(now); d >= 0 {
				return d, true
			}
			return 0, true
		}
	}
	return 0, false
}

// RetryAfter reads how long a 429 asks to wait: the Retry-After header
// (seconds or an HTTP date), the rate-limit reset headers, or retry_after in
// a JSON body (Discord: {"retry_after": 1.5}; Telegram:
// {"parameters": {"retry_after": 3}}).
func RetryAfter(h http.Header, body []byte, now time.Time) (time.Duration, bool) {
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			return time.Duration(s * float64(time.Second)), true
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0), true
		}
	}
	if d, ok := resetIn(h, now); ok {
		return d, true
	}
	var j struct {
		RetryAfter *float64 `json:"retry_after"`
		Parameters struct {
			RetryAfter *float64 `json:"retry_after"`
		} `json:"parameters"`
	}
	if json.Unmarshal(body, &j) == nil {
		for _, s := range []*float64{j.RetryAfter, j.Parameters.RetryAfter} {
			if s != nil && *s >= 0 {
				return time.Duration(*s * float64(time.Second)), true
			}
		}
	}
	return 0, false
}

// GetJSON sends req and decodes a 2xx JSON body into v. A body that is not
// JSON (an HTML error page, a truncated document) is a *ResponseError with
// a snippet of it; so is any other status.
func (c *Client) GetJSON(ctx context.Context, req Request, v any) (*Response, error) {
	resp, err := c.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	ct := resp.Header.Get("Content-Type")
	bad := func(err error) (*Response, error) {
		return resp, &ResponseError{URL: req.URL, StatusCode: resp.StatusCode, ContentType: ct, Snippet: Snippet(resp.Body, 512), Err: err}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return bad(fmt.Errorf("status %d %s", resp.StatusCode, http.StatusText(resp.StatusCode)))
	}
	if mt, _, _ := mime.ParseMediaType(ct); ct != "" && mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return bad(fmt.Errorf("content type %q, want JSON", ct))
	}
	if err := json.Unmarshal(resp.Body, v); err != nil {
		return bad(fmt.Errorf("malformed JSON: %w", err))
	}
	return resp, nil
}

// Snippet returns the start of a body, at most n bytes, as valid text.
func Snippet(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
		// Do not leave half a character at the cut.
		for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
			if utf8.RuneStart(b[i]) {
				if !utf8.FullRune(b[i:]) {
					b = b[:i]
				}
				break
			}
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
