package twitter

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// Cursor fields (connectors.Position keys).
const (
	// posSinceID is the newest post of the last completed walk of a search
	// or timeline: the next walk asks only for newer ones.
	posSinceID = "since_id"
	// posNextToken (search) and posPaginationToken (timeline) hold the
	// next older page of the walk in progress.
	posNextToken       = "next_token"
	posPaginationToken = "pagination_token"
	// posCycleNewest and posCycleOldest are the newest and oldest posts the
	// walk in progress has seen: the newest becomes since_id when it
	// completes; the oldest is where it goes on (until_id) should its
	// pagination token be refused.
	posCycleNewest = "cycle_newest"
	posCycleOldest = "cycle_oldest"
	posUntilID     = "until_id"
	// posUserID is a timeline's user, resolved from its username once.
	posUserID = "user_id"
	// posBatch and posPass walk the profile lookups (100 accounts a call);
	// "profile:<user id>" holds "<pass>:<digest>" of the profile last
	// written.
	posBatch         = "batch"
	posPass          = "pass"
	posProfilePrefix = "profile:"
	// posDigest is the digest of the trend list last written.
	posDigest = "digest"
)

// maxTrends is the most trends the API returns for a place.
const maxTrends = 50

// maxLookup is the most accounts one user lookup takes.
const maxLookup = 100

// get sends a GET to the X API and decodes a 2xx JSON answer into v. For a
// 400 answer it returns the decoded problem with the error, for callers
// that can recover from an invalid parameter.
func (s *Source) get(ctx context.Context, path string, q url.Values, v any) (*connectors.Response, *problem, error) {
	u := strings.TrimRight(s.cfg.APIURL, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req := connectors.Request{URL: u, Header: http.Header{"Authorization": {"Bearer " + s.cfg.BearerToken}}, Setting: Setting}
	resp, err := s.client.GetJSON(ctx, req, v)
	if err != nil {
		var re *connectors.ResponseError
		if resp != nil && resp.StatusCode == http.StatusBadRequest && errors.As(err, &re) {
			var p problem
			if json.Unmarshal(resp.Body, &p) == nil {
				return resp, &p, err
			}
		}
		return resp, nil, err
	}
	return resp, nil, nil
}

// errorsOnly is a 200 answer that holds errors and nothing else (a
// suspended account's timeline, an unknown place): unusable, recorded.
func errorsOnly(resp *connectors.Response, errs []apiError) error {
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		msgs = append(msgs, e.String())
	}
	return &connectors.ResponseError{URL: resp.URL, StatusCode: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"),
		Snippet: connectors.Snippet(resp.Body, 512), Err: fmt.Errorf("the X API returned errors and no data: %s", strings.Join(msgs, "; "))}
}

