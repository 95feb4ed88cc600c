package twitter_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The recorded responses in testdata/ and the accounts they cover.
const (
	token        = "AAAAAAAAAAAAAAAAAAAAAKx3fQEAAAAA7Rq0nYcT2%2BdWbFv9sLpZk4mE1aQ%3DuJ8hX2cV5nB7mK0pL3qR6sT9wY1zA4dF7gH0jM3nP6"
	fixtureQuery = `(#FairAI OR "fair data" OR 公平なAI) -is:retweet`
	fairstreamID = "1587263049180762112"
	adaID        = "887123456"
	suspendedID  = "1600000000000000001"
	// oldestSinceID stands for the recent search's 7-day window: a
	// since_id below it is refused.
	oldestSinceID = "1990000000000000000"
)

// fixture serves testdata/ the way the X API v2 does: it checks the bearer
// token and every query parameter, pages searches and timelines along their
// recorded next_token chains while honouring since_id, until_id and
// max_results, builds the includes each page's expansions ask for (with a
// partial error for a referenced post that is gone), answers user lookups
// with partial errors for suspended and unknown accounts, and sends the
// x-rate-limit-* headers.
type fixture struct {
	search    *chain
	timelines map[string]*chain // by user ID
	users     map[string]json.RawMessage
	names     map[string]string // lower-cased username → ID
	suspended map[string]bool   // lower-cased usernames and IDs
	tweets    map[string]*fxTweet
	media     map[string]json.RawMessage
	trends    map[string][]byte
	empty     []byte // a page with nothing: {"meta":{"result_count":0}}

	mu       sync.Mutex
	calls    map[string]int
	reset    int64
	requests []string
	// limited answers the next requests with X's 429.
	limited int
	// expired tokens are refused as invalid.
	expired map[string]bool
}

type chain struct {
	pages  [][]*fxTweet
	tokens []string // tokens[i] asks for pages[i]; tokens[0] is ""
}

type fxTweet struct {
	raw       json.RawMessage
	ID        string                `json:"id"`
	AuthorID  string                `json:"author_id"`
	Refs      []struct{ ID string } `json:"referenced_tweets"`
	MediaKeys struct {
		Keys []string `json:"media_keys"`
	} `json:"attachments"`
}

type recordedPage struct {
	Data     []json.RawMessage `json:"data"`
	Includes struct {
		Users  []json.RawMessage `json:"users"`
		Media  []json.RawMessage `json:"media"`
		Tweets []json.RawMessage `json:"tweets"`
	} `json:"includes"`
	Meta struct {
		NextToken string `json:"next_token"`
	} `json:"meta"`
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{timelines: map[string]*chain{}, users: map[string]json.RawMessage{}, names: map[string]string{},
		suspended: map[string]bool{suspendedID: true}, tweets: map[string]*fxTweet{}, media: map[string]json.RawMessage{},
		trends: map[string][]byte{}, calls: map[string]int{}, reset: time.Now().Add(15 * time.Minute).Unix(), expired: map[string]bool{}}
	read := func(name string, v any) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	addUser := func(raw json.RawMessage) {
		var u struct{ ID, Username string }
		if err := json.Unmarshal(raw, &u); err != nil {
			t.Fatal(err)
		}
		f.users[u.ID] = raw
		f.names[strings.ToLower(u.Username)] = u.ID
	}
	addTweet := func(raw json.RawMessage) *fxTweet {
		tw := &fxTweet{raw: raw}
		if err := json.Unmarshal(raw, tw); err != nil {
			t.Fatal(err)
		}
		f.tweets[tw.ID] = tw
		return tw
	}
	loadChain := func(prefix string) *chain {
		c := &chain{tokens: []string{""}}
		for i := 1; ; i++ {
			name := fmt.Sprintf("%s_%d.json", prefix, i)
			if _, err := os.Stat(filepath.Join("testdata", name)); err != nil {
				break
			}
			var p recordedPage
			read(name, &p)
			var page []*fxTweet
			for _, raw := range p.Data {
				page = append(page, addTweet(raw))
			}
			for _, raw := range p.Includes.Tweets {
				addTweet(raw)
			}
			for _, raw := range p.Includes.Users {
				addUser(raw)
			}
			for _, raw := range p.Includes.Media {
				var m struct {
					Key string `json:"media_key"`
				}
				_ = json.Unmarshal(raw, &m)
				f.media[m.Key] = raw
			}
			c.pages = append(c.pages, page)
			if p.Meta.NextToken != "" {
				c.tokens = append(c.tokens, p.Meta.NextToken)
			}
		}
		if len(c.pages) == 0 {
			t.Fatalf("no recorded pages %s_*.json", prefix)
		}
		return c
	}
	f.search = loadChain("search_recent")
	f.timelines[fairstreamID] = loadChain("timeline_" + fairstreamID)
	f.timelines[adaID] = loadChain("timeline_" + adaID)
	var lookup struct {
		Data   []json.RawMessage `json:"data"`
		Errors []struct{ Value, Title string }
	}
	read("users_by_usernames.json", &lookup)
	for _, raw := range lookup.Data {
		addUser(raw)
	}
	for _, e := range lookup.Errors {
		if e.Title == "Forbidden" {
			f.suspended[strings.ToLower(e.Value)] = true
		}
	}
	empty, err := os.ReadFile(filepath.Join("testdata", "search_recent_empty.json"))
	if err != nil {
		t.Fatal(err)
	}
	f.empty = empty
	for _, w := range []string{"1", "23424977"} {
		b, err := os.ReadFile(filepath.Join("testdata", "trends_"+w+".json"))
		if err != nil {
			t.Fatal(err)
		}
		f.trends[w] = b
	}
	return f
}

