package twitter_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/connectors/twitter"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

func TestConfig(t *testing.T) {
	if err := twitter.DefaultConfig().Validate(); err != nil {
		t.Fatalf("a disabled connector without a token: %v", err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*twitter.Config)
		want   string
	}{
		{"no token", func(c *twitter.Config) { c.BearerToken = "" }, "connectors.twitter.bearer_token: required"},
		{"blank token", func(c *twitter.Config) { c.BearerToken = "  " }, "connectors.twitter.bearer_token: required"},
		{"Bearer prefix", func(c *twitter.Config) { c.BearerToken = "Bearer " + token }, "connectors.twitter.bearer_token: give the token alone"},
		{"page size", func(c *twitter.Config) { c.MaxResults = 5 }, "connectors.twitter.max_results: must be between 10 and 100, got 5"},
		{"API URL", func(c *twitter.Config) { c.APIURL = "api.x.com" }, "connectors.twitter.api_url"},
		{"empty query", func(c *twitter.Config) { c.Queries = []string{"#FairAI", " "} }, "connectors.twitter.queries[1]: must not be empty"},
		{"bad user", func(c *twitter.Config) { c.Users = []string{"ok_name", "not a name"} }, `connectors.twitter.users[1]: "not a name"`},
		{"long username", func(c *twitter.Config) { c.Users = []string{"a_username_too_long"} }, "connectors.twitter.users[0]"},
		{"bad WOEID", func(c *twitter.Config) { c.WOEIDs = []int64{1, 0} }, "connectors.twitter.woeids[1]: must be > 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fixtureConfig("https://api.x.com")
			tc.mutate(&cfg)
			_, err := twitter.New(cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error containing %q", err, tc.want)
			}
			if cfg.BearerToken != "" && strings.TrimSpace(cfg.BearerToken) != "" && strings.Contains(err.Error(), token) {
				t.Fatalf("the error shows the token: %v", err)
			}
		})
	}
}

func TestStreamIDs(t *testing.T) {
	long := "(#FairAI OR #OpenData OR \"fair data\" OR \"data provenance\") lang:en -is:retweet -is:reply has:links"
	cfg := fixtureConfig("https://api.x.com")
	cfg.Queries = []string{fixtureQuery, long, fixtureQuery}
	cfg.Users = []string{"@Ada_Lovelace_AI", "ada_lovelace_ai", adaID, "@1234"}
	cfg.WOEIDs = []int64{1, 23424977, 1}
	s, err := twitter.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, st := range s.Streams() {
		ids = append(ids, st.ID)
	}
	hashed := twitter.SearchStreamID(long)
	want := []string{"search:" + fixtureQuery, hashed, "timeline:@ada_lovelace_ai", "timeline:" + adaID, "timeline:@1234", "profiles", "trends:1", "trends:23424977"}
	if strings.Join(ids, "|") != strings.Join(want, "|") {
		t.Fatalf("streams\n%q\nwant\n%q", ids, want)
	}
	if !strings.HasPrefix(hashed, "search-sha256:") || len(hashed) != len("search-sha256:")+24 || hashed != twitter.SearchStreamID(long) ||
		hashed == twitter.SearchStreamID(long+" ") {
		t.Errorf("hashed stream ID %q", hashed)
	}
	st := s.Streams()[1]
	if st.Params["query"] != long {
		t.Errorf("the long query's stream holds %q", st.Params["query"])
	}
	prof := s.Streams()[5]
	if prof.Params["usernames"] != "ada_lovelace_ai,1234" || prof.Params["ids"] != adaID {
		t.Errorf("profiles params: %v", prof.Params)
	}
}

