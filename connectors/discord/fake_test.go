package discord_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/connectors/discord"
)

// token is the example bot token of Discord's API reference.
const token = "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs"

// IDs in testdata/.
const (
	guild     = "815886080409731072"
	chanA     = "815887338700931072"  // #fair-ai: 10 messages, threads T1-T5 (and private T7)
	chanB     = "815887590359171072"  // #quiet: no messages
	forum     = "1014867217612931072" // #help: a forum with post P1
	threadT1  = "1440995082240131072" // active, started by m5, 4 messages
	threadT2  = "1441050447052931072" // archived, started by m9, 2 messages
	threadT3  = "1440250173849731079" // archived, 1 message
	threadT4  = "1439887785984131075" // archived, 2 messages
	threadT5  = "1439525398118531073" // archived, 1 message; its last_message_id was deleted
	threadT6  = "1441080646041731072" // active, in #off-topic
	threadT7  = "1441088195788931072" // active, private, in #fair-ai
	postP1    = "1441337337446531072" // active post in #help, 2 messages
	m1        = "1440990049578647552"
	m2        = "1440990856478851072"
	m3        = "1440992754401411072"
	m5        = "1440995082240131072"
	m7        = "1441027797811331072"
	m9        = "1441050447052931072"
	m10       = "1441065546547331072"
	unknown   = "815887999999999999" // 404 Unknown Channel
	forbidden = "815888000000000001" // 403 Missing Access
	emojiID   = "938252894732419072"

	// wantA is what #fair-ai yields with its threads: 10 + 4 + 2 + 1 + 2 + 1.
	wantA = 20
)

// fakeDiscord serves the REST API from testdata/ the way Discord does:
// messages newest first, paged with after and limit; the guild's active
// threads; a channel's archived public threads, newest archive first, paged
// with before and limit; JSON error bodies; rate-limit headers on every
// response, and 429s for a request on an exhausted bucket.
type fakeDiscord struct {
	t  testing.TB
	mu sync.Mutex
	// chans holds every channel and thread, as JSON objects.
	chans map[string]map[string]any
	msgs  map[string][]json.RawMessage
	// requests logs each request ("/channels/1/messages?after=0&limit=3").
	requests []request
	buckets  map[string]*bucket
	limited  []limited // answers queued for the next requests
	// throttled counts the 429s for requests on an exhausted bucket.
	throttled int
}

type request struct {
	at     time.Time
	url    string
	header http.Header
}

type bucket struct {
	start time.Time
	used  int
}

// limited is a queued 429: only a JSON body, unless headers are given.
type limited struct {
	body   string
	header map[string]string
}

// The emulated per-route limit: 10 requests per 100 ms.
const (
	bucketLimit  = 10
	bucketWindow = 100 * time.Millisecond
)

