package annotate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// LLM statuses.
const (
	LLMStatusOK      = "ok"
	LLMStatusMissing = "missing"
)

// maxLLMReply bounds the bytes of a backend's reply that are read.
const maxLLMReply = 1 << 20

// llmSchema is the JSON schema the backend is asked to follow, and that
// parseLLMReply enforces whether or not the server honoured it.
var llmSchema = map[string]any{
	"type":                 "object",
	"additionalProperties": false,
	"required":             []string{"summary", "topics", "sentiment"},
	"properties": map[string]any{
		"summary": map[string]any{"type": "string"},
		"topics":  map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
		"sentiment": map[string]any{
			"type":                 "object",
			"additionalProperties": false,
			"required":             []string{"label", "compound", "rationale"},
			"properties": map[string]any{
				"label":     map[string]any{"type": "string", "enum": []string{LabelPositive, LabelNegative, LabelNeutral}},
				"compound":  map[string]any{"type": "number", "minimum": -1, "maximum": 1},
				"rationale": map[string]any{"type": "string"},
			},
		},
	},
}

const llmSystemPrompt = `You annotate documents for a data pipeline. Reply with one JSON object and nothing else, with exactly these fields:
"summary": one or two sentences summarising the document, in its language;
"topics": up to 5 short lower-case topic labels, the most relevant first;
"sentiment": {"label": "positive", "negative" or "neutral", "compound": a number from -1 (most negative) to 1 (most positive), "rationale": one sentence saying why}.`

// llmClient calls an OpenAI-compatible chat-completions endpoint.
type llmClient struct {
	cfg     LLMConfig
	http    *http.Client
	sem     chan struct{}
	metrics *llmMetrics
}

type llmMetrics struct {
	requests *prometheus.CounterVec // by outcome
	tokens   *prometheus.CounterVec // by kind: prompt, completion
	cost     prometheus.Counter
}

func newLLMMetrics(reg prometheus.Registerer) *llmMetrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &llmMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "fairstream", Subsystem: "annotate", Name: "llm_requests_total",
			Help: "LLM backend requests by outcome: ok, http_error, timeout, invalid (a reply that breaks the schema), error."}, []string{"outcome"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "fairstream", Subsystem: "annotate", Name: "llm_tokens_total",
			Help: "Tokens the LLM backend reported in usage, by kind: prompt, completion."}, []string{"kind"}),
		cost: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "fairstream", Subsystem: "annotate", Name: "llm_cost_total",
			Help: "Cost of the LLM backend's tokens at llm.price_per_1k_prompt_tokens and llm.price_per_1k_completion_tokens."}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.tokens, m.cost} {
		_ = reg.Register(c) // a second stage in one process shares nothing: its collectors are simply not exported
	}
	return m
}

func newLLMClient(cfg LLMConfig, hc *http.Client, reg prometheus.Registerer) *llmClient {
	if hc == nil {
		hc = &http.Client{}
	}
	return &llmClient{cfg: cfg, http: hc, sem: make(chan struct{}, cfg.MaxConcurrency), metrics: newLLMMetrics(reg)}
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatRequest struct {
	Model          string         `json:"model"`
	Messages       []chatMessage  `json:"messages"`
	Temperature    float64        `json:"temperature"`
	ResponseFormat map[string]any `json:"response_format"`
}

type chatResponse struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Model   string `json:"model"`
	Choices []struct {
		Message struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int64 `json:"prompt_tokens"`
		CompletionTokens int64 `json:"completion_tokens"`
	} `json:"usage"`
}

// llmError is a backend failure with its metrics outcome.
type llmError struct {
	outcome string
	err     error
}

func (e *llmError) Error() string { return e.err.Error() }
func (e *llmError) Unwrap() error { return e.err }

// annotate asks the backend for the document's summary, topics and
// sentiment. An error says why there is no answer; it is an error of the
// parent ctx only when ctx itself ended.
func (c *llmClient) annotate(ctx context.Context, title, text string) (*fairstreampb.LLMAnnotations, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.sem }()
	rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	out, err := c.call(rctx, title, text)
	outcome := "ok"
	if err != nil {
		outcome = "error"
		var le *llmError
		switch {
		case errors.As(err, &le):
			outcome = le.outcome
		case ctx.Err() == nil && errors.Is(rctx.Err(), context.DeadlineExceeded):
			outcome = "timeout"
			err = fmt.Errorf("no reply within llm.timeout (%s)", c.cfg.Timeout)
		}
	}
	c.metrics.requests.WithLabelValues(outcome).Inc()
	return out, err
}

