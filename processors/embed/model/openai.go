package model

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// OpenAI is an Embedder that calls an OpenAI-compatible embeddings
// endpoint: POST {base_url}/embeddings with {"model", "input": [...]}, as
// served by OpenAI, Hugging Face TEI, Ollama and vLLM. It is safe for
// concurrent use.
type OpenAI struct {
	cfg      OpenAIConfig
	endpoint string
	client   *http.Client
	sleep    func(ctx context.Context, d time.Duration) error
}

var _ Embedder = (*OpenAI)(nil)

// NewOpenAI checks cfg and returns the client.
func NewOpenAI(cfg OpenAIConfig) (*OpenAI, error) {
	if errs := cfg.validate(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &OpenAI{
		cfg:      cfg,
		endpoint: strings.TrimRight(cfg.BaseURL, "/") + "/embeddings",
		client:   &http.Client{Timeout: cfg.Timeout},
		sleep:    sleepCtx,
	}, nil
}

// Name is the configured model name.
func (o *OpenAI) Name() string { return o.cfg.Model }

// Dimensions is openai.dimensions.
func (o *OpenAI) Dimensions() int { return o.cfg.Dimensions }

// APIError is an error reply of the endpoint: its HTTP status and the
// OpenAI error object {"error": {"message", "type", "code"}} when the body
// has one.
type APIError struct {
	Status  int
	Message string
	Type    string
	Code    string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d", e.Status)
	if e.Type != "" {
		fmt.Fprintf(&b, " %s", e.Type)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	return b.String()
}

// retryable is a rate limit or a server-side failure.
func (e *APIError) retryable() bool { return e.Status == http.StatusTooManyRequests || e.Status >= 500 }

type embeddingsRequest struct {
	Model      string   `json:"model"`
	Input      []string `json:"input"`
	Dimensions int      `json:"dimensions,omitempty"`
}

type embeddingsResponse struct {
	Object string `json:"object"`
	Data   []struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	} `json:"data"`
	Model string `json:"model"`
}

type errorBody struct {
	Error *struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    any    `json:"code"` // a string at OpenAI, a number or null elsewhere
	} `json:"error"`
}

// Embed sends texts in batches of openai.batch_size and returns their
// vectors in order. A vector whose length is not openai.dimensions is an
// error.
func (o *OpenAI) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	for lo := 0; lo < len(texts); lo += o.cfg.BatchSize {
		hi := min(lo+o.cfg.BatchSize, len(texts))
		vecs, err := o.batch(ctx, texts[lo:hi])
		if err != nil {
			return nil, fmt.Errorf("embeddings from %s (model %s): %w", o.endpoint, o.cfg.Model, err)
		}
		out = append(out, vecs...)
	}
	return out, nil
}

// batch sends one request, retrying 429s, 5xxs and transport errors.
func (o *OpenAI) batch(ctx context.Context, texts []string) ([][]float32, error) {
	req := embeddingsRequest{Model: o.cfg.Model, Input: texts}
	if o.cfg.SendDimensions {
		req.Dimensions = o.cfg.Dimensions
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		vecs, wait, err := o.post(ctx, body, len(texts))
		if err == nil {
			return vecs, nil
		}
		var apiErr *APIError
		retry := ctx.Err() == nil && (!errors.As(err, &apiErr) || apiErr.retryable())
		var shape *shapeError
		if errors.As(err, &shape) {
			retry = false
		}
		if !retry || attempt >= o.cfg.MaxRetries {
			if attempt > 0 {
				return nil, fmt.Errorf("after %d attempts: %w", attempt+1, err)
			}
			return nil, err
		}
		if wait <= 0 {
			wait = backoff(attempt)
		}
		if err := o.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// shapeError is a well-formed reply that does not answer the request (wrong
// count, index or length); retrying will not help.
type shapeError struct{ msg string }

func (e *shapeError) Error() string { return e.msg }

// post makes one request. On a retryable failure it also returns the
// server's Retry-After, if any.
func (o *OpenAI) post(ctx context.Context, body []byte, n int) ([][]float32, time.Duration, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, o.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	if o.cfg.APIKey != "" {
		hreq.Header.Set("Authorization", "Bearer "+o.cfg.APIKey)
	}
	resp, err := o.client.Do(hreq)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, 0, fmt.Errorf("reading the reply: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		apiErr := &APIError{Status: resp.StatusCode}
		var eb errorBody
		if json.Unmarshal(raw, &eb) == nil && eb.Error != nil {
			apiErr.Message, apiErr.Type = eb.Error.Message, eb.Error.Type
			if eb.Error.Code != nil {
				apiErr.Code = fmt.Sprint(eb.Error.Code)
			}
		} else {
			apiErr.Message = strings.TrimSpace(string(raw[:min(len(raw), 512)]))
		}
		return nil, retryAfter(resp.Header.Get("Retry-After")), apiErr
	}
	var r embeddingsResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, 0, &shapeError{fmt.Sprintf("decoding the reply: %v", err)}
	}
	if len(r.Data) != n {
		return nil, 0, &shapeError{fmt.Sprintf("sent %d inputs, got %d embeddings", n, len(r.Data))}
	}
	out := make([][]float32, n)
	for _, d := range r.Data {
		if d.Index < 0 || d.Index >= n || out[d.Index] != nil {
			return nil, 0, &shapeError{fmt.Sprintf("embedding index %d is out of range or repeated (%d inputs)", d.Index, n)}
		}
		if len(d.Embedding) != o.cfg.Dimensions {
			return nil, 0, &shapeError{fmt.Sprintf("embedding %d has %d dimensions, but openai.dimensions is %d", d.Index, len(d.Embedding), o.cfg.Dimensions)}
		}
		out[d.Index] = d.Embedding
	}
	return out, 0, nil
}

// retryAfter parses a Retry-After header (seconds or an HTTP date); zero
// when absent or unparsable. It is capped at 5 minutes.
func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	var d time.Duration
	if s, err := strconv.ParseFloat(h, 64); err == nil && s >= 0 {
		d = time.Duration(s * float64(time.Second))
	} else if t, err := http.ParseTime(h); err == nil {
		d = time.Until(t)
	}
	return min(max(d, 0), 5*time.Minute)
}

// backoff is 0.5 s doubling per attempt up to 30 s, with full jitter in
// its upper half.
func backoff(attempt int) time.Duration {
	d := min(500*time.Millisecond<<min(attempt, 6), 30*time.Second)
	return d/2 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
