package twitter_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/connectors/twitter"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// Post IDs of the recorded responses.
const (
	idEpoch   = "1993284056323145276" // photo, &amp;, two URLs
	idKenji   = "1993281238061233498" // Japanese
	idLayla   = "1993276645453543657" // Arabic
	idQuote   = "1993273042701597816" // quotes idQuoted
	idQuoted  = "1992987824748966799" // by opendata_eu, only in includes
	idReply   = "1993268714335055879" // German reply to idNote
	idVideo   = "1993263530330502038"
	idOrphan  = "1993257654420978356" // replies to idDeleted
	idDeleted = "1992340811569116958"
	idNote    = "1993251260904979117" // a long post (note_tweet)
	idGIF     = "1993243872093224515"
	idCashtag = "1993240235942032737"
	idEmoji   = "1993231948152518896" // ZWJ emoji sequence
	idRetweet = "1993289817119997055" // fairstream_dev retweets idKenji
	idDigest  = "1993228161006383118"

	searchToken1   = "b26v89c19zqg8o3fr5ie6m6xlmrmp0lf2fyxxwrpbf4ot"
	searchToken2   = "b26v89c19zqg8o3fr5ie6m6xlmrmp0lf2fyxxwrpbf1td"
	timelineToken1 = "7140dibdnow9c7btw4b0xk4fmjqzd2r7wlnx7ld0x1opp"
)

// setup serves the fixtures and returns a source configured as
// fixtureConfig, changed by mutate.
func setup(t *testing.T, mutate func(*twitter.Config)) (*twitter.Source, *fixture) {
	t.Helper()
	f := newFixture(t)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg := fixtureConfig(srv.URL)
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := twitter.New(cfg, connectors.NewClient(connectors.DefaultHTTPConfig(), srv.Client(), nil))
	if err != nil {
		t.Fatal(err)
	}
	return s, f
}

func streamByID(t *testing.T, s *twitter.Source, id string) connectors.Stream {
	t.Helper()
	for _, st := range s.Streams() {
		if st.ID == id {
			return st
		}
	}
	t.Fatalf("no stream %q in %v", id, s.Streams())
	return connectors.Stream{}
}

// walk fetches st from pos while pages say More, and returns every page.
func walk(t *testing.T, s *twitter.Source, st connectors.Stream, pos connectors.Position) []connectors.Page {
	t.Helper()
	var pages []connectors.Page
	for range 20 {
		page, err := s.Fetch(context.Background(), st, pos)
		if err != nil {
			t.Fatalf("page %d of %s: %v", len(pages)+1, st.ID, err)
		}
		pages = append(pages, page)
		pos = page.Next
		if !page.More || page.Done {
			return pages
		}
	}
	t.Fatalf("%s: no end after 20 pages", st.ID)
	return nil
}

func tweets(t *testing.T, pages []connectors.Page) map[string]*fairstreampb.RawTweet {
	t.Helper()
	out := map[string]*fairstreampb.RawTweet{}
	for _, p := range pages {
		for _, e := range p.Events {
			tw, ok := e.Payload.(*fairstreampb.RawTweet)
			if !ok || e.Topic != twitter.TweetTopic || e.Key != tw.GetId() {
				t.Fatalf("event %s/%s: %T", e.Topic, e.Key, e.Payload)
			}
			if !e.Time.Equal(tw.GetCreatedAt().AsTime()) || e.Time.IsZero() {
				t.Fatalf("post %s: event time %s, created_at %s", tw.GetId(), e.Time, tw.GetCreatedAt().AsTime())
			}
			if _, dup := out[tw.GetId()]; dup {
				t.Fatalf("post %s twice", tw.GetId())
			}
			out[tw.GetId()] = tw
		}
	}
	return out
}