// fetchTweets fetches one page of a search or a timeline.
func (s *Source) fetchTweets(ctx context.Context, st connectors.Stream, cur connectors.Position) (connectors.Page, error) {
	p := st.Params
	once := p["once"] == "true"
	next := connectors.Position{}
	q := url.Values{}
	var path, tokenKey, label string
	switch st.Kind {
	case KindSearch:
		path, tokenKey, label = "/2/tweets/search/recent", posNextToken, p["query"]
		q.Set("query", p["query"])
		q.Set("sort_order", "recency")
		for _, k := range []string{"start_time", "end_time"} {
			if v := p[k]; v != "" {
				q.Set(k, v)
			}
		}
	default:
		id, err := s.userID(ctx, p, cur)
		if err != nil {
			return connectors.Page{}, err
		}
		path, tokenKey, label = "/2/users/"+id+"/tweets", posPaginationToken, "timeline:"+id
		next[posUserID] = id
	}
	q.Set("max_results", strconv.Itoa(s.cfg.MaxResults))
	q.Set("tweet.fields", tweetFields)
	q.Set("expansions", expansions)
	q.Set("user.fields", userFields)
	q.Set("media.fields", mediaFields)

	since, started := cur[posSinceID]
	if !started {
		since = p["since_id"] // a job's lower bound; configured streams start with none
	}
	token := cur[tokenKey]
	until := cur[posUntilID]
	if until == "" {
		until = p["until_id"]
	}
	set := func() {
		q.Del("since_id")
		q.Del(tokenKey)
		q.Del("until_id")
		if since != "" {
			q.Set("since_id", since)
		}
		if token != "" {
			q.Set(tokenKey, token)
		}
		if until != "" {
			q.Set("until_id", until)
		}
	}
	set()
	var r tweetsResponse
	resp, prob, err := s.get(ctx, path, q, &r)
	for range 2 {
		if prob == nil {
			break
		}
		retry := false
		if since != "" && prob.invalidParam("since_id") {
			// The recent search reaches back 7 days and refuses an older
			// since_id; everything it can return is newer than that one.
			since, retry = "", true
		}
		if token != "" && prob.invalidParam(tokenKey) {
			// An expired pagination token: go on below the oldest post
			// this walk has seen (from the top if it has seen none).
			token, retry = "", true
			if oldest := cur[posCycleOldest]; oldest != "" {
				until = oldest
			}
		}
		if !retry {
			break
		}
		set()
		r = tweetsResponse{}
		resp, prob, err = s.get(ctx, path, q, &r)
	}
	if err != nil {
		return connectors.Page{}, err
	}
	if len(r.Data) == 0 && len(r.Errors) > 0 && r.Meta == nil {
		return connectors.Page{}, errorsOnly(resp, r.Errors)
	}

	// Partial errors (a referenced post deleted, an author suspended)
	// leave out only what they name.
	ix := newIndex(&r.Includes)
	newest, oldest := cur[posCycleNewest], cur[posCycleOldest]
	var page connectors.Page
	for i := range r.Data {
		t := &r.Data[i]
		if t.ID == "" {
			continue
		}
		page.Events = append(page.Events, connectors.Event{Topic: TweetTopic, Key: t.ID, Time: parseAPITime(t.CreatedAt), Payload: t.raw(ix, label, false)})
		if newest == "" || cmpID(t.ID, newest) > 0 {
			newest = t.ID
		}
		if oldest == "" || cmpID(t.ID, oldest) < 0 {
			oldest = t.ID
		}
	}
	nextToken := ""
	if r.Meta != nil {
		nextToken = r.Meta.NextToken
	}
	if nextToken != "" {
		// Older pages follow: the walk goes on with the same since_id.
		next[posSinceID] = since
		next[tokenKey] = nextToken
		next[posCycleNewest] = newest
		next[posCycleOldest] = oldest
		if until != "" {
			next[posUntilID] = until
		}
		page.More = true
	} else {
		// The walk is complete: the next one asks for what is newer than
		// the newest post it saw.
		if newest != "" && (since == "" || cmpID(newest, since) > 0) {
			since = newest
		}
		next[posSinceID] = since
		page.Done = once
	}
	page.Next = next
	return page, nil
}

// userID returns a timeline's user ID, looking its username up once.
func (s *Source) userID(ctx context.Context, p map[string]string, cur connectors.Position) (string, error) {
	if id := cur[posUserID]; id != "" {
		return id, nil // follows the account, even if renamed since
	}
	if id := p["user_id"]; id != "" {
		return id, nil
	}
	name := p["username"]
	s.mu.Lock()
	id := s.ids[name]
	s.mu.Unlock()
	if id != "" {
		return id, nil
	}
	var r usersResponse
	resp, _, err := s.get(ctx, "/2/users/by", url.Values{"usernames": {name}, "user.fields": {userFields}}, &r)
	if err != nil {
		return "", err
	}
	s.remember(r.Data)
	for _, u := range r.Data {
		if strings.EqualFold(u.Username, name) && u.ID != "" {
			return u.ID, nil
		}
	}
	if len(r.Errors) == 0 {
		r.Errors = []apiError{{Title: "Not Found Error", Detail: "no user @" + name + " in the answer"}}
	}
	return "", errorsOnly(resp, r.Errors)
}

func (s *Source) remember(users []user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range users {
		if u.ID != "" && u.Username != "" {
			s.ids[strings.ToLower(u.Username)] = u.ID
		}
	}
}

// lookup is one user-lookup call: up to 100 usernames or IDs.
type lookup struct {
	path, param string
	values      []string
}

func lookups(p map[string]string) []lookup {
	var out []lookup
	for _, l := range []lookup{{path: "/2/users/by", param: "usernames"}, {path: "/2/users", param: "ids"}} {
		vals := splitList(p[l.param])
		for len(vals) > 0 {
			n := min(len(vals), maxLookup)
			out = append(out, lookup{path: l.path, param: l.param, values: vals[:n]})
			vals = vals[n:]
		}
	}
	return out
}