// Requests returns the path and query of every request served so far.
func (f *fixture) Requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func (f *fixture) limitNext(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limited += n
}

func (f *fixture) expire(tok string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.expired[tok] = true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func (f *fixture) writeEmpty(w http.ResponseWriter) {
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(f.empty)
}

func invalidRequest(w http.ResponseWriter, param, value, message string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{
		"errors": []any{map[string]any{"parameters": map[string][]string{param: {value}}, "message": message}},
		"title":  "Invalid Request", "detail": "One or more parameters to your request was invalid.",
		"type": "https://api.twitter.com/2/problems/invalid-request",
	})
}

func notFound(value, detail, resourceType, param string) map[string]string {
	return map[string]string{"value": value, "detail": detail, "title": "Not Found Error", "resource_type": resourceType,
		"parameter": param, "resource_id": value, "type": "https://api.twitter.com/2/problems/resource-not-found"}
}

func suspendedErr(value, param string) map[string]string {
	return map[string]string{"value": value, "detail": "User has been suspended: [" + value + "].", "title": "Forbidden", "resource_type": "user",
		"parameter": param, "resource_id": value, "type": "https://api.twitter.com/2/problems/resource-not-found"}
}

var (
	tweetParams    = []string{"expansions", "tweet.fields", "user.fields", "media.fields", "place.fields", "poll.fields", "max_results", "since_id", "until_id", "start_time", "end_time"}
	searchParams   = append([]string{"query", "next_token", "pagination_token", "sort_order"}, tweetParams...)
	timelineParams = append([]string{"pagination_token", "exclude"}, tweetParams...)
	lookupParams   = []string{"expansions", "tweet.fields", "user.fields"}
	knownFields    = map[string][]string{
		"tweet.fields": {"article", "attachments", "author_id", "card_uri", "community_id", "context_annotations", "conversation_id", "created_at",
			"display_text_range", "edit_controls", "edit_history_tweet_ids", "entities", "geo", "id", "in_reply_to_user_id", "lang",
			"media_metadata", "non_public_metrics", "note_tweet", "organic_metrics", "possibly_sensitive", "promoted_metrics",
			"public_metrics", "referenced_tweets", "reply_settings", "scopes", "source", "text", "withheld"},
		"user.fields": {"affiliation", "connection_status", "created_at", "description", "entities", "id", "location", "most_recent_tweet_id",
			"name", "pinned_tweet_id", "profile_banner_url", "profile_image_url", "protected", "public_metrics", "receives_your_dm",
			"subscription_type", "url", "username", "verified", "verified_type", "withheld"},
		"media.fields": {"alt_text", "duration_ms", "height", "media_key", "non_public_metrics", "organic_metrics", "preview_image_url",
			"promoted_metrics", "public_metrics", "type", "url", "variants", "width"},
		"expansions": {"attachments.media_keys", "attachments.poll_ids", "author_id", "edit_history_tweet_ids", "entities.mentions.username",
			"geo.place_id", "in_reply_to_user_id", "referenced_tweets.id", "referenced_tweets.id.author_id", "pinned_tweet_id",
			"most_recent_tweet_id", "affiliation.user_id"},
		"trend.fields": {"trend_name", "tweet_count"},
	}
)