// checkSpans asserts that every entity's [start, end) picks its text out
// of the post in Unicode code points.
func checkSpans(t *testing.T, tw *fairstreampb.RawTweet) {
	t.Helper()
	runes := []rune(tw.GetText())
	span := func(start, end int32) string {
		if start < 0 || end > int32(len(runes)) || start > end {
			t.Fatalf("post %s: span [%d,%d) outside its %d code points", tw.GetId(), start, end, len(runes))
		}
		return string(runes[start:end])
	}
	e := tw.GetEntities()
	for _, h := range e.GetHashtags() {
		if got := span(h.GetStart(), h.GetEnd()); got != "#"+h.GetTag() {
			t.Errorf("post %s: hashtag %q spans %q", tw.GetId(), h.GetTag(), got)
		}
	}
	for _, c := range e.GetCashtags() {
		if got := span(c.GetStart(), c.GetEnd()); got != "$"+c.GetTag() {
			t.Errorf("post %s: cashtag %q spans %q", tw.GetId(), c.GetTag(), got)
		}
	}
	for _, m := range e.GetMentions() {
		if got := span(m.GetStart(), m.GetEnd()); got != "@"+m.GetTag() {
			t.Errorf("post %s: mention %q spans %q", tw.GetId(), m.GetTag(), got)
		}
	}
	for _, u := range e.GetUrls() {
		if got := span(u.GetStart(), u.GetEnd()); got != u.GetUrl() {
			t.Errorf("post %s: URL %q spans %q", tw.GetId(), u.GetUrl(), got)
		}
	}
}

func tags(es []*fairstreampb.TextEntity) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.GetTag())
	}
	return out
}

