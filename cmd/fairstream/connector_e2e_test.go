package main

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// xSearch serves GET /2/tweets/search/recent from two recorded pages of the
// X API v2 (the twitter connector's testdata), chained by next_token, and
// honours since_id the way X does. While failing is set it answers the
// second page with X's 503 body, so a connector can be stopped mid-walk.
type xSearch struct {
	token string
	pages []map[string]json.RawMessage // pages[i] is asked for by tokens[i]
	tok   []string

	mu       sync.Mutex
	failing  bool
	requests []string // the query strings, in order
	lookups  int      // post lookups (the validator's re-fetches)
}

func newXSearch(t *testing.T, token string) *xSearch {
	t.Helper()
	x := &xSearch{token: token, tok: []string{"", "page-2-token"}, failing: true}
	for i, f := range []string{"search_recent_1.json", "search_recent_2.json"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "connectors", "twitter", "testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		var page map[string]json.RawMessage
		if err := json.Unmarshal(b, &page); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var meta map[string]any
		if err := json.Unmarshal(page["meta"], &meta); err != nil {
			t.Fatalf("%s meta: %v", f, err)
		}
		delete(meta, "next_token")
		if i+1 < len(x.tok) {
			meta["next_token"] = x.tok[i+1]
		}
		page["meta"], _ = json.Marshal(meta)
		x.pages = append(x.pages, page)
	}
	return x
}

// ids returns the post IDs of every recorded page.
func (x *xSearch) ids(t *testing.T) []string {
	t.Helper()
	var all []string
	for _, p := range x.pages {
		var data []struct{ ID string }
		if err := json.Unmarshal(p["data"], &data); err != nil {
			t.Fatal(err)
		}
		for _, d := range data {
			all = append(all, d.ID)
		}
	}
	return all
}

func (x *xSearch) setFailing(v bool) {
	x.mu.Lock()
	x.failing = v
	x.mu.Unlock()
}

func (x *xSearch) sawSince(id string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, q := range x.requests {
		if strings.Contains(q, "since_id="+id) {
			return true
		}
	}
	return false
}

func (x *xSearch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("x-rate-limit-limit", "450")
	w.Header().Set("x-rate-limit-remaining", "449")
	w.Header().Set("x-rate-limit-reset", fmt.Sprint(time.Now().Add(15*time.Minute).Unix()))
	if r.Header.Get("Authorization") != "Bearer "+x.token {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}`)
		return
	}
	if r.URL.Path == "/2/tweets" {
		x.lookup(w, r)
		return
	}
	if r.URL.Path != "/2/tweets/search/recent" {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"errors":[{"message":"Sorry, that page does not exist","code":34}]}`)
		return
	}
	q := r.URL.Query()
	x.mu.Lock()
	x.requests = append(x.requests, r.URL.RawQuery)
	failing := x.failing
	x.mu.Unlock()
	i := slices.Index(x.tok, q.Get("next_token"))
	if i < 0 {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"errors":[{"parameters":{"next_token":[%q]},"message":"The next_token query parameter value [%s] is not valid"}],"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.twitter.com/2/problems/invalid-request"}`, q.Get("next_token"), q.Get("next_token"))
		return
	}
	if i > 0 && failing {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"title":"Service Unavailable","detail":"Service Unavailable","type":"about:blank","status":503}`)
		return
	}
	page := x.pages[i]
	if since, ok := new(big.Int).SetString(q.Get("since_id"), 10); ok {
		var data []json.RawMessage
		if err := json.Unmarshal(page["data"], &data); err != nil {
			panic(err)
		}
		var keep []json.RawMessage
		for _, d := range data {
			var t struct{ ID string }
			_ = json.Unmarshal(d, &t)
			if id, ok := new(big.Int).SetString(t.ID, 10); ok && id.Cmp(since) > 0 {
				keep = append(keep, d)
			}
		}
		if len(keep) == 0 {
			fmt.Fprint(w, `{"meta":{"result_count":0}}`)
			return
		}
		page = map[string]json.RawMessage{"data": mustJSON(keep), "includes": page["includes"],
			"meta": mustJSON(map[string]any{"result_count": len(keep)})}
	}
	_ = json.NewEncoder(w).Encode(page)
}

