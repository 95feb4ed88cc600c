package twitter_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/connectors/connectortest"
	"github.com/fairstream/fairstream/connectors/twitter"
	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// lookupFixture adds the post lookup (GET /2/tweets?ids=) to the fixture,
// answered the way the X API v2 answers it: the posts it holds as data,
// with the includes their expansions ask for; for an ID it does not hold a
// resource-not-found entry in errors (with status 200), and for a
// protected post an Authorization Error.
type lookupFixture struct {
	*fixture
	protected map[string]bool
}

var lookupIDParams = []string{"ids", "expansions", "tweet.fields", "user.fields", "media.fields", "place.fields", "poll.fields"}

func (f *lookupFixture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/2/tweets" {
		f.fixture.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	f.mu.Lock()
	f.requests = append(f.requests, r.URL.RequestURI())
	f.calls["lookup_tweets"]++
	remaining := max(1, 3500-f.calls["lookup_tweets"])
	f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+token {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"})
		return
	}
	w.Header().Set("x-rate-limit-limit", "3500")
	w.Header().Set("x-rate-limit-remaining", strconv.Itoa(remaining))
	w.Header().Set("x-rate-limit-reset", strconv.FormatInt(f.reset, 10))
	if !checkParams(w, r, lookupIDParams) {
		return
	}
	q := r.URL.Query()
	ids := strings.Split(q.Get("ids"), ",")
	if q.Get("ids") == "" || len(ids) > 100 {
		invalidRequest(w, "ids", q.Get("ids"), fmt.Sprintf("The number of values in the `ids` query parameter list [%d] is not between 1 and 100", len(ids)))
		return
	}
	var data []*fxTweet
	var errs []any
	for _, id := range ids {
		if strings.Trim(id, "0123456789") != "" || len(id) > 19 {
			invalidRequest(w, "ids", id, fmt.Sprintf("The `ids` query parameter value [%s] does not match ^[0-9]{1,19}$", id))
			return
		}
		switch tw := f.tweets[id]; {
		case tw == nil:
			errs = append(errs, notFound(id, "Could not find tweet with ids: ["+id+"].", "tweet", "ids"))
		case f.protected[id]:
			errs = append(errs, map[string]string{"value": id, "detail": "Sorry, you are not authorized to see the Tweet with ids: [" + id + "].",
				"title": "Authorization Error", "resource_type": "tweet", "parameter": "ids", "resource_id": id,
				"type": "https://api.twitter.com/2/problems/not-authorized-for-resource"})
		default:
			data = append(data, tw)
		}
	}
	out := map[string]any{}
	if len(data) > 0 {
		raws := []json.RawMessage{}
		for _, t := range data {
			raws = append(raws, t.raw)
		}
		out["data"] = raws
		inc, incErrs := f.includes(data, strings.Split(q.Get("expansions"), ","))
		if len(inc) > 0 {
			out["includes"] = inc
		}
		errs = append(errs, incErrs...)
	}
	if errs != nil {
		out["errors"] = errs
	}
	writeJSON(w, http.StatusOK, out)
}

// includes builds the includes that exp asks for data, as serveTweets does,
// and the partial errors for referenced posts that are gone.
func (f *lookupFixture) includes(data []*fxTweet, exp []string) (map[string][]json.RawMessage, []any) {
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
	return inc, errs
}

// refetchHTTP retries once, quickly.
func refetchHTTP() connectors.HTTPConfig {
	c := connectors.DefaultHTTPConfig()
	c.MaxRetries = 1
	c.BackoffInitial = time.Millisecond
	c.BackoffMax = 5 * time.Millisecond
	return c
}

// refetchSetup serves the fixture with post lookup behind faults, and
// returns a source configured as fixtureConfig with the given token.
func refetchSetup(t *testing.T, tok string) (*twitter.Source, *lookupFixture, *connectortest.Faults) {
	t.Helper()
	f := &lookupFixture{fixture: newFixture(t), protected: map[string]bool{}}
	faults := &connectortest.Faults{}
	srv := httptest.NewServer(faults.Wrap(f))
	t.Cleanup(srv.Close)
	cfg := fixtureConfig(srv.URL)
	cfg.BearerToken = tok
	s, err := twitter.New(cfg, connectors.NewClient(refetchHTTP(), srv.Client(), nil))
	if err != nil {
		t.Fatal(err)
	}
	return s, f, faults
}