// fetchProfiles looks up one batch of accounts and writes the profiles that
// changed since they were last written (every profile, for a job).
func (s *Source) fetchProfiles(ctx context.Context, st connectors.Stream, cur connectors.Position) (connectors.Page, error) {
	once := st.Params["once"] == "true"
	ls := lookups(st.Params)
	if len(ls) == 0 {
		return connectors.Page{Next: cur, Done: once}, nil
	}
	batch, _ := strconv.Atoi(cur[posBatch])
	if batch < 0 || batch >= len(ls) {
		batch = 0
	}
	pass, _ := strconv.Atoi(cur[posPass])
	passTag := strconv.Itoa(pass)
	l := ls[batch]
	var r usersResponse
	if _, _, err := s.get(ctx, l.path, url.Values{l.param: {strings.Join(l.values, ",")}, "user.fields": {userFields}}, &r); err != nil {
		return connectors.Page{}, err
	}
	s.remember(r.Data)
	// Accounts in r.Errors (suspended, deleted, renamed) are left out;
	// their timelines say why.
	now := time.Now()
	next := cur.Clone()
	var page connectors.Page
	for i := range r.Data {
		u := &r.Data[i]
		if u.ID == "" {
			continue
		}
		prof := &fairstreampb.RawTwitterProfile{User: u.raw()}
		d, err := digest(prof.User)
		if err != nil {
			return connectors.Page{}, err
		}
		key := posProfilePrefix + u.ID
		_, prev, _ := strings.Cut(cur[key], ":")
		next[key] = passTag + ":" + d
		if once || prev != d {
			prof.FetchedAt = timestamppb.New(now)
			page.Events = append(page.Events, connectors.Event{Topic: ProfileTopic, Key: u.ID, Time: now, Payload: prof})
		}
	}
	if batch+1 < len(ls) {
		next[posBatch] = strconv.Itoa(batch + 1)
		page.More = true
	} else {
		// A pass is complete: forget the accounts it did not see.
		for k, v := range next {
			if tag, _, _ := strings.Cut(v, ":"); strings.HasPrefix(k, posProfilePrefix) && tag != passTag {
				delete(next, k)
			}
		}
		next[posBatch] = "0"
		next[posPass] = strconv.Itoa(pass + 1)
		page.Done = once
	}
	page.Next = next
	return page, nil
}

// fetchTrends reads a place's trends and writes them when the list changed
// since it was last written (always, for a job).
func (s *Source) fetchTrends(ctx context.Context, st connectors.Stream, cur connectors.Position) (connectors.Page, error) {
	once := st.Params["once"] == "true"
	woeid, err := strconv.ParseInt(st.Params["woeid"], 10, 64)
	if err != nil {
		return connectors.Page{}, fmt.Errorf("twitter: stream %s: woeid %q: %w", st.ID, st.Params["woeid"], err)
	}
	var r trendsResponse
	q := url.Values{"max_trends": {strconv.Itoa(maxTrends)}, "trend.fields": {trendFields}}
	resp, _, err := s.get(ctx, "/2/trends/by/woeid/"+strconv.FormatInt(woeid, 10), q, &r)
	if err != nil {
		return connectors.Page{}, err
	}
	if len(r.Data) == 0 && len(r.Errors) > 0 {
		return connectors.Page{}, errorsOnly(resp, r.Errors)
	}
	h := sha256.New()
	for _, t := range r.Data {
		n := int64(-1)
		if t.TweetCount != nil {
			n = *t.TweetCount
		}
		fmt.Fprintf(h, "%q %d\n", t.TrendName, n)
	}
	d := hex.EncodeToString(h.Sum(nil)[:12])
	page := connectors.Page{Next: connectors.Position{posDigest: d}, Done: once}
	if !once && cur[posDigest] == d {
		return page, nil // the same list as last written
	}
	now := time.Now()
	for i, t := range r.Data {
		tr := &fairstreampb.RawTwitterTrend{Woeid: woeid, Name: t.TrendName, Rank: int32(i + 1), FetchedAt: timestamppb.New(now)}
		if t.TweetCount != nil {
			tr.TweetCount = *t.TweetCount
		}
		page.Events = append(page.Events, connectors.Event{Topic: TrendTopic, Key: strconv.FormatInt(woeid, 10), Time: now, Payload: tr})
	}
	return page, nil
}

// digest is a short, stable digest of a message.
func digest(m proto.Message) (string, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:12]), nil
}
