package structure

import (
	"context"
	"errors"
	"testing"

	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
	"github.com/fairstream/fairstream/streams"
)

func TestStage(t *testing.T) {
	st := Stage(DefaultConfig())
	if st.Spec.Name != "structure" || st.Spec.Inputs[0] != "raw.web.v1" || st.Spec.Outputs[0] != "docs.structured.v1" {
		t.Fatalf("spec = %+v", st.Spec)
	}
	// The stage's types match the catalog's topics.
	if _, err := streams.NewRunner(streams.DefaultConfig(), streams.DefaultRunnerConfig(), st); err != nil {
		t.Fatal(err)
	}
	reg := schemas.Builtin()
	event := func(p *fairstreampb.RawWebPage) streams.Event[*fairstreampb.RawWebPage] {
		env, err := reg.Wrap(p, schemas.Meta{Worker: "0xw"})
		if err != nil {
			t.Fatal(err)
		}
		return streams.Event[*fairstreampb.RawWebPage]{Envelope: env, Payload: p}
	}
	ctx := context.Background()

	outs, err := st.Process(ctx, event(&fairstreampb.RawWebPage{Url: "https://e.org/a", StatusCode: 200, ContentType: "text/html",
		Body: []byte("<html><title>T</title><body><p>Some words about the sea and the sky and the land.</p></body></html>")}))
	if err != nil || len(outs) != 1 {
		t.Fatalf("Process = %v, %v; want one document", outs, err)
	}
	doc := outs[0].Payload
	if outs[0].Key != doc.GetId() || doc.GetLineage().GetWorker() != "0xw" || doc.GetLineage().GetEventId() == "" {
		t.Errorf("output key %q, lineage %v", outs[0].Key, doc.GetLineage())
	}

	outs, err = st.Process(ctx, event(&fairstreampb.RawWebPage{Url: "https://e.org/b", StatusCode: 404, Body: []byte("gone")}))
	if err != nil || len(outs) != 0 {
		t.Errorf("a 404 page: Process = %v, %v; want skipped", outs, err)
	}

	_, err = st.Process(ctx, event(&fairstreampb.RawWebPage{Url: "https://e.org/c", StatusCode: 200, ContentType: "image/png", Body: []byte("\x89PNG\r\n")}))
	if !errors.Is(err, streams.ErrPermanent) || !errors.Is(err, ErrUnprocessable) {
		t.Errorf("a PNG: err = %v, want permanent and unprocessable", err)
	}
}