// A since_id from before the recent search's 7-day window is refused with
// a 400; the search goes on without it.
func TestStaleSinceID(t *testing.T) {
	s, f := setup(t, nil)
	st := streamByID(t, s, "search:"+fixtureQuery)
	page, err := s.Fetch(context.Background(), st, connectors.Position{"since_id": "1700000000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.Requests()
	if len(reqs) != 2 || !strings.Contains(reqs[0], "since_id=1700000000000000000") || strings.Contains(reqs[1], "since_id") {
		t.Fatalf("requests: %v", reqs)
	}
	if len(page.Events) != 4 || page.Next["next_token"] != searchToken1 || page.Next["since_id"] != "" {
		t.Fatalf("%d events, next %v", len(page.Events), page.Next)
	}
}

// An expired next_token is refused with a 400; the walk goes on below the
// oldest post it saw (until_id), without a duplicate or a gap.
func TestExpiredNextToken(t *testing.T) {
	s, f := setup(t, nil)
	st := streamByID(t, s, "search:"+fixtureQuery)
	first, err := s.Fetch(context.Background(), st, connectors.Position{})
	if err != nil {
		t.Fatal(err)
	}
	f.expire(searchToken1)
	rest := walk(t, s, st, first.Next)
	reqs := f.Requests()
	if len(reqs) != 4 || !strings.Contains(reqs[1], "next_token="+searchToken1) || !strings.Contains(reqs[2], "until_id="+idQuote) ||
		strings.Contains(reqs[2], "next_token") || !strings.Contains(reqs[3], "until_id="+idQuote) || !strings.Contains(reqs[3], "next_token="+searchToken2) {
		t.Fatalf("requests:\n%s", strings.Join(reqs, "\n"))
	}
	all := tweets(t, append([]connectors.Page{first}, rest...))
	if len(all) != 11 {
		t.Fatalf("%d posts, want 11", len(all))
	}
	if p := rest[len(rest)-1].Next; len(p) != 1 || p["since_id"] != idEpoch {
		t.Errorf("after the walk: %v", p)
	}

	// A cursor left for weeks: both its since_id and its token are
	// refused, one after the other.
	stale := connectors.Position{"since_id": "1700000000000000000", "next_token": searchToken1, "cycle_newest": idEpoch, "cycle_oldest": idQuote}
	page, err := s.Fetch(context.Background(), st, stale)
	if err != nil {
		t.Fatal(err)
	}
	reqs = f.Requests()[4:]
	if got := tweets(t, []connectors.Page{page}); len(reqs) != 3 || len(got) != 4 || got[idReply] == nil ||
		page.Next["since_id"] != "" || page.Next["until_id"] != idQuote || page.Next["next_token"] != searchToken2 {
		t.Errorf("stale cursor: %d posts, next %v, requests\n%s", len(got), page.Next, strings.Join(reqs, "\n"))
	}
}

// A 200 answer with an errors array: what it returned is kept; an answer
// with errors alone is an unusable response naming them.
func TestPartialErrors(t *testing.T) {
	s, f := setup(t, func(c *twitter.Config) {
		c.Users = []string{"fairstream_dev", "suspended_acct", "nobody_here_42", suspendedID}
		c.WOEIDs = []int64{999}
	})
	prof := walk(t, s, streamByID(t, s, "profiles"), connectors.Position{})
	var keys []string
	for _, p := range prof {
		for _, e := range p.Events {
			keys = append(keys, e.Key)
		}
	}
	if len(keys) != 1 || keys[0] != fairstreamID {
		t.Errorf("profiles written: %v; requests %v", keys, f.Requests())
	}
	for _, tc := range []struct{ stream, want string }{
		{"timeline:@suspended_acct", "User has been suspended: [suspended_acct]."},
		{"timeline:@nobody_here_42", "Could not find user with usernames: [nobody_here_42]."},
		{"timeline:" + suspendedID, "User has been suspended: [" + suspendedID + "]."},
		{"trends:999", "Could not find trends for woeid: [999]."},
	} {
		_, err := s.Fetch(context.Background(), streamByID(t, s, tc.stream), connectors.Position{})
		var re *connectors.ResponseError
		if !errors.As(err, &re) || re.StatusCode != 200 || !strings.Contains(re.Err.Error(), tc.want) || !strings.Contains(re.Snippet, tc.want) {
			t.Errorf("%s: %v, want a response error naming %q", tc.stream, err, tc.want)
		}
	}
}

func TestJobs(t *testing.T) {
	s, f := setup(t, func(c *twitter.Config) { c.Queries, c.Users, c.WOEIDs = nil, nil, nil })
	if len(s.Streams()) != 0 {
		t.Fatalf("streams without configuration: %v", s.Streams())
	}
	job := func(kind string, params map[string]string) connectors.Stream {
		t.Helper()
		st, err := s.StreamForJob(&fairstreampb.Job{Id: "j-" + kind, Connector: twitter.Name, Kind: kind, Params: params})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	count := func(pages []connectors.Page) int {
		n := 0
		for _, p := range pages {
			n += len(p.Events)
		}
		return n
	}

	search := walk(t, s, job("search", map[string]string{"query": fixtureQuery, "start_time": "2025-11-24T00:00:00+01:00"}), nil)
	if len(search) != 3 || !search[2].Done || search[1].Done || count(search) != 11 {
		t.Errorf("search job: %d pages, %d posts, done %v", len(search), count(search), search[len(search)-1].Done)
	}
	u, _ := url.Parse(f.Requests()[0])
	if u.Query().Get("start_time") != "2025-11-23T23:00:00Z" {
		t.Errorf("search job request %s", u)
	}
	bounded := walk(t, s, job("search", map[string]string{"query": fixtureQuery, "since_id": idVideo}), nil)
	if got := tweets(t, bounded); len(got) != 5 || got[idVideo] != nil || got[idReply] == nil || !bounded[len(bounded)-1].Done {
		t.Errorf("search job since %s: %d posts", idVideo, len(got))
	}

	timeline := walk(t, s, job("timeline", map[string]string{"username": "@ada_lovelace_ai"}), nil)
	if len(timeline) != 1 || !timeline[0].Done || count(timeline) != 3 {
		t.Errorf("timeline job: %d pages, %d posts", len(timeline), count(timeline))
	}
	profiles := walk(t, s, job("profiles", map[string]string{"usernames": "kenji_data, layla_ai", "ids": fairstreamID}), nil)
	if len(profiles) != 2 || !profiles[1].Done || count(profiles) != 3 {
		t.Errorf("profiles job: %d pages, %d profiles", len(profiles), count(profiles))
	}
	trends := walk(t, s, job("trends", map[string]string{"woeid": "23424977"}), nil)
	if len(trends) != 1 || !trends[0].Done || count(trends) != 3 {
		t.Errorf("trends job: %d pages, %d trends", len(trends), count(trends))
	}

	for _, tc := range []struct {
		kind   string
		params map[string]string
		want   string
	}{
		{"stream", nil, "unknown kind"},
		{"search", map[string]string{"query": " "}, "query param is required"},
		{"search", map[string]string{"query": "x", "start_time": "yesterday"}, "start_time"},
		{"search", map[string]string{"query": "x", "since_id": "abc"}, "since_id"},
		{"timeline", map[string]string{"username": "not a name"}, "user_id"},
		{"profiles", map[string]string{}, "usernames or ids"},
		{"trends", map[string]string{"woeid": "-3"}, "woeid"},
	} {
		_, err := s.StreamForJob(&fairstreampb.Job{Id: "bad", Connector: twitter.Name, Kind: tc.kind, Params: tc.params})
		if !errors.Is(err, connectors.ErrUnsupportedJob) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s job %v: %v, want ErrUnsupportedJob naming %q", tc.kind, tc.params, err, tc.want)
		}
	}
}

// The X API's own 429 (x-rate-limit-remaining: 0, x-rate-limit-reset, and
// its problem body) is waited out by the client.
func TestRateLimited(t *testing.T) {
	s, f := setup(t, nil)
	f.limitNext(1)
	page, err := s.Fetch(context.Background(), streamByID(t, s, "trends:1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 5 || len(f.Requests()) != 2 {
		t.Fatalf("%d events after %d requests", len(page.Events), len(f.Requests()))
	}
}

func TestRefusedToken(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(f)
	defer srv.Close()
	cfg := fixtureConfig(srv.URL)
	cfg.BearerToken = "AAAAAAAAAAAAAAAAAAAAAWrongWrongWrong%3DWrongWrongWrong"
	s, err := twitter.New(cfg, connectors.NewClient(connectors.DefaultHTTPConfig(), srv.Client(), nil))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Fetch(context.Background(), s.Streams()[0], nil)
	if !errors.Is(err, connectors.ErrAuth) || !strings.Contains(err.Error(), twitter.Setting) || strings.Contains(err.Error(), cfg.BearerToken) {
		t.Fatalf("refused token: %v", err)
	}
}

// A response that echoes the token (a misbehaving proxy's error page) is
// recorded without it.
func TestTokenRedacted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><body>bad gateway for " + r.Header.Get("Authorization") + "</body></html>"))
	}))
	defer srv.Close()
	s, err := twitter.New(fixtureConfig(srv.URL), connectors.NewClient(connectors.DefaultHTTPConfig(), srv.Client(), nil))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Fetch(context.Background(), s.Streams()[0], nil)
	var re *connectors.ResponseError
	if !errors.As(err, &re) || strings.Contains(err.Error(), token) || strings.Contains(re.Snippet, token) ||
		!strings.Contains(re.Snippet, "Bearer <bearer_token>") {
		t.Fatalf("%v", err)
	}
}