func TestSearchMapsTheXAPI(t *testing.T) {
	s, f := setup(t, nil)
	st := streamByID(t, s, "search:"+fixtureQuery)
	pages := walk(t, s, st, connectors.Position{})
	if len(pages) != 3 {
		t.Fatalf("%d pages, want the 3 of the next_token chain", len(pages))
	}
	if p := pages[0].Next; p["next_token"] != searchToken1 || p["since_id"] != "" || p["cycle_newest"] != idEpoch || p["cycle_oldest"] != idQuote || !pages[0].More {
		t.Errorf("after page 1: %v, more %v", p, pages[0].More)
	}
	if p := pages[1].Next; p["next_token"] != searchToken2 || p["cycle_newest"] != idEpoch || p["cycle_oldest"] != idNote {
		t.Errorf("after page 2: %v", p)
	}
	if p := pages[2].Next; len(p) != 1 || p["since_id"] != idEpoch || pages[2].More || pages[2].Done {
		t.Errorf("after page 3: %v, more %v, done %v; want only since_id %s", p, pages[2].More, pages[2].Done, idEpoch)
	}
	all := tweets(t, pages)
	if len(all) != 11 {
		t.Fatalf("%d posts, want 11", len(all))
	}
	for _, tw := range all {
		checkSpans(t, tw)
		if tw.GetQuery() != fixtureQuery {
			t.Errorf("post %s: query %q", tw.GetId(), tw.GetQuery())
		}
		if tw.GetAuthor().GetId() != tw.GetAuthorId() {
			t.Errorf("post %s: author %v for author_id %s", tw.GetId(), tw.GetAuthor(), tw.GetAuthorId())
		}
	}

	// The query went out unchanged, with the fields and expansions.
	req, _ := url.Parse(f.Requests()[0])
	if q := req.Query(); q.Get("query") != fixtureQuery || q.Get("max_results") != "10" || q.Get("sort_order") != "recency" ||
		!strings.Contains(q.Get("expansions"), "referenced_tweets.id") || !strings.Contains(q.Get("tweet.fields"), "public_metrics") {
		t.Errorf("first request %s", req)
	}

	epoch := all[idEpoch]
	if epoch.GetText() != "Epoch 212 is out: 1,204 workers paid for verified, fresh data 🎉 Scores &amp; the Merkle root: https://t.co/mvfKfpZwwX #FairAI https://t.co/Zrbn3P5G6z" ||
		epoch.GetLang() != "en" || epoch.GetConversationId() != idEpoch || epoch.GetPossiblySensitive() ||
		!epoch.GetCreatedAt().AsTime().Equal(time.Date(2025, 11, 25, 11, 42, 7, 0, time.UTC)) {
		t.Errorf("epoch post: %v", epoch)
	}
	if a := epoch.GetAuthor(); a.GetUsername() != "fairstream_dev" || a.GetName() != "Fairstream" || a.GetFollowersCount() != 4821 ||
		a.GetFollowingCount() != 312 || a.GetTweetCount() != 1907 || a.GetVerified() || a.GetLocation() != "Internet" ||
		!strings.HasSuffix(a.GetProfileImageUrl(), "_normal.jpg") || !strings.Contains(a.GetDescription(), "🌍") ||
		!a.GetCreatedAt().AsTime().Equal(time.Date(2022, 11, 1, 8, 12, 44, 0, time.UTC)) {
		t.Errorf("epoch author: %v", a)
	}
	if m := epoch.GetPublicMetrics(); m.GetRetweetCount() != 142 || m.GetReplyCount() != 23 || m.GetLikeCount() != 611 ||
		m.GetQuoteCount() != 17 || m.GetBookmarkCount() != 95 || m.GetImpressionCount() != 48213 {
		t.Errorf("epoch metrics: %v", m)
	}
	if m := epoch.GetMedia(); len(m) != 1 || m[0].GetMediaKey() != "3_1993283985175163339" || m[0].GetType() != "photo" ||
		m[0].GetUrl() != "https://pbs.twimg.com/media/GdX1k9QWAAAb3Rz.jpg" || m[0].GetWidth() != 1600 || m[0].GetHeight() != 900 ||
		!strings.HasPrefix(m[0].GetAltText(), "Bar chart") {
		t.Errorf("epoch media: %v", m)
	}
	if u := epoch.GetEntities().GetUrls(); len(u) != 2 || u[0].GetExpandedUrl() != "https://fairstream.org/epochs/212" ||
		u[0].GetDisplayUrl() != "fairstream.org/epochs/212" || u[0].GetStart() != 94 || u[0].GetEnd() != 117 ||
		!strings.HasSuffix(u[1].GetExpandedUrl(), "/photo/1") {
		t.Errorf("epoch URLs: %v", u)
	}
	if h := epoch.GetEntities().GetHashtags(); len(h) != 1 || h[0].GetTag() != "FairAI" || h[0].GetStart() != 118 || h[0].GetEnd() != 125 {
		t.Errorf("epoch hashtags: %v", h)
	}

	kenji := all[idKenji]
	if kenji.GetLang() != "ja" || !strings.HasPrefix(kenji.GetText(), "公平なAIには") || kenji.GetAuthor().GetName() != "健二 | Kenji" ||
		strings.Join(tags(kenji.GetEntities().GetHashtags()), " ") != "FairAI データ倫理" {
		t.Errorf("Japanese post: %v", kenji)
	}
	if layla := all[idLayla]; layla.GetLang() != "ar" || !strings.HasPrefix(layla.GetText(), "البيانات العادلة") || layla.GetAuthor().GetName() != "ليلى" {
		t.Errorf("Arabic post: %v", layla)
	}

	quote := all[idQuote]
	if r := quote.GetReferencedTweets(); len(r) != 1 || r[0].GetType() != "quoted" || r[0].GetId() != idQuoted {
		t.Errorf("quote references: %v", r)
	}
	if inc := quote.GetIncludes(); len(inc) != 1 || inc[0].GetId() != idQuoted || inc[0].GetAuthor().GetUsername() != "opendata_eu" ||
		inc[0].GetAuthor().GetName() != "Open Data 🇪🇺" || !strings.Contains(inc[0].GetText(), "48 000 datasets 🇪🇺") || inc[0].GetQuery() != "" {
		t.Errorf("quoted post folded in: %v", inc)
	}
	if m := quote.GetEntities().GetMentions(); len(m) != 1 || m[0].GetTag() != "fairstream_dev" || m[0].GetId() != fairstreamID {
		t.Errorf("quote mentions: %v", m)
	}

	reply := all[idReply]
	if reply.GetLang() != "de" || !strings.Contains(reply.GetText(), "Grüße aus Köln 🎙️") || reply.GetInReplyToUserId() != fairstreamID ||
		reply.GetConversationId() != idNote || reply.GetAuthor().GetName() != "Jonas Müller" {
		t.Errorf("reply: %v", reply)
	}
	if inc := reply.GetIncludes(); len(inc) != 1 || inc[0].GetId() != idNote || inc[0].GetAuthor().GetUsername() != "fairstream_dev" {
		t.Errorf("replied-to post folded in: %v", inc)
	}

	if m := all[idVideo].GetMedia(); len(m) != 1 || m[0].GetType() != "video" || m[0].GetDurationMs() != 42042 ||
		!strings.Contains(m[0].GetPreviewImageUrl(), "ext_tw_video_thumb") || m[0].GetWidth() != 1280 {
		t.Errorf("video: %v", m)
	}
	// The referenced post is gone (a partial error): the reply is kept,
	// without the expansion.
	orphan := all[idOrphan]
	if len(orphan.GetIncludes()) != 0 || len(orphan.GetReferencedTweets()) != 1 || orphan.GetReferencedTweets()[0].GetId() != idDeleted ||
		orphan.GetEntities().GetMentions()[0].GetTag() != "gone_account" || orphan.GetEntities().GetMentions()[0].GetId() != "" {
		t.Errorf("reply to a deleted post: %v", orphan)
	}
	// A long post: the whole note, not the cut text.
	note := all[idNote]
	if n := len([]rune(note.GetText())); n <= 280 || !strings.HasSuffix(note.GetText(), "Fair data, fairly paid. ⚖️") ||
		strings.Contains(note.GetText(), "https://t.co/") || len(note.GetEntities().GetHashtags()) != 1 {
		t.Errorf("long post (%d code points): %q, %v", n, note.GetText(), note.GetEntities())
	}
	if m := all[idGIF].GetMedia(); len(m) != 1 || m[0].GetType() != "animated_gif" || m[0].GetMediaKey() != "16_1993243679310426578" || m[0].GetDurationMs() != 0 {
		t.Errorf("GIF: %v", m)
	}
	if c := all[idCashtag].GetEntities().GetCashtags(); len(c) != 1 || c[0].GetTag() != "ETH" {
		t.Errorf("cashtags: %v", c)
	}
	emoji := all[idEmoji]
	if emoji.GetText() != "👩🏽‍💻⚖️🤖 = #FairAI" || emoji.GetLang() != "art" || emoji.GetEntities().GetHashtags()[0].GetStart() != 10 { // 7 code points of emoji, then " = "
		t.Errorf("emoji post: %q %v", emoji.GetText(), emoji.GetEntities())
	}

	// The next poll asks only for newer posts: an empty page
	// (meta.result_count 0) that keeps the cursor.
	page, err := s.Fetch(context.Background(), st, pages[2].Next)
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.Requests()
	last, _ := url.Parse(reqs[len(reqs)-1])
	if len(page.Events) != 0 || page.More || page.Next["since_id"] != idEpoch || last.Query().Get("since_id") != idEpoch || last.Query().Has("next_token") {
		t.Errorf("newer page: %d events, more %v, next %v, request %s", len(page.Events), page.More, page.Next, last)
	}
}

