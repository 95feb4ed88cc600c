package model

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeEmbeddings is an httptest server speaking OpenAI's POST
// /v1/embeddings: each request is answered by the next scripted reply;
// when the script runs out it answers normally (vector i = [i+1, 0, ...]
// for input i), listing data in reverse order as a server may.
type fakeEmbeddings struct {
	t       *testing.T
	dims    int
	mu      sync.Mutex
	script  []func(w http.ResponseWriter, req embeddingsRequest)
	reqs    []embeddingsRequest
	headers []http.Header
}

func (f *fakeEmbeddings) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/embeddings" {
		http.Error(w, `{"error":{"message":"not found","type":"invalid_request_error","code":null}}`, http.StatusNotFound)
		return
	}
	var req embeddingsRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		f.t.Errorf("request body: %v", err)
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.headers = append(f.headers, r.Header.Clone())
	var step func(http.ResponseWriter, embeddingsRequest)
	if len(f.script) > 0 {
		step, f.script = f.script[0], f.script[1:]
	}
	f.mu.Unlock()
	if step == nil {
		step = f.ok
	}
	step(w, req)
}

// ok answers like OpenAI, data in reverse index order.
func (f *fakeEmbeddings) ok(w http.ResponseWriter, req embeddingsRequest) {
	f.reply(w, req, f.dims)
}

func (f *fakeEmbeddings) reply(w http.ResponseWriter, req embeddingsRequest, dims int) {
	var data []string
	for i := len(req.Input) - 1; i >= 0; i-- {
		vec := make([]string, dims)
		for d := range vec {
			vec[d] = "0"
		}
		vec[0] = fmt.Sprint(i + 1)
		data = append(data, fmt.Sprintf(`{"object":"embedding","index":%d,"embedding":[%s]}`, i, strings.Join(vec, ",")))
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"object":"list","data":[%s],"model":%q,"usage":{"prompt_tokens":%d,"total_tokens":%d}}`,
		strings.Join(data, ","), req.Model, 3*len(req.Input), 3*len(req.Input))
}

func apiError(status int, retryAfter, msg, typ, code string) func(http.ResponseWriter, embeddingsRequest) {
	return func(w http.ResponseWriter, _ embeddingsRequest) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"message":%q,"type":%q,"param":null,"code":%q}}`, msg, typ, code)
	}
}

func newFake(t *testing.T, dims int) (*fakeEmbeddings, OpenAIConfig) {
	f := &fakeEmbeddings{t: t, dims: dims}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg := DefaultConfig().OpenAI
	cfg.BaseURL = srv.URL + "/v1/"
	cfg.Model = "text-embedding-3-small"
	cfg.APIKey = "sk-test"
	cfg.Dimensions = dims
	cfg.BatchSize = 3
	cfg.MaxRetries = 2
	return f, cfg
}

// noSleep records the backoffs instead of sleeping.
type noSleep struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (n *noSleep) sleep(ctx context.Context, d time.Duration) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.waits = append(n.waits, d)
	return ctx.Err()
}

