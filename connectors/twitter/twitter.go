// Package twitter is the X (Twitter) connector: the X API v2 with an app's
// bearer token.
//
// It follows four kinds of stream:
//
//   - recent search (GET /2/tweets/search/recent), one stream per configured
//     query, the query's operators passed through unchanged;
//   - user timelines (GET /2/users/:id/tweets), one per configured account;
//   - user lookup (GET /2/users/by, GET /2/users): the configured accounts'
//     profiles, looked up each poll and written when they changed;
//   - trends by place (GET /2/trends/by/woeid/:woeid), written when the list
//     changed.
//
// Tweets carry their expansions folded in: the author, the attached media
// and the referenced (quoted, replied-to, retweeted) tweets. A search or a
// timeline walks its pages from the newest (next_token, pagination_token)
// and then asks only for what is newer than the newest tweet it saw
// (since_id). Data requests (jobs) of kind search, timeline, profiles and
// trends are served as finite streams.
//
// Rate limits (x-rate-limit-* headers, 429 answers) are honoured by
// connectors.Client; a 200 answer carrying an errors array (a deleted
// referenced tweet, a suspended account) keeps what it did return.
//
// Refetch looks one post up again (GET /2/tweets) for the validator.
package twitter

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// Name is the connector's name.
const Name = "twitter"

// Topics its events go to.
const (
	// TweetTopic holds RawTweet events, keyed by tweet ID.
	TweetTopic = "raw.twitter.v1"
	// TrendTopic holds RawTwitterTrend events, keyed by WOEID.
	TrendTopic = "raw.twitter.trends.v1"
	// ProfileTopic holds RawTwitterProfile events, keyed by user ID.
	ProfileTopic = "raw.twitter.profiles.v1"
)

// Setting is the configuration key of the credentials, named by the errors
// a refused token gives.
const Setting = "connectors.twitter.bearer_token"

// Stream kinds, which are also the job kinds served.
const (
	KindSearch   = "search"
	KindTimeline = "timeline"
	KindProfiles = "profiles"
	KindTrends   = "trends"
)

// Config configures the connector.
type Config struct {
	// Enabled runs it in `fairstream dev`.
	Enabled bool `mapstructure:"enabled"`
	// BearerToken is the app-only bearer token of an X developer app.
	BearerToken string `mapstructure:"bearer_token" secret:"true"`
	// APIURL is the X API's base URL; tests point it at a fixture server.
	APIURL string `mapstructure:"api_url"`
	// Queries are recent-search queries, with X's operators
	// ("#FairAI -is:retweet lang:en").
	Queries []string `mapstructure:"queries"`
	// Users are accounts whose timelines and profiles are followed: a
	// username ("fairstream_dev" or "@fairstream_dev") or a numeric user
	// ID. Write a username made only of digits with its "@".
	Users []string `mapstructure:"users"`
	// WOEIDs are the places whose trends are followed (1 is worldwide).
	WOEIDs []int64 `mapstructure:"woeids"`
	// MaxResults is the page size of searches and timelines (10 to 100).
	MaxResults int `mapstructure:"max_results"`
}

// DefaultConfig returns the defaults; the token must be set.
func DefaultConfig() Config {
	return Config{APIURL: "https://api.x.com", MaxResults: 100}
}

var (
	usernameRE = regexp.MustCompile(`^@?[A-Za-z0-9_]{1,15}$`)
	userIDRE   = regexp.MustCompile(`^[0-9]{1,20}$`)
)

// maxQueryLen is the longest query any X API access level accepts.
const maxQueryLen = 4096