// checkParams answers 400 as the X API does for an unknown parameter or
// field, and reports whether the request may go on.
func checkParams(w http.ResponseWriter, r *http.Request, allowed []string) bool {
	q := r.URL.Query()
	for name, vals := range q {
		if !slices.Contains(allowed, name) {
			invalidRequest(w, name, vals[0], fmt.Sprintf("The query parameter [%s] is not one of [%s]", name, strings.Join(allowed, ",")))
			return false
		}
		if known, ok := knownFields[name]; ok {
			for _, v := range strings.Split(vals[0], ",") {
				if !slices.Contains(known, v) {
					invalidRequest(w, name, v, fmt.Sprintf("The `%s` query parameter value [%s] is not one of [%s]", name, v, strings.Join(known, ",")))
					return false
				}
			}
		}
	}
	return true
}

func (f *fixture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	f.mu.Lock()
	f.requests = append(f.requests, r.URL.RequestURI())
	limited := f.limited > 0
	if limited {
		f.limited--
	}
	f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+token {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"})
		return
	}
	path := r.URL.Path
	var endpoint string
	var limit int
	switch {
	case path == "/2/tweets/search/recent":
		endpoint, limit = "search", 450
	case strings.HasPrefix(path, "/2/users/") && strings.HasSuffix(path, "/tweets"):
		endpoint, limit = "timeline", 1500
	case path == "/2/users/by" || path == "/2/users":
		endpoint, limit = "lookup", 300
	case strings.HasPrefix(path, "/2/trends/by/woeid/"):
		endpoint, limit = "trends", 75
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"title": "Not Found Error", "type": "about:blank", "status": 404, "detail": "Not Found"})
		return
	}
	w.Header().Set("x-rate-limit-limit", strconv.Itoa(limit))
	if limited {
		w.Header().Set("x-rate-limit-remaining", "0")
		w.Header().Set("x-rate-limit-reset", strconv.FormatInt(time.Now().Unix()+1, 10))
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429})
		return
	}
	f.mu.Lock()
	f.calls[endpoint]++
	remaining := max(1, limit-f.calls[endpoint])
	f.mu.Unlock()
	w.Header().Set("x-rate-limit-remaining", strconv.Itoa(remaining))
	w.Header().Set("x-rate-limit-reset", strconv.FormatInt(f.reset, 10))

	q := r.URL.Query()
	switch endpoint {
	case "search":
		if !checkParams(w, r, searchParams) {
			return
		}
		if q.Get("query") == "" {
			invalidRequest(w, "query", "", "The `query` query parameter can not be empty")
			return
		}
		if s := q.Get("since_id"); s != "" && cmpID(s, oldestSinceID) < 0 {
			invalidRequest(w, "since_id", s, fmt.Sprintf("'since_id' must be a tweet id created after 2025-11-18T12:00Z. Please use a 'since_id' that is larger than %s", oldestSinceID))
			return
		}
		var c *chain
		if q.Get("query") == fixtureQuery {
			c = f.search
		}
		f.serveTweets(w, r, c, "next_token", 10)
	case "timeline":
		if !checkParams(w, r, timelineParams) {
			return
		}
		id := strings.TrimSuffix(strings.TrimPrefix(path, "/2/users/"), "/tweets")
		switch {
		case f.suspended[id]:
			writeJSON(w, http.StatusOK, map[string]any{"errors": []any{suspendedErr(id, "id")}})
		case f.users[id] == nil:
			writeJSON(w, http.StatusOK, map[string]any{"errors": []any{notFound(id, "Could not find user with id: ["+id+"].", "user", "id")}})
		default:
			f.serveTweets(w, r, f.timelines[id], "pagination_token", 5)
		}
	case "lookup":
		param := "usernames"
		if path == "/2/users" {
			param = "ids"
		}
		if !checkParams(w, r, append([]string{param}, lookupParams...)) {
			return
		}
		vals := strings.Split(q.Get(param), ",")
		if q.Get(param) == "" || len(vals) > 100 {
			invalidRequest(w, param, q.Get(param), fmt.Sprintf("The number of values in the `%s` query parameter list [%d] is not between 1 and 100", param, len(vals)))
			return
		}
		out := map[string]any{}
		var data []json.RawMessage
		var errs []any
		for _, v := range vals {
			id := v
			if param == "usernames" {
				id = f.names[strings.ToLower(v)]
			}
			switch {
			case f.suspended[strings.ToLower(v)]:
				errs = append(errs, suspendedErr(v, param))
			case f.users[id] != nil:
				data = append(data, f.users[id])
			default:
				errs = append(errs, notFound(v, fmt.Sprintf("Could not find user with %s: [%s].", param, v), "user", param))
			}
		}
		if data != nil {
			out["data"] = data
		}
		if errs != nil {
			out["errors"] = errs
		}
		writeJSON(w, http.StatusOK, out)
	case "trends":
		if !checkParams(w, r, []string{"max_trends", "trend.fields"}) {
			return
		}
		if n, err := strconv.Atoi(q.Get("max_trends")); q.Get("max_trends") != "" && (err != nil || n < 1 || n > 50) {
			invalidRequest(w, "max_trends", q.Get("max_trends"), fmt.Sprintf("The `max_trends` query parameter value [%s] is not between 1 and 50", q.Get("max_trends")))
			return
		}
		woeid := strings.TrimPrefix(path, "/2/trends/by/woeid/")
		b, ok := f.trends[woeid]
		if !ok {
			writeJSON(w, http.StatusOK, map[string]any{"errors": []any{notFound(woeid, "Could not find trends for woeid: ["+woeid+"].", "trend", "woeid")}})
			return
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b)
	}
}