func (c *llmClient) call(ctx context.Context, title, text string) (*fairstreampb.LLMAnnotations, error) {
	input := text
	if title != "" {
		input = "Title: " + title + "\n\n" + text
	}
	input = capChars(input, c.cfg.MaxInputChars)
	body, err := json.Marshal(chatRequest{
		Model: c.cfg.Model,
		Messages: []chatMessage{
			{Role: "system", Content: llmSystemPrompt},
			{Role: "user", Content: input},
		},
		ResponseFormat: map[string]any{
			"type":        "json_schema",
			"json_schema": map[string]any{"name": "annotations", "strict": true, "schema": llmSchema},
		},
	})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.cfg.BaseURL, "/")+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// The URL is the configured one, with no secret in it.
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxLLMReply))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, &llmError{"http_error", fmt.Errorf("backend answered %s: %s", resp.Status, snippet(data))}
	}
	var cr chatResponse
	if err := json.Unmarshal(data, &cr); err != nil {
		return nil, &llmError{"invalid", fmt.Errorf("reply is not a chat completion: %v", err)}
	}
	if cr.Usage != nil {
		c.metrics.tokens.WithLabelValues("prompt").Add(float64(max(cr.Usage.PromptTokens, 0)))
		c.metrics.tokens.WithLabelValues("completion").Add(float64(max(cr.Usage.CompletionTokens, 0)))
		c.metrics.cost.Add(float64(max(cr.Usage.PromptTokens, 0))/1000*c.cfg.PricePer1kPromptTokens +
			float64(max(cr.Usage.CompletionTokens, 0))/1000*c.cfg.PricePer1kCompletionTokens)
	}
	if len(cr.Choices) == 0 {
		return nil, &llmError{"invalid", errors.New("reply has no choices")}
	}
	out, err := parseLLMReply(cr.Choices[0].Message.Content)
	if err != nil {
		return nil, &llmError{"invalid", fmt.Errorf("reply breaks the schema: %v", err)}
	}
	out.Model = cr.Model
	if out.Model == "" {
		out.Model = c.cfg.Model
	}
	if cr.Usage != nil {
		out.PromptTokens, out.CompletionTokens = cr.Usage.PromptTokens, cr.Usage.CompletionTokens
	}
	return out, nil
}

// llmReply is the JSON the backend must give; pointers tell a missing
// field from a zero one.
type llmReply struct {
	Summary   *string   `json:"summary"`
	Topics    *[]string `json:"topics"`
	Sentiment *struct {
		Label     *string  `json:"label"`
		Compound  *float64 `json:"compound"`
		Rationale *string  `json:"rationale"`
	} `json:"sentiment"`
}

// parseLLMReply enforces llmSchema on content: one JSON object, every field
// present with its type, no other field, a known label and a compound in
// [-1, 1].
func parseLLMReply(content string) (*fairstreampb.LLMAnnotations, error) {
	dec := json.NewDecoder(strings.NewReader(content))
	dec.DisallowUnknownFields()
	var r llmReply
	if err := dec.Decode(&r); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("more than one JSON value")
	}
	switch {
	case r.Summary == nil:
		return nil, errors.New(`missing "summary"`)
	case r.Topics == nil:
		return nil, errors.New(`missing "topics"`)
	case r.Sentiment == nil:
		return nil, errors.New(`missing "sentiment"`)
	case r.Sentiment.Label == nil:
		return nil, errors.New(`missing "sentiment.label"`)
	case r.Sentiment.Compound == nil:
		return nil, errors.New(`missing "sentiment.compound"`)
	case r.Sentiment.Rationale == nil:
		return nil, errors.New(`missing "sentiment.rationale"`)
	}
	s := r.Sentiment
	switch *s.Label {
	case LabelPositive, LabelNegative, LabelNeutral:
	default:
		return nil, fmt.Errorf("sentiment.label %q is not positive, negative or neutral", *s.Label)
	}
	if c := *s.Compound; math.IsNaN(c) || c < -1 || c > 1 {
		return nil, fmt.Errorf("sentiment.compound %g is outside [-1, 1]", c)
	}
	for i, t := range *r.Topics {
		if strings.TrimSpace(t) == "" {
			return nil, fmt.Errorf("topics[%d] is empty", i)
		}
	}
	return &fairstreampb.LLMAnnotations{
		Summary:   *r.Summary,
		Topics:    *r.Topics,
		Sentiment: &fairstreampb.Sentiment{Label: *s.Label, Compound: *s.Compound, Rationale: *s.Rationale},
	}, nil
}

// capChars cuts s to at most n code points.
func capChars(s string, n int) string {
	k := 0
	for i := range s {
		if k == n {
			return s[:i]
		}
		k++
	}
	return s
}

// snippet returns the start of a reply body for an error message.
func snippet(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	if utf8.RuneCountInString(s) > 200 {
		s = capChars(s, 200) + "…"
	}
	return strings.TrimSpace(s)
}