func newFake(t testing.TB) *fakeDiscord {
	f := &fakeDiscord{t: t, chans: map[string]map[string]any{}, msgs: map[string][]json.RawMessage{}, buckets: map[string]*bucket{}}
	var chans []map[string]any
	readJSON(t, "testdata/channels.json", &chans)
	for _, c := range chans {
		f.chans[c["id"].(string)] = c
	}
	var archived map[string][]map[string]any
	readJSON(t, "testdata/threads_archived.json", &archived)
	for _, ts := range archived {
		for _, c := range ts {
			f.chans[c["id"].(string)] = c
		}
	}
	var active struct {
		Threads []map[string]any `json:"threads"`
	}
	readJSON(t, "testdata/threads_active.json", &active)
	for _, c := range active.Threads {
		f.chans[c["id"].(string)] = c
	}
	readJSON(t, "testdata/messages.json", &f.msgs)
	return f
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func snowflake(s string) uint64 {
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

func idOf(raw json.RawMessage) uint64 {
	var m struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(raw, &m)
	return snowflake(m.ID)
}

// post adds a message to a channel or thread, as if it was just sent: a
// message in an archived thread unarchives it.
func (f *fakeDiscord) post(channel, id, author, content string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	at := time.UnixMilli(int64(snowflake(id)>>22) + 1420070400000).UTC()
	m := map[string]any{"type": 0, "id": id, "channel_id": channel, "content": content, "timestamp": at.Format("2006-01-02T15:04:05.000000+00:00"),
		"edited_timestamp": nil, "author": map[string]any{"id": author, "username": "late_" + author[:4], "global_name": nil, "discriminator": "0", "avatar": nil},
		"mentions": []any{}, "mention_roles": []any{}, "attachments": []any{}, "embeds": []any{}, "pinned": false, "mention_everyone": false, "tts": false, "flags": 0, "components": []any{}}
	raw, _ := json.Marshal(m)
	f.msgs[channel] = append([]json.RawMessage{raw}, f.msgs[channel]...)
	c := f.chans[channel]
	c["last_message_id"] = id
	if md, ok := c["thread_metadata"].(map[string]any); ok && md["archived"] == true {
		md["archived"] = false
		md["archive_timestamp"] = at.Format("2006-01-02T15:04:05.000000+00:00")
	}
}

// tooMany queues a 429 for the next request.
func (f *fakeDiscord) tooMany(l limited) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limited = append(f.limited, l)
}

// log returns the requests so far.
func (f *fakeDiscord) log() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

// paths returns the requests' URLs, without the /api/v10 prefix.
func (f *fakeDiscord) paths() []string {
	var out []string
	for _, r := range f.log() {
		out = append(out, strings.TrimPrefix(r.url, "/api/v10"))
	}
	return out
}

func (f *fakeDiscord) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	f.requests = append(f.requests, request{at: now, url: r.URL.RequestURI(), header: r.Header.Clone()})
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != "Bot "+token {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "401: Unauthorized", "code": 0})
		return
	}
	if !strings.HasPrefix(r.Header.Get("User-Agent"), "DiscordBot (") {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "a DiscordBot user agent is required", "code": 0})
		return
	}
	if len(f.limited) > 0 {
		l := f.limited[0]
		f.limited = f.limited[1:]
		for k, v := range l.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(l.body))
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/api/v10/")
	if !ok || r.Method != http.MethodGet {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "404: Not Found", "code": 0})
		return
	}
	parts := strings.Split(path, "/")
	route, major := routeOf(parts)
	if !f.rateLimit(w, now, route, major) {
		return
	}
	q := r.URL.Query()
	switch {
	case route == "channels/{id}" || route == "channels/{id}/messages" || route == "channels/{id}/threads/archived/public":
		switch major {
		case forbidden:
			writeJSON(w, http.StatusForbidden, map[string]any{"message": "Missing Access", "code": 50001})
			return
		}
		c, ok := f.chans[major]
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]any{"message": "Unknown Channel", "code": 10003})
			return
		}
		switch route {
		case "channels/{id}":
			writeJSON(w, http.StatusOK, c)
		case "channels/{id}/messages":
			f.serveMessages(w, major, q.Get("after"), q.Get("limit"))
		default:
			f.serveArchived(w, major, q.Get("before"), q.Get("limit"))
		}
	case route == "guilds/{id}/threads/active" && major == guild:
		var threads []map[string]any
		for _, c := range f.chans {
			if md, ok := c["thread_metadata"].(map[string]any); ok && md["archived"] == false {
				threads = append(threads, c)
			}
		}
		slices.SortFunc(threads, func(a, b map[string]any) int {
			return cmp.Compare(snowflake(b["id"].(string)), snowflake(a["id"].(string)))
		})
		writeJSON(w, http.StatusOK, map[string]any{"threads": threads, "members": []any{}})
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Unknown Guild", "code": 10004})
	}
}

// routeOf returns the route with its IDs replaced, and its top-level
// resource ID (the "major parameter" buckets are keyed by).
func routeOf(parts []string) (route, major string) {
	var out []string
	for i, p := range parts {
		if _, err := strconv.ParseUint(p, 10, 64); err == nil {
			if major == "" && i == 1 {
				major = p
			}
			p = "{id}"
		}
		out = append(out, p)
	}
	return strings.Join(out, "/"), major
}

