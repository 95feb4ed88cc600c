package annotate

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
	"github.com/fairstream/fairstream/streams"
)

// The stage's topics.
const (
	Input  = "docs.structured.v1"
	Output = "docs.annotated.v1"
)

// Option configures Stage.
type Option func(*options)

type options struct {
	reg  prometheus.Registerer
	http *http.Client
}

// WithRegisterer registers the LLM backend's counters —
// fairstream_annotate_llm_requests_total{outcome},
// fairstream_annotate_llm_tokens_total{kind} and
// fairstream_annotate_llm_cost_total — with reg. Without it they are kept
// but not exported.
func WithRegisterer(reg prometheus.Registerer) Option { return func(o *options) { o.reg = reg } }

// WithHTTPClient makes the LLM backend's requests with hc (its own
// timeout, if any, applies on top of llm.timeout).
func WithHTTPClient(hc *http.Client) Option { return func(o *options) { o.http = hc } }

// Stage returns the annotate stage: every doc.structured/v1 document on
// docs.structured.v1 becomes a doc.annotated/v1 AnnotatedDocument on
// docs.annotated.v1, keyed by the document ID, with the lexicon annotations
// of Annotate and, when llm.base_url is set, the LLM backend's. A backend
// failure is not the stage's: the document keeps its lexicon annotations
// with llm_status "missing" and llm_error saying why.
func Stage(cfg Config, opts ...Option) (streams.Stage[*fairstreampb.Document, *fairstreampb.AnnotatedDocument], error) {
	if err := cfg.Validate(); err != nil {
		return streams.Stage[*fairstreampb.Document, *fairstreampb.AnnotatedDocument]{}, err
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	m := defaultModel()
	var llm *llmClient
	if cfg.LLM.Enabled() {
		llm = newLLMClient(cfg.LLM, o.http, o.reg)
	}
	return streams.Stage[*fairstreampb.Document, *fairstreampb.AnnotatedDocument]{
		Spec: streams.Spec{Name: Name, Version: Version, Inputs: []string{Input}, Outputs: []string{Output}},
		Process: func(ctx context.Context, in streams.Event[*fairstreampb.Document]) ([]streams.Output[*fairstreampb.AnnotatedDocument], error) {
			doc := in.Payload
			a := annotate(m, cfg, doc)
			if llm != nil {
				out, err := llm.annotate(ctx, doc.GetTitle(), doc.GetText())
				switch {
				case err == nil:
					a.Llm, a.LlmStatus = out, LLMStatusOK
				case ctx.Err() != nil:
					// Shutting down: the runner abandons the batch and the
					// document is annotated again on restart.
					return nil, ctx.Err()
				default:
					a.LlmStatus, a.LlmError = LLMStatusMissing, err.Error()
				}
			}
			env := in.Envelope
			return []streams.Output[*fairstreampb.AnnotatedDocument]{{
				Key: doc.GetId(),
				Payload: &fairstreampb.AnnotatedDocument{
					Document:    doc,
					Annotations: a,
					Lineage: &fairstreampb.Lineage{
						EventId: env.GetId(), EventType: env.GetType(), Worker: env.GetWorker(), ContentHash: env.GetContentHash(),
						Stage: Name, StageVersion: Version,
					},
				},
			}}, nil
		},
	}, nil
}