// lookup serves GET /2/tweets?ids= (the validator re-fetches sampled
// posts) from the recorded pages, as X answers it: the posts it holds as
// data with their pages' includes, a resource-not-found entry in errors
// for any other ID.
func (x *xSearch) lookup(w http.ResponseWriter, r *http.Request) {
	x.mu.Lock()
	x.lookups++
	x.mu.Unlock()
	var data []json.RawMessage
	var errs []any
	includes := map[string][]json.RawMessage{}
	for _, id := range strings.Split(r.URL.Query().Get("ids"), ",") {
		found := false
		for _, p := range x.pages {
			var posts []json.RawMessage
			if err := json.Unmarshal(p["data"], &posts); err != nil {
				panic(err)
			}
			for _, post := range posts {
				var t struct{ ID string }
				_ = json.Unmarshal(post, &t)
				if t.ID != id {
					continue
				}
				found = true
				data = append(data, post)
				var inc map[string][]json.RawMessage
				_ = json.Unmarshal(p["includes"], &inc)
				for k, v := range inc {
					includes[k] = append(includes[k], v...)
				}
			}
		}
		if !found {
			errs = append(errs, map[string]string{"value": id, "detail": "Could not find tweet with ids: [" + id + "].", "title": "Not Found Error",
				"resource_type": "tweet", "parameter": "ids", "resource_id": id, "type": "https://api.twitter.com/2/problems/resource-not-found"})
		}
	}
	out := map[string]any{}
	if data != nil {
		out["data"] = data
		out["includes"] = includes
	}
	if errs != nil {
		out["errors"] = errs
	}
	_ = json.NewEncoder(w).Encode(out)
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// tweetEvents reads raw.twitter.v1 to its end and returns each event's key
// (the post ID), failing on an event whose signature does not verify or
// that is not the worker's.
func tweetEvents(t *testing.T, d *dev, worker string) []string {
	t.Helper()
	r := run(t, "", d.env(), "tail", "raw.twitter.v1", "--json", "--follow=false", "--idle", "2s")
	if r.code != 0 {
		t.Fatalf("tail raw.twitter.v1: exit %d\n%s", r.code, r.stderr)
	}
	var keys []string
	for _, ln := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if ln == "" {
			continue
		}
		var ev struct {
			Key            string `json:"key"`
			Type           string `json:"type"`
			Worker         string `json:"worker"`
			SignatureValid bool   `json:"signature_valid"`
		}
		if err := json.Unmarshal([]byte(ln), &ev); err != nil {
			t.Fatalf("tail --json line %q: %v", ln, err)
		}
		if !ev.SignatureValid || ev.Type != "raw.tweet/v1" || !strings.EqualFold(ev.Worker, worker) {
			t.Fatalf("event %s: type %s, worker %s (want %s), signature_valid %v", ev.Key, ev.Type, ev.Worker, worker, ev.SignatureValid)
		}
		keys = append(keys, ev.Key)
	}
	return keys
}