func TestTimelineMapsTheXAPI(t *testing.T) {
	s, f := setup(t, nil)
	st := streamByID(t, s, "timeline:@fairstream_dev")
	pages := walk(t, s, st, connectors.Position{})
	reqs := f.Requests()
	if len(reqs) != 3 || !strings.HasPrefix(reqs[0], "/2/users/by?") || !strings.Contains(reqs[0], "usernames=fairstream_dev") ||
		!strings.HasPrefix(reqs[1], "/2/users/"+fairstreamID+"/tweets?") || !strings.Contains(reqs[2], "pagination_token="+timelineToken1) {
		t.Fatalf("requests: %v", reqs)
	}
	if len(pages) != 2 || pages[0].Next["pagination_token"] != timelineToken1 || pages[0].Next["user_id"] != fairstreamID {
		t.Fatalf("pages: %+v", pages)
	}
	if p := pages[1].Next; len(p) != 2 || p["since_id"] != idRetweet || p["user_id"] != fairstreamID {
		t.Errorf("after the walk: %v", p)
	}
	all := tweets(t, pages)
	if len(all) != 5 || all[idDigest] == nil || all[idNote] == nil {
		t.Fatalf("%d posts: %v", len(all), all)
	}
	for _, tw := range all {
		checkSpans(t, tw)
		if tw.GetQuery() != "timeline:"+fairstreamID || tw.GetAuthor().GetUsername() != "fairstream_dev" {
			t.Errorf("post %s: query %q, author %v", tw.GetId(), tw.GetQuery(), tw.GetAuthor())
		}
	}
	rt := all[idRetweet]
	if r := rt.GetReferencedTweets(); len(r) != 1 || r[0].GetType() != "retweeted" || r[0].GetId() != idKenji {
		t.Errorf("retweet references: %v", r)
	}
	// The retweeted post comes with its own author
	// (referenced_tweets.id.author_id).
	if inc := rt.GetIncludes(); len(inc) != 1 || inc[0].GetAuthor().GetUsername() != "kenji_data" || inc[0].GetLang() != "ja" {
		t.Errorf("retweeted post: %v", inc)
	}

	// The cursor's user ID is used from then on: no second lookup.
	page, err := s.Fetch(context.Background(), st, pages[1].Next)
	if err != nil {
		t.Fatal(err)
	}
	reqs = f.Requests()
	if len(page.Events) != 0 || len(reqs) != 4 || !strings.Contains(reqs[3], "since_id="+idRetweet) {
		t.Errorf("newer page: %d events; requests %v", len(page.Events), reqs)
	}

	// A timeline configured by ID needs no lookup.
	ada := walk(t, s, streamByID(t, s, "timeline:"+adaID), connectors.Position{})
	if got := tweets(t, ada); len(got) != 3 || got[idEmoji].GetQuery() != "timeline:"+adaID || len(got[idQuote].GetIncludes()) != 1 {
		t.Errorf("ada's timeline: %v", got)
	}
}