// serveTweets answers a page of a search or a timeline from c (nil: no
// matches).
func (f *fixture) serveTweets(w http.ResponseWriter, r *http.Request, c *chain, tokenParam string, minResults int) {
	q := r.URL.Query()
	maxResults := 10
	if v := q.Get("max_results"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < minResults || n > 100 {
			invalidRequest(w, "max_results", v, fmt.Sprintf("The `max_results` query parameter value [%s] is not between %d and 100", v, minResults))
			return
		}
		maxResults = n
	}
	if c == nil {
		f.writeEmpty(w)
		return
	}
	since, until := q.Get("since_id"), q.Get("until_id")
	keep := func(t *fxTweet) bool {
		return (since == "" || cmpID(t.ID, since) > 0) && (until == "" || cmpID(t.ID, until) < 0)
	}
	survivors := func(i int) []*fxTweet {
		var out []*fxTweet
		for _, t := range c.pages[i] {
			if keep(t) {
				out = append(out, t)
			}
		}
		return out
	}
	start := 0
	f.mu.Lock()
	tok := q.Get(tokenParam)
	expired := f.expired[tok]
	f.mu.Unlock()
	if tok != "" {
		start = slices.Index(c.tokens, tok)
		if start < 1 || expired {
			invalidRequest(w, tokenParam, tok, fmt.Sprintf("The `%s` query parameter value [%s] is not valid", tokenParam, tok))
			return
		}
	} else {
		for start < len(c.pages)-1 && len(survivors(start)) == 0 {
			start++
		}
	}
	data := survivors(start)
	if len(data) > maxResults {
		data = data[:maxResults]
	}
	next := ""
	for i := start + 1; i < len(c.pages); i++ {
		if len(survivors(i)) > 0 {
			next = c.tokens[start+1]
			break
		}
	}
	if len(data) == 0 && next == "" {
		f.writeEmpty(w)
		return
	}
	meta := map[string]any{"result_count": len(data)}
	if len(data) > 0 {
		meta["newest_id"], meta["oldest_id"] = data[0].ID, data[len(data)-1].ID
	}
	if next != "" {
		meta["next_token"] = next
	}
	out := map[string]any{"meta": meta}
	raws := []json.RawMessage{}
	for _, t := range data {
		raws = append(raws, t.raw)
	}
	out["data"] = raws

	exp := strings.Split(q.Get("expansions"), ",")
	inc := map[string][]json.RawMessage{}
	var errs []any
	seenUser := map[string]bool{}
	addUser := func(id string) {
		if u := f.users[id]; u != nil && !seenUser[id] {
			seenUser[id] = true
			inc["users"] = append(inc["users"], u)
		}
	}
	if slices.Contains(exp, "author_id") {
		for _, t := range data {
			addUser(t.AuthorID)
		}
	}
	if slices.Contains(exp, "attachments.media_keys") {
		for _, t := range data {
			for _, k := range t.MediaKeys.Keys {
				inc["media"] = append(inc["media"], f.media[k])
			}
		}
	}
	if slices.Contains(exp, "referenced_tweets.id") {
		seen := map[string]bool{}
		for _, t := range data {
			for _, ref := range t.Refs {
				rt := f.tweets[ref.ID]
				switch {
				case seen[ref.ID]:
				case rt == nil:
					errs = append(errs, notFound(ref.ID, "Could not find tweet with referenced_tweets.id: ["+ref.ID+"].", "tweet", "referenced_tweets.id"))
				default:
					inc["tweets"] = append(inc["tweets"], rt.raw)
					if slices.Contains(exp, "referenced_tweets.id.author_id") {
						addUser(rt.AuthorID)
					}
				}
				seen[ref.ID] = true
			}
		}
	}
	if len(inc) > 0 {
		out["includes"] = inc
	}
	if errs != nil {
		out["errors"] = errs
	}
	writeJSON(w, http.StatusOK, out)
}

func cmpID(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}