// TestDevRunsConnectors runs `fairstream dev` with the twitter connector
// pointed at a recorded X API, kills it (SIGKILL) in the middle of a
// search walk, restarts it, and checks that every post is on
// raw.twitter.v1 exactly once, signed by the worker's key.
func TestDevRunsConnectors(t *testing.T) {
	const token = "AAAAAAAAAAAAAAAAAAAAAFairstreamE2ETestToken"
	x := newXSearch(t, token)
	srv := httptest.NewServer(x)
	defer srv.Close()

	dataDir := t.TempDir()
	cfgFile := filepath.Join(t.TempDir(), "fairstream.yaml")
	if err := os.WriteFile(cfgFile, []byte(fmt.Sprintf(`processors:
  trends:
    idle_advance: 1s
    min_count: 1
validator:
  # The recorded posts are a year old: score them (as a backfill would be)
  # rather than drop them as late, and re-fetch every one.
  allowed_lateness: 17520h
  freshness_half_life: 8760h
  sample_rate: 1
  merge_hold: 500ms
  tick_interval: 200ms
connectors:
  poll_interval: 1s
  twitter:
    enabled: true
    api_url: %s
    queries: ["#FairAI -is:retweet"]
`, srv.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	env := cleanEnv("FAIRSTREAM_CONFIG="+cfgFile, "FAIRSTREAM_WORKER_PASSPHRASE=correct horse",
		"FAIRSTREAM_CONNECTORS_TWITTER_BEARER_TOKEN="+token, "FAIRSTREAM_DATA_DIR="+dataDir)

	// Without a worker key, dev says how to make one.
	r := run(t, "", env, "dev", "--broker-listen", "127.0.0.1:0", "--metrics-listen", "")
	if r.code == 0 || !strings.Contains(r.stderr, "twitter") || !strings.Contains(r.stderr, "fairstream keys gen") {
		t.Fatalf("dev without a key: exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	r = run(t, "", env, "keys", "gen")
	if r.code != 0 {
		t.Fatalf("keys gen: exit %d\n%s", r.code, r.stderr)
	}
	r = run(t, "", env, "keys", "show")
	var key struct{ Address string }
	if _, err := fmt.Sscanf(r.stdout, "worker %s", &key.Address); r.code != 0 || err != nil || !strings.HasPrefix(key.Address, "0x") {
		t.Fatalf("keys show: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}

	all := x.ids(t)
	first := all[:len(all)/2] // the first page's posts
	d := startDevEnv(t, env, dataDir)
	if !slices.ContainsFunc(d.lines, func(l string) bool { return strings.Contains(l, "connector") && strings.Contains(l, "twitter") }) {
		t.Errorf("dev printed no twitter connector line:\n%s", strings.Join(d.lines, "\n"))
	}
	// The first page is written; the second fails with 503s and is retried.
	waitFor(t, "the first page on raw.twitter.v1", func() bool { return len(tweetEvents(t, d, key.Address)) >= len(first) })
	got := tweetEvents(t, d, key.Address)
	slices.Sort(got)
	first = slices.Sorted(slices.Values(first))
	if !slices.Equal(got, first) {
		t.Fatalf("before the restart raw.twitter.v1 holds %v, want the first page %v", got, first)
	}
	d.kill()

	x.setFailing(false)
	d = startDevEnv(t, env, dataDir)
	defer d.kill()
	// The walk goes on from its next_token; then the next one asks only for
	// posts newer than the newest seen.
	waitFor(t, "a search with since_id after the restart", func() bool { return x.sawSince(all[0]) }, func() string {
		x.mu.Lock()
		defer x.mu.Unlock()
		return fmt.Sprintf("requests:\n%s\ndev stderr:\n%s", strings.Join(x.requests, "\n"), d.stderr.String())
	})
	got = tweetEvents(t, d, key.Address)
	slices.Sort(got)
	want := slices.Clone(all)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("after the restart raw.twitter.v1 holds %d events %v, want each of %d posts once %v", len(got), got, len(want), want)
	}

	// trends ranks the posts' terms live: snapshots of 15-minute windows
	// over their event times, #fairai among the terms.
	waitFor(t, "a trends snapshot with #fairai", func() bool {
		r := run(t, "", d.env(), "tail", "trends.twitter.v1", "--json", "--follow=false", "--idle", "2s")
		for _, ln := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			var snap struct {
				Type    string `json:"type"`
				Key     string `json:"key"`
				Payload struct {
					Source string `json:"source"`
					Terms  []struct {
						Term  string `json:"term"`
						Rank  int    `json:"rank"`
						Count string `json:"count"`
					} `json:"terms"`
				} `json:"payload"`
			}
			if json.Unmarshal([]byte(ln), &snap) != nil || snap.Type != "trends.snapshot/v1" || snap.Key != "twitter/15m0s" {
				continue
			}
			for _, term := range snap.Payload.Terms {
				if term.Term == "#fairai" && term.Rank >= 1 && term.Count != "" {
					return true
				}
			}
		}
		return false
	})

	// The validator scored every post: the worker's windows are in
	// worker_utility, each post verified by re-fetching it from the
	// source, and `fairstream sql` answers the analyst's query.
	if d.analytics != "" && strings.HasPrefix(d.analytics, "chdb") {
		var out string
		waitFor(t, "the worker's windows in worker_utility", func() bool {
			r := run(t, "", d.env("FAIRSTREAM_METRICS_LISTEN="+d.metrics), "sql", "--data-dir", dataDir, "--format", "csv",
				"SELECT worker, sum(utility) AS utility, sum(records) AS records, sum(verified) AS verified FROM worker_utility FINAL GROUP BY worker")
			out = r.stdout + r.stderr
			return r.code == 0 && strings.Contains(strings.ToLower(r.stdout), strings.ToLower(key.Address)+",") &&
				strings.Contains(r.stdout, fmt.Sprintf(",%d,%d", len(all), len(all)))
		}, func() string { return out + "\ndev stderr:\n" + d.stderr.String() })
		t.Logf("fairstream sql: %s", out)
		r := run(t, "", d.env("FAIRSTREAM_METRICS_LISTEN="+d.metrics), "sql", "--data-dir", dataDir, "--format", "csv",
			"SELECT worker, sum(utility) AS utility FROM worker_utility FINAL GROUP BY worker")
		if r.code != 0 || !strings.Contains(strings.ToLower(r.stdout), strings.ToLower(key.Address)) {
			t.Fatalf("the acceptance query: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		var utility float64
		for _, ln := range strings.Split(r.stdout, "\n") {
			if f := strings.Split(ln, ","); len(f) == 2 && strings.EqualFold(f[0], key.Address) {
				fmt.Sscan(f[1], &utility)
			}
		}
		if utility <= 0 {
			t.Errorf("the worker's utility is %v, want > 0:\n%s", utility, r.stdout)
		}
		r = run(t, "", d.env("FAIRSTREAM_METRICS_LISTEN="+d.metrics), "sql", "--data-dir", dataDir, "--format", "csv",
			"SELECT verification, count() AS n FROM contributions FINAL GROUP BY verification ORDER BY verification")
		if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("verified,%d", len(all))) {
			t.Errorf("contributions by verification: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	}
	d.kill()

	// A refused token stops dev with the source's answer and the setting.
	env = append(env, "FAIRSTREAM_CONNECTORS_TWITTER_BEARER_TOKEN=revoked")
	r = run(t, "", env, "dev", "--broker-listen", "127.0.0.1:0", "--metrics-listen", "")
	if r.code == 0 || !strings.Contains(r.stderr, "401 Unauthorized") || !strings.Contains(r.stderr, "check connectors.twitter.bearer_token") {
		t.Fatalf("dev with a refused token: exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	t.Logf("a refused token: %s", lastLine(r.stderr))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// waitFor waits for cond; on timeout it fails with what and the
// explanations' texts.
func waitFor(t *testing.T, what string, cond func() bool, explain ...func() string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			var more []string
			for _, e := range explain {
				more = append(more, e())
			}
			t.Fatalf("timed out waiting for %s\n%s", what, strings.Join(more, "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