func TestProfilesMapTheXAPI(t *testing.T) {
	s, f := setup(t, nil)
	st := streamByID(t, s, "profiles")
	pages := walk(t, s, st, connectors.Position{})
	reqs := f.Requests()
	if len(pages) != 2 || len(reqs) != 2 || !strings.HasPrefix(reqs[0], "/2/users/by?") || !strings.HasPrefix(reqs[1], "/2/users?") ||
		!strings.Contains(reqs[1], "ids="+adaID) {
		t.Fatalf("%d pages; requests %v", len(pages), reqs)
	}
	profiles := map[string]*fairstreampb.RawTwitterProfile{}
	for _, p := range pages {
		for _, e := range p.Events {
			prof := e.Payload.(*fairstreampb.RawTwitterProfile)
			if e.Topic != twitter.ProfileTopic || e.Key != prof.GetUser().GetId() || prof.GetFetchedAt() == nil ||
				!prof.GetFetchedAt().AsTime().Equal(e.Time) {
				t.Fatalf("profile event %s/%s: %v", e.Topic, e.Key, prof)
			}
			profiles[e.Key] = prof
		}
	}
	ada := profiles[adaID].GetUser()
	if len(profiles) != 2 || profiles[fairstreamID].GetUser().GetUsername() != "fairstream_dev" ||
		ada.GetName() != "Ada 🧮 Lovelace" || ada.GetUsername() != "ada_lovelace_ai" || ada.GetLocation() != "Zürich, Schweiz" ||
		!ada.GetVerified() || ada.GetFollowersCount() != 120334 || ada.GetFollowingCount() != 1021 || ada.GetTweetCount() != 45012 ||
		ada.GetDescription() != "Analytical engines & fair datasets. Zürich ↔ London." ||
		!ada.GetCreatedAt().AsTime().Equal(time.Date(2012, 10, 9, 14, 3, 17, 0, time.UTC)) {
		t.Fatalf("profiles: %v", profiles)
	}
	end := pages[1].Next
	if end["batch"] != "0" || end["pass"] != "1" || !strings.HasPrefix(end["profile:"+adaID], "0:") {
		t.Errorf("cursor after a pass: %v", end)
	}

	// The next poll looks the accounts up again and writes only what
	// changed: nothing.
	again := walk(t, s, st, end)
	if n := len(again[0].Events) + len(again[1].Events); n != 0 {
		t.Errorf("%d profiles written again unchanged", n)
	}
	if p := again[1].Next; p["pass"] != "2" || !strings.HasPrefix(p["profile:"+adaID], "1:") {
		t.Errorf("cursor after a second pass: %v", p)
	}

	// A profile that changed is written again; an account no longer
	// configured is forgotten.
	pos := again[1].Next.Clone()
	pos["profile:"+adaID] = "1:0000"
	pos["profile:42"] = "1:abcd"
	third := walk(t, s, st, pos)
	if len(third[0].Events) != 0 || len(third[1].Events) != 1 || third[1].Events[0].Key != adaID {
		t.Errorf("changed profile: %d and %d events", len(third[0].Events), len(third[1].Events))
	}
	if _, kept := third[1].Next["profile:42"]; kept {
		t.Errorf("an account not seen in a pass stayed in the cursor: %v", third[1].Next)
	}
}