// rateLimit sends the bucket's headers, or a 429 when it is exhausted.
func (f *fakeDiscord) rateLimit(w http.ResponseWriter, now time.Time, route, major string) bool {
	key := route + " " + major
	b := f.buckets[key]
	if b == nil || now.Sub(b.start) >= bucketWindow {
		b = &bucket{start: now}
		f.buckets[key] = b
	}
	reset := b.start.Add(bucketWindow)
	after := math.Ceil(reset.Sub(now).Seconds()*1000) / 1000
	h := fnv.New64a()
	_, _ = h.Write([]byte(route))
	w.Header().Set("X-RateLimit-Bucket", fmt.Sprintf("%016x", h.Sum64()))
	w.Header().Set("X-RateLimit-Limit", strconv.Itoa(bucketLimit))
	w.Header().Set("X-RateLimit-Reset", strconv.FormatFloat(float64(reset.UnixMilli())/1000, 'f', 3, 64))
	w.Header().Set("X-RateLimit-Reset-After", strconv.FormatFloat(after, 'f', 3, 64))
	if b.used >= bucketLimit {
		f.throttled++
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Scope", "user")
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(after))))
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"message": "You are being rate limited.", "retry_after": after, "global": false})
		return false
	}
	b.used++
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(bucketLimit-b.used))
	return true
}

// serveMessages answers GET /channels/{id}/messages?after=&limit=: the
// oldest limit messages after the ID, newest first; without after, the
// newest limit.
func (f *fakeDiscord) serveMessages(w http.ResponseWriter, channel, after, limit string) {
	n, err := strconv.Atoi(cmp.Or(limit, "50"))
	if err != nil || n < 1 || n > 100 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Invalid Form Body", "code": 50035,
			"errors": map[string]any{"limit": map[string]any{"_errors": []any{map[string]any{"code": "NUMBER_TYPE_MAX", "message": "int value should be less than or equal to 100."}}}}})
		return
	}
	all := slices.Clone(f.msgs[channel])
	slices.SortFunc(all, func(a, b json.RawMessage) int { return cmp.Compare(idOf(a), idOf(b)) }) // oldest first
	var page []json.RawMessage
	if after == "" {
		page = all[max(0, len(all)-n):]
	} else {
		a := snowflake(after)
		for _, m := range all {
			if idOf(m) > a && len(page) < n {
				page = append(page, m)
			}
		}
	}
	slices.Reverse(page)
	writeJSON(w, http.StatusOK, append([]json.RawMessage{}, page...))
}

// serveArchived answers GET /channels/{id}/threads/archived/public.
func (f *fakeDiscord) serveArchived(w http.ResponseWriter, channel, before, limit string) {
	n, err := strconv.Atoi(cmp.Or(limit, "50"))
	if err != nil || n < 1 || n > 100 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Invalid Form Body", "code": 50035})
		return
	}
	var cutoff time.Time
	if before != "" {
		if cutoff, err = time.Parse(time.RFC3339Nano, before); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Invalid Form Body", "code": 50035})
			return
		}
	}
	type th struct {
		c  map[string]any
		at time.Time
	}
	var all []th
	for _, c := range f.chans {
		md, ok := c["thread_metadata"].(map[string]any)
		if !ok || md["archived"] != true || c["parent_id"] != channel || c["type"] == float64(12) {
			continue
		}
		at, _ := time.Parse(time.RFC3339Nano, md["archive_timestamp"].(string))
		if cutoff.IsZero() || at.Before(cutoff) {
			all = append(all, th{c, at})
		}
	}
	slices.SortFunc(all, func(a, b th) int { return b.at.Compare(a.at) })
	threads := []map[string]any{}
	for _, t := range all[:min(n, len(all))] {
		threads = append(threads, t.c)
	}
	writeJSON(w, http.StatusOK, map[string]any{"threads": threads, "members": []any{}, "has_more": len(all) > n})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// newSource builds the connector against the fake at baseURL.
func newSource(t testing.TB, baseURL string, client *connectors.Client, edit ...func(*discord.Config)) *discord.Source {
	t.Helper()
	cfg := discord.DefaultConfig()
	cfg.BotToken = token
	cfg.APIURL = baseURL + "/api/v10"
	cfg.Channels = []string{chanA, chanB}
	cfg.Limit = 3 // several pages from the recorded messages
	for _, e := range edit {
		e(&cfg)
	}
	s, err := discord.New(cfg, client)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
