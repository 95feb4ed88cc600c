package structure

import (
	"context"
	"errors"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
	"github.com/fairstream/fairstream/streams"
)

// Input and Output are the stage's topics.
const (
	Input  = "raw.web.v1"
	Output = "docs.structured.v1"
)

// Stage returns the structure stage for web pages: every raw.web/v1 event
// becomes a doc.structured/v1 document keyed by its document ID. Pages that
// carry no document are skipped; pages that can never be structured go to
// raw.web.v1.dlq with the reason.
func Stage(cfg Config) streams.Stage[*fairstreampb.RawWebPage, *fairstreampb.Document] {
	return streams.Stage[*fairstreampb.RawWebPage, *fairstreampb.Document]{
		Spec: streams.Spec{Name: Name, Version: Version, Inputs: []string{Input}, Outputs: []string{Output}},
		Process: func(_ context.Context, in streams.Event[*fairstreampb.RawWebPage]) ([]streams.Output[*fairstreampb.Document], error) {
			env := in.Envelope
			doc, err := WebPage(cfg, Source{
				EventID: env.GetId(), EventType: env.GetType(), Worker: env.GetWorker(), ContentHash: env.GetContentHash(),
			}, in.Payload)
			switch {
			case errors.Is(err, ErrUnprocessable):
				return nil, streams.Permanent(err)
			case err != nil:
				return nil, err
			case doc == nil:
				return nil, nil
			}
			return []streams.Output[*fairstreampb.Document]{{Key: doc.GetId(), Payload: doc}}, nil
		},
	}
}