func TestTrendsMapTheXAPI(t *testing.T) {
	s, f := setup(t, nil)
	st := streamByID(t, s, "trends:1")
	page, err := s.Fetch(context.Background(), st, connectors.Position{})
	if err != nil {
		t.Fatal(err)
	}
	if r := f.Requests(); len(r) != 1 || r[0] != "/2/trends/by/woeid/1?max_trends=50&trend.fields=trend_name%2Ctweet_count" {
		t.Errorf("requests: %v", r)
	}
	want := []struct {
		name  string
		count int64
	}{{"#FairAI", 18342}, {"Zürich", 52310}, {"#日本シリーズ", 120944}, {"رمضان كريم 🌙", 0}, {"Open Data", 9021}}
	if len(page.Events) != len(want) || page.More || page.Done || page.Next["digest"] == "" {
		t.Fatalf("%d events, next %v", len(page.Events), page.Next)
	}
	for i, e := range page.Events {
		tr := e.Payload.(*fairstreampb.RawTwitterTrend)
		if e.Topic != twitter.TrendTopic || e.Key != "1" || tr.GetWoeid() != 1 || tr.GetRank() != int32(i+1) ||
			tr.GetName() != want[i].name || tr.GetTweetCount() != want[i].count || !tr.GetFetchedAt().AsTime().Equal(e.Time) {
			t.Errorf("trend %d: %s/%s %v", i, e.Topic, e.Key, tr)
		}
	}
	// The same list again is not written again.
	again, err := s.Fetch(context.Background(), st, page.Next)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Events) != 0 || again.Next["digest"] != page.Next["digest"] {
		t.Errorf("unchanged trends: %d events, next %v", len(again.Events), again.Next)
	}
	// A changed one is.
	changed, err := s.Fetch(context.Background(), st, connectors.Position{"digest": "0123"})
	if err != nil {
		t.Fatal(err)
	}
	if len(changed.Events) != 5 {
		t.Errorf("changed trends: %d events", len(changed.Events))
	}
	us, err := s.Fetch(context.Background(), streamByID(t, s, "trends:23424977"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(us.Events) != 3 || us.Events[2].Payload.(*fairstreampb.RawTwitterTrend).GetName() != "Café Tacvba" || us.Events[2].Key != "23424977" {
		t.Errorf("US trends: %v", us.Events)
	}
}