// Validate reports invalid settings, naming their keys. An empty token is
// valid for a disabled connector.
func (c Config) Validate() error {
	var errs []error
	if c.Enabled || c.BearerToken != "" {
		switch tok := c.BearerToken; {
		case strings.TrimSpace(tok) == "":
			errs = append(errs, errors.New("bearer_token: required: the bearer token of an X developer app (developer portal → Projects & Apps → your app → Keys and tokens); set FAIRSTREAM_CONNECTORS_TWITTER_BEARER_TOKEN"))
		case strings.HasPrefix(strings.ToLower(tok), "bearer "):
			errs = append(errs, errors.New(`bearer_token: give the token alone, without the "Bearer " prefix`))
		case strings.ContainsAny(tok, " \t\r\n"):
			errs = append(errs, errors.New("bearer_token: must not contain spaces or line breaks"))
		}
	}
	if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("api_url: %q is not an http(s) URL", c.APIURL))
	}
	for i, q := range c.Queries {
		switch {
		case strings.TrimSpace(q) == "":
			errs = append(errs, fmt.Errorf("queries[%d]: must not be empty", i))
		case len(q) > maxQueryLen:
			errs = append(errs, fmt.Errorf("queries[%d]: %d bytes, longer than the X API's longest query (%d)", i, len(q), maxQueryLen))
		}
	}
	for i, u := range c.Users {
		if !usernameRE.MatchString(u) && !userIDRE.MatchString(u) {
			errs = append(errs, fmt.Errorf("users[%d]: %q is neither a username (up to 15 letters, digits or _) nor a numeric user ID", i, u))
		}
	}
	for i, w := range c.WOEIDs {
		if w <= 0 {
			errs = append(errs, fmt.Errorf("woeids[%d]: must be > 0, got %d", i, w))
		}
	}
	if c.MaxResults < 10 || c.MaxResults > 100 {
		errs = append(errs, fmt.Errorf("max_results: must be between 10 and 100, got %d", c.MaxResults))
	}
	return errors.Join(errs...)
}

// Source is the X connector.
type Source struct {
	cfg    Config
	client *connectors.Client

	mu  sync.Mutex
	ids map[string]string // lower-cased username → user ID, from lookups
}

var _ connectors.Source = (*Source)(nil)

// New returns the connector; it refuses a configuration without a bearer
// token. A nil client uses connectors.DefaultHTTPConfig.
func New(cfg Config, client *connectors.Client) (*Source, error) {
	cfg.Enabled = true
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("twitter: %w", connectors.PrefixSetting("connectors.twitter.", err))
	}
	if client == nil {
		client = connectors.NewClient(connectors.DefaultHTTPConfig(), nil, nil)
	}
	return &Source{cfg: cfg, client: client, ids: map[string]string{}}, nil
}

// Name implements connectors.Source.
func (s *Source) Name() string { return Name }

// account is a configured user: a username or a user ID.
type account struct{ username, id string }

func parseAccount(u string) account {
	if userIDRE.MatchString(u) {
		return account{id: u}
	}
	return account{username: strings.ToLower(strings.TrimPrefix(u, "@"))}
}

// Streams implements connectors.Source: one stream per query, per account's
// timeline and per place, and one for the accounts' profiles.
func (s *Source) Streams() []connectors.Stream {
	var out []connectors.Stream
	seen := map[string]bool{}
	add := func(st connectors.Stream) {
		if !seen[st.ID] {
			seen[st.ID] = true
			out = append(out, st)
		}
	}
	for _, q := range s.cfg.Queries {
		add(connectors.Stream{ID: SearchStreamID(q), Kind: KindSearch, Params: map[string]string{"query": q}})
	}
	var names, ids []string
	for _, u := range s.cfg.Users {
		a := parseAccount(u)
		if a.id != "" {
			add(connectors.Stream{ID: "timeline:" + a.id, Kind: KindTimeline, Params: map[string]string{"user_id": a.id}})
			if !slices.Contains(ids, a.id) {
				ids = append(ids, a.id)
			}
		} else {
			add(connectors.Stream{ID: "timeline:@" + a.username, Kind: KindTimeline, Params: map[string]string{"username": a.username}})
			if !slices.Contains(names, a.username) {
				names = append(names, a.username)
			}
		}
	}
	if len(names)+len(ids) > 0 {
		add(connectors.Stream{ID: "profiles", Kind: KindProfiles,
			Params: map[string]string{"usernames": strings.Join(names, ","), "ids": strings.Join(ids, ",")}})
	}
	for _, w := range s.cfg.WOEIDs {
		ws := strconv.FormatInt(w, 10)
		add(connectors.Stream{ID: "trends:" + ws, Kind: KindTrends, Params: map[string]string{"woeid": ws}})
	}
	return out
}

// SearchStreamID is the stream ID of a search query: "search:<query>", or
// "search-sha256:<hash>" for a query too long or too odd to be a readable
// key.
func SearchStreamID(q string) string {
	if len(q) <= 64 && !strings.ContainsFunc(q, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "search:" + q
	}
	h := sha256.Sum256([]byte(q))
	return "search-sha256:" + hex.EncodeToString(h[:12])
}