func newClient(t *testing.T, cfg OpenAIConfig) (*OpenAI, *noSleep) {
	t.Helper()
	o, err := NewOpenAI(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ns := &noSleep{}
	o.sleep = ns.sleep
	return o, ns
}

func TestOpenAIOrderAndBatches(t *testing.T) {
	f, cfg := newFake(t, 8)
	o, _ := newClient(t, cfg)
	texts := []string{"a", "b", "c", "d", "e", "f", "g"}
	got, err := o.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(texts) {
		t.Fatalf("got %d vectors for %d texts", len(got), len(texts))
	}
	// Batches of 3: inputs 0–2, 3–5, 6; within a batch vector i has i+1 first.
	for i, v := range got {
		if want := float32(i%3 + 1); v[0] != want || len(v) != 8 {
			t.Errorf("vector %d = %v, want first %v and 8 dimensions", i, v, want)
		}
	}
	if len(f.reqs) != 3 || strings.Join(f.reqs[1].Input, "") != "def" || f.reqs[0].Model != cfg.Model {
		t.Errorf("requests %+v, want 3 batches of at most 3 with model %s", f.reqs, cfg.Model)
	}
	if h := f.headers[0].Get("Authorization"); h != "Bearer sk-test" {
		t.Errorf("Authorization %q, want Bearer sk-test", h)
	}
	if f.reqs[0].Dimensions != 0 {
		t.Errorf("dimensions %d sent without openai.send_dimensions", f.reqs[0].Dimensions)
	}
	if o.Dimensions() != 8 || o.Name() != cfg.Model {
		t.Errorf("Dimensions, Name = %d, %q", o.Dimensions(), o.Name())
	}
}

func TestOpenAIRetryAfter(t *testing.T) {
	f, cfg := newFake(t, 4)
	f.script = append(f.script,
		apiError(http.StatusTooManyRequests, "7", "Rate limit reached for requests", "requests", "rate_limit_exceeded"),
		apiError(http.StatusBadGateway, "", "upstream", "server_error", ""),
	)
	o, ns := newClient(t, cfg)
	got, err := o.Embed(context.Background(), []string{"x"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0][0] != 1 {
		t.Errorf("got %v", got)
	}
	if len(ns.waits) != 2 || ns.waits[0] != 7*time.Second || ns.waits[1] <= 0 || ns.waits[1] > time.Second {
		t.Errorf("waits %v, want [7s (Retry-After), a jittered backoff in (0, 1s]]", ns.waits)
	}
}

func TestOpenAIGivesUp(t *testing.T) {
	f, cfg := newFake(t, 4)
	for range 3 {
		f.script = append(f.script, apiError(http.StatusServiceUnavailable, "1", "overloaded", "server_error", "overloaded"))
	}
	o, ns := newClient(t, cfg)
	_, err := o.Embed(context.Background(), []string{"x"})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 503 || apiErr.Code != "overloaded" || !strings.Contains(err.Error(), "after 3 attempts") {
		t.Fatalf("err = %v, want a 503 APIError after 3 attempts", err)
	}
	if len(ns.waits) != 2 {
		t.Errorf("%d waits, want 2 (max_retries)", len(ns.waits))
	}
}

func TestOpenAIClientErrorNotRetried(t *testing.T) {
	f, cfg := newFake(t, 4)
	f.script = append(f.script, apiError(http.StatusUnauthorized, "", "Incorrect API key provided: sk-test.", "invalid_request_error", "invalid_api_key"))
	o, ns := newClient(t, cfg)
	_, err := o.Embed(context.Background(), []string{"x"})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 401 || apiErr.Type != "invalid_request_error" ||
		apiErr.Code != "invalid_api_key" || !strings.Contains(apiErr.Message, "Incorrect API key") {
		t.Fatalf("err = %#v, want the 401 error body decoded", err)
	}
	if len(ns.waits) != 0 || len(f.reqs) != 1 {
		t.Errorf("a 401 was retried: %d waits, %d requests", len(ns.waits), len(f.reqs))
	}
}

func TestOpenAIDimensionMismatch(t *testing.T) {
	f, cfg := newFake(t, 4)
	f.script = append(f.script, func(w http.ResponseWriter, req embeddingsRequest) { f.reply(w, req, 5) })
	o, _ := newClient(t, cfg)
	_, err := o.Embed(context.Background(), []string{"x"})
	if err == nil || !strings.Contains(err.Error(), "5 dimensions") || !strings.Contains(err.Error(), "openai.dimensions is 4") {
		t.Fatalf("err = %v, want a mismatch naming 5 and 4", err)
	}
	if len(f.reqs) != 1 {
		t.Errorf("a malformed reply was retried (%d requests)", len(f.reqs))
	}
}

func TestOpenAIBadIndexes(t *testing.T) {
	f, cfg := newFake(t, 2)
	f.script = append(f.script, func(w http.ResponseWriter, _ embeddingsRequest) {
		fmt.Fprint(w, `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[1,0]},{"object":"embedding","index":0,"embedding":[1,0]}],"model":"m","usage":{"prompt_tokens":2,"total_tokens":2}}`)
	})
	o, _ := newClient(t, cfg)
	if _, err := o.Embed(context.Background(), []string{"x", "y"}); err == nil || !strings.Contains(err.Error(), "repeated") {
		t.Fatalf("err = %v, want a repeated index error", err)
	}
}

func TestOpenAIContextCancelled(t *testing.T) {
	f, cfg := newFake(t, 4)
	f.script = append(f.script, apiError(http.StatusTooManyRequests, "30", "slow down", "requests", "rate_limit_exceeded"))
	o, err := NewOpenAI(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	o.sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	if _, err := o.Embed(ctx, []string{"x"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestRetryAfterHeader(t *testing.T) {
	for h, want := range map[string]time.Duration{
		"":        0,
		"2":       2 * time.Second,
		"0.5":     500 * time.Millisecond,
		"bogus":   0,
		"1000000": 5 * time.Minute,
	} {
		if got := retryAfter(h); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", h, got, want)
		}
	}
	if got := retryAfter(time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)); got != 5*time.Minute {
		t.Errorf("retryAfter(an HTTP date an hour ahead) = %v, want the 5m cap", got)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	c := DefaultConfig()
	c.Backend = "onnx"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "backend") {
		t.Errorf("backend onnx: %v", err)
	}
	c = DefaultConfig()
	c.BatchSize = 0
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "batch_size") {
		t.Errorf("batch_size 0: %v", err)
	}
	c = DefaultConfig()
	c.Backend = BackendOpenAI
	c.OpenAI.BaseURL = "localhost:8080"
	c.OpenAI.MaxRetries = -1
	err := c.Validate()
	for _, key := range []string{"openai.base_url", "openai.model", "openai.dimensions", "openai.max_retries"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Validate() = %v, want it to name %s", err, key)
		}
	}
	if _, err := New(c); err == nil {
		t.Error("New accepted an invalid config")
	}
	c.OpenAI.BaseURL, c.OpenAI.Model, c.OpenAI.Dimensions, c.OpenAI.MaxRetries = "http://127.0.0.1:8080/v1", "bge-small", 384, 0
	e, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.(*OpenAI); !ok || e.Dimensions() != 384 {
		t.Errorf("New(openai) = %T with %d dimensions", e, e.Dimensions())
	}
}

func TestDefaultModelDir(t *testing.T) {
	t.Setenv("FAIRSTREAM_CACHE", "/srv/cache")
	if got, want := DefaultModelDir(), "/srv/cache/models/all-MiniLM-L6-v2"; got != want {
		t.Errorf("DefaultModelDir() = %q, want %q", got, want)
	}
	c := DefaultConfig()
	c.ModelDir = t.TempDir()
	if _, err := New(c); err == nil || !strings.Contains(err.Error(), "fetch-model") {
		t.Errorf("New with an empty model_dir folder: %v, want an error saying how to fetch the model", err)
	}
}
