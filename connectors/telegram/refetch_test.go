package telegram_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/connectors/telegram"
	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// A record fetched from the fixture cannot be re-fetched: the error wraps
// ErrNotRefetchable and neither ErrNotFound nor ErrSourceFault, and no
// request is sent.
func TestRefetchIsUnverifiable(t *testing.T) {
	var requests atomic.Int32
	fx := fixture(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		fx.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	src := newSource(t, srv.URL, connectors.NewClient(connectors.DefaultHTTPConfig(), srv.Client(), nil)).(*telegram.Source)
	page, err := src.Fetch(context.Background(), src.Streams()[0], connectors.Position{})
	if err != nil || len(page.Events) == 0 {
		t.Fatalf("Fetch: %d events, %v", len(page.Events), err)
	}
	before := requests.Load()
	for _, m := range []proto.Message{page.Events[0].Payload, &fairstreampb.RawTweet{Id: "1", Text: "hi"}} {
		env, err := schemas.Builtin().Wrap(m, schemas.Meta{Source: telegram.Name, Worker: "w1"})
		if err != nil {
			t.Fatal(err)
		}
		got, err := src.Refetch(context.Background(), env)
		if got != nil || !errors.Is(err, connectors.ErrNotRefetchable) || errors.Is(err, connectors.ErrNotFound) || errors.Is(err, connectors.ErrSourceFault) {
			t.Errorf("Refetch of a %T: %v, %v; want ErrNotRefetchable only", m, got, err)
		}
	}
	if n := requests.Load() - before; n != 0 {
		t.Errorf("Refetch sent %d requests", n)
	}
}