// StreamForJob implements connectors.Source. Kinds and their params:
//
//   - search: query (required); start_time, end_time (RFC 3339), since_id,
//     until_id (optional);
//   - timeline: user_id or username;
//   - profiles: usernames and/or ids, comma-separated;
//   - trends: woeid.
//
// A job's stream walks what there is now and is then done.
func (s *Source) StreamForJob(job *fairstreampb.Job) (connectors.Stream, error) {
	p := job.GetParams()
	bad := func(format string, args ...any) (connectors.Stream, error) {
		return connectors.Stream{}, fmt.Errorf("%w: twitter %s job: %s", connectors.ErrUnsupportedJob, job.GetKind(), fmt.Sprintf(format, args...))
	}
	params := map[string]string{"once": "true"}
	switch job.GetKind() {
	case KindSearch:
		q := p["query"]
		if strings.TrimSpace(q) == "" {
			return bad("the query param is required")
		}
		if len(q) > maxQueryLen {
			return bad("the query is %d bytes, longer than the X API's longest query (%d)", len(q), maxQueryLen)
		}
		params["query"] = q
		for _, k := range []string{"start_time", "end_time"} {
			if v := p[k]; v != "" {
				t, err := parseTime(v)
				if err != nil {
					return bad("%s: %v", k, err)
				}
				params[k] = t
			}
		}
		for _, k := range []string{"since_id", "until_id"} {
			if v := p[k]; v != "" {
				if !userIDRE.MatchString(v) {
					return bad("%s: %q is not a post ID", k, v)
				}
				params[k] = v
			}
		}
	case KindTimeline:
		switch id, name := p["user_id"], p["username"]; {
		case id != "" && userIDRE.MatchString(id):
			params["user_id"] = id
		case id == "" && name != "" && usernameRE.MatchString(name):
			params["username"] = strings.ToLower(strings.TrimPrefix(name, "@"))
		default:
			return bad("give user_id (a numeric user ID) or username")
		}
	case KindProfiles:
		var names, ids []string
		for _, n := range splitList(p["usernames"]) {
			if !usernameRE.MatchString(n) {
				return bad("usernames: %q is not a username", n)
			}
			names = append(names, strings.ToLower(strings.TrimPrefix(n, "@")))
		}
		for _, id := range splitList(p["ids"]) {
			if !userIDRE.MatchString(id) {
				return bad("ids: %q is not a user ID", id)
			}
			ids = append(ids, id)
		}
		if len(names)+len(ids) == 0 {
			return bad("give usernames or ids (comma-separated)")
		}
		params["usernames"], params["ids"] = strings.Join(names, ","), strings.Join(ids, ",")
	case KindTrends:
		w, err := strconv.ParseInt(p["woeid"], 10, 64)
		if err != nil || w <= 0 {
			return bad("woeid: %q is not a WOEID (a positive integer; 1 is worldwide)", p["woeid"])
		}
		params["woeid"] = strconv.FormatInt(w, 10)
	default:
		return bad("unknown kind; the twitter connector serves %s, %s, %s and %s", KindSearch, KindTimeline, KindProfiles, KindTrends)
	}
	return connectors.Stream{ID: "job:" + job.GetId(), Kind: job.GetKind(), Params: params}, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Fetch implements connectors.Source.
func (s *Source) Fetch(ctx context.Context, st connectors.Stream, cur connectors.Position) (connectors.Page, error) {
	if cur == nil {
		cur = connectors.Position{}
	}
	var (
		page connectors.Page
		err  error
	)
	switch st.Kind {
	case KindSearch, KindTimeline:
		page, err = s.fetchTweets(ctx, st, cur)
	case KindProfiles:
		page, err = s.fetchProfiles(ctx, st, cur)
	case KindTrends:
		page, err = s.fetchTrends(ctx, st, cur)
	default:
		err = fmt.Errorf("twitter: stream %s: unknown kind %q", st.ID, st.Kind)
	}
	return page, s.redact(err)
}

// redact keeps the token out of errors, should a response ever echo it.
func (s *Source) redact(err error) error {
	tok := s.cfg.BearerToken
	if err == nil || tok == "" || !strings.Contains(err.Error(), tok) {
		return err
	}
	var re *connectors.ResponseError
	if errors.As(err, &re) {
		c := *re
		c.URL = strings.ReplaceAll(c.URL, tok, "<bearer_token>")
		c.Snippet = strings.ReplaceAll(c.Snippet, tok, "<bearer_token>")
		c.Err = redactedError{re.Err, tok}
		return &c
	}
	return redactedError{err, tok}
}

type redactedError struct {
	err   error
	token string
}

func (e redactedError) Error() string {
	return strings.ReplaceAll(e.err.Error(), e.token, "<bearer_token>")
}
func (e redactedError) Unwrap() error { return e.err }

// cmpID orders two post or user IDs (decimal strings of up to 20 digits).
func cmpID(a, b string) int {
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}