func envelope(t *testing.T, m proto.Message) *schemas.Envelope {
	t.Helper()
	env, err := schemas.Builtin().Wrap(m, schemas.Meta{Source: twitter.Name, Worker: "w1"})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func isSentinel(err error) string {
	switch nf, sf := errors.Is(err, connectors.ErrNotFound), errors.Is(err, connectors.ErrSourceFault); {
	case nf && sf:
		return "both"
	case nf:
		return "not found"
	case sf:
		return "source fault"
	}
	return "neither"
}

func TestRefetchMapsAsTheSearchDoes(t *testing.T) {
	s, f, _ := refetchSetup(t, token)
	var scraped []*fairstreampb.RawTweet
	for _, p := range walk(t, s, streamByID(t, s, "search:"+fixtureQuery), connectors.Position{}) {
		for _, e := range p.Events {
			scraped = append(scraped, e.Payload.(*fairstreampb.RawTweet))
		}
	}
	if len(scraped) != 11 {
		t.Fatalf("the search gave %d posts, want 11", len(scraped))
	}
	for _, orig := range scraped {
		got, err := s.Refetch(context.Background(), envelope(t, orig))
		if err != nil {
			t.Fatalf("Refetch %s: %v", orig.GetId(), err)
		}
		tw, ok := got.(*fairstreampb.RawTweet)
		if !ok {
			t.Fatalf("Refetch %s gave a %T", orig.GetId(), got)
		}
		if tw.GetText() != orig.GetText() || !tw.GetCreatedAt().AsTime().Equal(orig.GetCreatedAt().AsTime()) || tw.GetAuthorId() != orig.GetAuthorId() {
			t.Errorf("post %s: refetched text %q at %s, scraped %q at %s", orig.GetId(), tw.GetText(), tw.GetCreatedAt().AsTime(), orig.GetText(), orig.GetCreatedAt().AsTime())
		}
		if !proto.Equal(tw, orig) {
			t.Errorf("post %s maps differently when refetched:\n got %v\nwant %v", orig.GetId(), tw, orig)
		}
	}
	// The long post keeps its whole text (note_tweet); the reply to a
	// deleted post is still found (the partial error names the other post).
	for _, id := range []string{idNote, idOrphan, idQuote} {
		if !slices.ContainsFunc(scraped, func(tw *fairstreampb.RawTweet) bool { return tw.GetId() == id }) {
			t.Errorf("post %s not covered", id)
		}
	}
	var lookups []string
	for _, r := range f.Requests() {
		if strings.HasPrefix(r, "/2/tweets?") {
			lookups = append(lookups, r)
		}
	}
	if len(lookups) != len(scraped) || !strings.Contains(lookups[0], "ids="+scraped[0].GetId()) {
		t.Errorf("lookups: %q", lookups)
	}
}

func TestRefetchErrors(t *testing.T) {
	ctx := context.Background()
	existing := &fairstreampb.RawTweet{Id: idEpoch, Text: "anything", Query: fixtureQuery}

	t.Run("deleted post", func(t *testing.T) {
		s, _, _ := refetchSetup(t, token)
		_, err := s.Refetch(ctx, envelope(t, &fairstreampb.RawTweet{Id: idDeleted, Text: "gone"}))
		if isSentinel(err) != "not found" || !strings.Contains(err.Error(), "Could not find tweet") {
			t.Fatalf("a deleted post: %v (%s), want ErrNotFound", err, isSentinel(err))
		}
	})
	t.Run("not a post ID", func(t *testing.T) {
		s, f, _ := refetchSetup(t, token)
		_, err := s.Refetch(ctx, envelope(t, &fairstreampb.RawTweet{Id: "fabricated-1", Text: "made up"}))
		if isSentinel(err) != "not found" {
			t.Fatalf("an ID that is not a post ID: %v (%s), want ErrNotFound", err, isSentinel(err))
		}
		if n := len(f.Requests()); n != 0 {
			t.Errorf("%d requests for an ID that cannot exist", n)
		}
	})
	t.Run("protected post", func(t *testing.T) {
		s, f, _ := refetchSetup(t, token)
		f.protected[idEpoch] = true
		_, err := s.Refetch(ctx, envelope(t, existing))
		if isSentinel(err) != "neither" || !strings.Contains(err.Error(), "Authorization Error") {
			t.Fatalf("a protected post: %v (%s), want neither sentinel", err, isSentinel(err))
		}
	})
	t.Run("503", func(t *testing.T) {
		s, _, faults := refetchSetup(t, token)
		unavailable := connectortest.Fault{Status: http.StatusServiceUnavailable, ContentType: "application/json; charset=utf-8",
			Body: `{"title":"Service Unavailable","detail":"Service Unavailable","type":"about:blank","status":503}`}
		faults.Queue(unavailable, unavailable)
		_, err := s.Refetch(ctx, envelope(t, existing))
		if isSentinel(err) != "source fault" {
			t.Fatalf("a 503: %v (%s), want ErrSourceFault", err, isSentinel(err))
		}
	})
	t.Run("401", func(t *testing.T) {
		wrong := strings.Repeat("A", 30) + "wrongtoken"
		s, _, _ := refetchSetup(t, wrong)
		_, err := s.Refetch(ctx, envelope(t, existing))
		if isSentinel(err) != "neither" || !errors.Is(err, connectors.ErrAuth) {
			t.Fatalf("a refused token: %v (%s), want ErrAuth and neither sentinel", err, isSentinel(err))
		}
		if strings.Contains(err.Error(), wrong) {
			t.Errorf("the error shows the token: %v", err)
		}
	})
	t.Run("other record types", func(t *testing.T) {
		s, f, _ := refetchSetup(t, token)
		for _, m := range []proto.Message{
			&fairstreampb.RawTwitterTrend{Woeid: 1, Name: "#FairAI", Rank: 1},
			&fairstreampb.RawDiscordMessage{Id: "1", Content: "hi"},
		} {
			_, err := s.Refetch(ctx, envelope(t, m))
			if err == nil || isSentinel(err) != "neither" || !errors.Is(err, connectors.ErrNotRefetchable) {
				t.Errorf("a %T: %v (%s), want ErrNotRefetchable", m, err, isSentinel(err))
			}
		}
		if n := len(f.Requests()); n != 0 {
			t.Errorf("%d requests for records it cannot refetch", n)
		}
	})
}
