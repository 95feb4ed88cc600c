package annotate

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
	"github.com/fairstream/fairstream/streams"
)

// chatCompletion is a reply shaped exactly like OpenAI's chat-completions
// API, with content as the assistant message.
func chatCompletion(content string, prompt, completion int) string {
	b, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-9xYz", "object": "chat.completion", "created": 1718000000, "model": "llama3.1:8b",
		"system_fingerprint": "fp_ollama",
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": content},
			"logprobs": nil, "finish_reason": "stop"}},
		"usage": map[string]any{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
	})
	return string(b)
}

const goodReply = `{"summary":"A release of the Ethereum client.","topics":["ethereum","software release"],"sentiment":{"label":"positive","compound":0.8,"rationale":"The author celebrates the release."}}`

// llmServer replays reply (a status and a body) for each request, after
// checking the request is a chat completion asking for JSON.
func llmServer(t *testing.T, status int, body string, delay time.Duration) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var req struct {
			Model          string `json:"model"`
			Messages       []struct{ Role, Content string }
			ResponseFormat struct {
				Type       string `json:"type"`
				JSONSchema struct {
					Name   string         `json:"name"`
					Schema map[string]any `json:"schema"`
				} `json:"json_schema"`
			} `json:"response_format"`
		}
		if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer sk-test" {
			t.Errorf("request %s %s, auth %q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Model != "llama3.1:8b" || len(req.Messages) != 2 ||
			req.ResponseFormat.Type != "json_schema" || req.ResponseFormat.JSONSchema.Schema["type"] != "object" {
			t.Errorf("request body: %+v, %v", req, err)
		}
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func llmConfig(url string) Config {
	cfg := DefaultConfig()
	cfg.LLM.BaseURL = url + "/v1"
	cfg.LLM.Model = "llama3.1:8b"
	cfg.LLM.APIKey = "sk-test"
	cfg.LLM.Timeout = 2 * time.Second
	cfg.LLM.PricePer1kPromptTokens = 0.5
	cfg.LLM.PricePer1kCompletionTokens = 1.5
	return cfg
}

// processDoc runs the stage's Process on one document.
func processDoc(t *testing.T, st streams.Stage[*fairstreampb.Document, *fairstreampb.AnnotatedDocument], doc *fairstreampb.Document) *fairstreampb.AnnotatedDocument {
	t.Helper()
	env, err := schemas.Builtin().Wrap(doc, schemas.Meta{Worker: "0xw", Key: doc.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := st.Process(context.Background(), streams.Event[*fairstreampb.Document]{Envelope: env, Payload: doc})
	if err != nil || len(outs) != 1 {
		t.Fatalf("Process = %v, %v; want one output (an LLM failure is not the stage's)", outs, err)
	}
	return outs[0].Payload
}

var llmDoc = &fairstreampb.Document{Id: "twitter:1", Text: "Just shipped the new #Ethereum client 🚀", Language: "en", LanguageConfidence: 1}

func TestLLMBackendOK(t *testing.T) {
	srv, _ := llmServer(t, 200, chatCompletion(goodReply, 1200, 300), 0)
	reg := prometheus.NewRegistry()
	st, err := Stage(llmConfig(srv.URL), WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	a := processDoc(t, st, llmDoc).GetAnnotations()
	llm := a.GetLlm()
	if a.GetLlmStatus() != LLMStatusOK || a.GetLlmError() != "" || llm.GetSummary() == "" || llm.GetSentiment().GetLabel() != LabelPositive ||
		llm.GetSentiment().GetCompound() != 0.8 || llm.GetSentiment().GetRationale() == "" || len(llm.GetTopics()) != 2 ||
		llm.GetModel() != "llama3.1:8b" || llm.GetPromptTokens() != 1200 || llm.GetCompletionTokens() != 300 {
		t.Errorf("annotations %v", a)
	}
	// The lexicon fields are there too.
	if a.GetSentiment().GetLabel() == "" || len(a.GetEntities()) == 0 || a.GetAnnotatorVersion() != Version {
		t.Errorf("lexicon fields missing: %v", a)
	}
	if got := metricValue(t, reg, "fairstream_annotate_llm_cost_total", "", ""); math.Abs(got-1.05) > 1e-9 {
		t.Errorf("cost %g, want 1.05", got)
	}
	if p, c := metricValue(t, reg, "fairstream_annotate_llm_tokens_total", "kind", "prompt"), metricValue(t, reg, "fairstream_annotate_llm_tokens_total", "kind", "completion"); p != 1200 || c != 300 {
		t.Errorf("tokens: prompt %g, completion %g", p, c)
	}
}

// metricValue sums the counters named name in reg whose label has value
// (any, when label is "").
func metricValue(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			ok := label == ""
			for _, l := range m.GetLabel() {
				ok = ok || l.GetName() == label && l.GetValue() == value
			}
			if ok {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// TestLLMBackendFailures: a 500, a timeout, a reply that is not JSON and
// replies that break the schema leave the document with its lexicon
// annotations, llm_status "missing" and the reason; each is one request.
func TestLLMBackendFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		delay   time.Duration
		outcome string
		reason  string
	}{
		{"500", 500, `{"error":{"message":"model crashed","type":"server_error"}}`, 0, "http_error", "500 Internal Server Error"},
		{"timeout", 200, chatCompletion(goodReply, 1, 1), 5 * time.Second, "timeout", "llm.timeout"},
		{"not JSON", 200, chatCompletion("Sure! Here is the JSON: {", 10, 5), 0, "invalid", "breaks the schema"},
		{"label outside the enum", 200, chatCompletion(strings.Replace(goodReply, `"positive"`, `"ecstatic"`, 1), 10, 5), 0, "invalid", "ecstatic"},
		{"compound outside [-1,1]", 200, chatCompletion(strings.Replace(goodReply, `0.8`, `1.7`, 1), 10, 5), 0, "invalid", "outside [-1, 1]"},
		{"missing field", 200, chatCompletion(`{"summary":"s","sentiment":{"label":"neutral","compound":0,"rationale":"r"}}`, 10, 5), 0, "invalid", `missing "topics"`},
		{"extra field", 200, chatCompletion(strings.Replace(goodReply, `"summary"`, `"mood":"meh","summary"`, 1), 10, 5), 0, "invalid", "mood"},
		{"wrong type", 200, chatCompletion(strings.Replace(goodReply, `0.8`, `"0.8"`, 1), 10, 5), 0, "invalid", "compound"},
		{"no choices", 200, `{"id":"x","object":"chat.completion","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":0}}`, 0, "invalid", "no choices"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, calls := llmServer(t, tc.status, tc.body, tc.delay)
			cfg := llmConfig(srv.URL)
			if tc.delay > 0 {
				cfg.LLM.Timeout = 100 * time.Millisecond
			}
			reg := prometheus.NewRegistry()
			st, err := Stage(cfg, WithRegisterer(reg))
			if err != nil {
				t.Fatal(err)
			}
			a := processDoc(t, st, llmDoc).GetAnnotations()
			if a.GetLlmStatus() != LLMStatusMissing || a.GetLlm() != nil || !strings.Contains(a.GetLlmError(), tc.reason) {
				t.Errorf("llm_status %q, llm_error %q, llm %v; want missing, naming %q", a.GetLlmStatus(), a.GetLlmError(), a.GetLlm(), tc.reason)
			}
			if strings.Contains(a.GetLlmError(), "sk-test") {
				t.Error("llm_error holds the API key")
			}
			if a.GetSentiment().GetLabel() == "" || len(a.GetEntities()) == 0 {
				t.Errorf("lexicon annotations lost: %v", a)
			}
			if calls.Load() != 1 {
				t.Errorf("%d requests, want 1 (no retry)", calls.Load())
			}
			if got := metricValue(t, reg, "fairstream_annotate_llm_requests_total", "outcome", tc.outcome); got != 1 {
				t.Errorf("requests with outcome %s: %g, want 1", tc.outcome, got)
			}
		})
	}
}

// TestLLMConcurrencyCap: no more than llm.max_concurrency requests are in
// flight at once.
func TestLLMConcurrencyCap(t *testing.T) {
	var inFlight, peak atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		inFlight.Add(-1)
		_, _ = w.Write([]byte(chatCompletion(goodReply, 1, 1)))
	}))
	defer srv.Close()
	cfg := llmConfig(srv.URL)
	cfg.LLM.MaxConcurrency = 2
	st, err := Stage(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const n = 6
	done := make(chan string, n)
	for range n {
		go func() {
			env, _ := schemas.Builtin().Wrap(llmDoc, schemas.Meta{Worker: "0xw"})
			outs, err := st.Process(context.Background(), streams.Event[*fairstreampb.Document]{Envelope: env, Payload: llmDoc})
			if err != nil {
				done <- err.Error()
				return
			}
			done <- outs[0].Payload.GetAnnotations().GetLlmStatus()
		}()
	}
	// Answer the requests one at a time, each only once the cap's worth
	// are waiting at the server: the others queue at the semaphore meanwhile,
	// and without the cap they would reach the server and lift the peak.
	for i := range n {
		for inFlight.Load() < int64(min(2, n-i)) {
			time.Sleep(time.Millisecond)
		}
		release <- struct{}{}
	}
	for range n {
		if s := <-done; s != LLMStatusOK {
			t.Errorf("status %q", s)
		}
	}
	if p := peak.Load(); p != 2 {
		t.Errorf("peak in flight %d, want 2", p)
	}
}

// TestLLMShutdown: when the stage's context ends during a request, Process
// returns the context's error (the runner abandons the batch) rather than
// recording a missing annotation.
func TestLLMShutdown(t *testing.T) {
	srv, _ := llmServer(t, 200, chatCompletion(goodReply, 1, 1), 10*time.Second)
	st, err := Stage(llmConfig(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	env, _ := schemas.Builtin().Wrap(llmDoc, schemas.Meta{Worker: "0xw"})
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	if _, err := st.Process(ctx, streams.Event[*fairstreampb.Document]{Envelope: env, Payload: llmDoc}); err == nil {
		t.Error("Process after the context ended: no error")
	}
}
