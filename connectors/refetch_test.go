package connectors_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// refetchClient retries once, quickly, and gives up on a request after
// 200 ms.
func refetchClient(srv *httptest.Server) *connectors.Client {
	cfg := connectors.DefaultHTTPConfig()
	cfg.MaxRetries = 1
	cfg.BackoffInitial = time.Millisecond
	cfg.BackoffMax = 5 * time.Millisecond
	cfg.MaxInlineWait = 50 * time.Millisecond
	cfg.Timeout = 200 * time.Millisecond
	return connectors.NewClient(cfg, srv.Client(), nil)
}

type fault int

const (
	neither fault = iota
	notFound
	sourceFault
	usable
)

func (f fault) String() string {
	if f < neither || f > usable {
		return "both sentinels"
	}
	return [...]string{"neither sentinel", "ErrNotFound", "ErrSourceFault", "no error"}[f]
}

func faultOf(err error) fault {
	nf, sf := errors.Is(err, connectors.ErrNotFound), errors.Is(err, connectors.ErrSourceFault)
	switch {
	case err == nil:
		return usable
	case nf && sf:
		return -1
	case nf:
		return notFound
	case sf:
		return sourceFault
	}
	return neither
}

func TestClassifyRefetch(t *testing.T) {
	mux := http.NewServeMux()
	status := func(code int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			_, _ = w.Write([]byte(body))
		}
	}
	mux.HandleFunc("/ok", status(http.StatusOK, `{"id":"1"}`))
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	mux.HandleFunc("/missing", status(http.StatusNotFound, `{"message":"Unknown Message","code":10008}`))
	mux.HandleFunc("/gone", status(http.StatusGone, `{}`))
	mux.HandleFunc("/down", status(http.StatusServiceUnavailable, `{"title":"Service Unavailable"}`))
	mux.HandleFunc("/limited", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		status(http.StatusTooManyRequests, `{"title":"Too Many Requests"}`)(w, r)
	})
	mux.HandleFunc("/timeout", status(http.StatusRequestTimeout, ``))
	mux.HandleFunc("/unauthorized", status(http.StatusUnauthorized, `{"title":"Unauthorized"}`))
	mux.HandleFunc("/forbidden", status(http.StatusForbidden, `{"title":"Forbidden"}`))
	mux.HandleFunc("/bad", status(http.StatusBadRequest, `{"title":"Invalid Request"}`))
	mux.HandleFunc("/html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html>maintenance</html>"))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	closed := httptest.NewServer(mux)
	closed.Close()
	client := refetchClient(srv)
	ctx := context.Background()

	for _, tc := range []struct {
		path string
		json bool // through GetJSON rather than Do
		want fault
	}{
		{"/ok", false, usable},
		{"/ok", true, usable},
		{"/moved", false, usable},
		{"/missing", false, notFound},
		{"/missing", true, notFound},
		{"/gone", false, notFound},
		{"/down", false, sourceFault},
		{"/down", true, sourceFault},
		{"/limited", false, sourceFault},
		{"/timeout", false, sourceFault},
		{"/slow", false, sourceFault},
		{"/html", true, sourceFault},
		{"/unauthorized", false, neither},
		{"/forbidden", true, neither},
		{"/bad", false, neither},
		{"/bad", true, neither},
	} {
		name := tc.path
		if tc.json {
			name += " (GetJSON)"
		}
		t.Run(name, func(t *testing.T) {
			req := connectors.Request{URL: srv.URL + tc.path}
			var (
				resp *connectors.Response
				err  error
			)
			if tc.json {
				var v map[string]any
				resp, err = client.GetJSON(ctx, req, &v)
			} else {
				resp, err = client.Do(ctx, req)
			}
			got := connectors.ClassifyRefetch(resp, err)
			if f := faultOf(got); f != tc.want {
				t.Fatalf("ClassifyRefetch(%d, %v) = %v: %v, want %v", statusOf(resp), err, got, f, tc.want)
			}
			if got != nil && err != nil && !errors.Is(got, err) {
				t.Errorf("%v does not wrap the client's error %v", got, err)
			}
			if tc.path == "/unauthorized" && !errors.Is(got, connectors.ErrAuth) {
				t.Errorf("a 401: %v, want ErrAuth", got)
			}
		})
	}

	t.Run("network error", func(t *testing.T) {
		resp, err := client.Do(ctx, connectors.Request{URL: closed.URL + "/ok"})
		if got := connectors.ClassifyRefetch(resp, err); faultOf(got) != sourceFault {
			t.Fatalf("a closed server: %v, want ErrSourceFault", got)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		resp, err := client.Do(cctx, connectors.Request{URL: srv.URL + "/slow"})
		if got := connectors.ClassifyRefetch(resp, err); faultOf(got) != neither || !errors.Is(got, context.Canceled) {
			t.Fatalf("a canceled re-fetch: %v, want context.Canceled and neither sentinel", got)
		}
	})
	t.Run("caller's deadline", func(t *testing.T) {
		dctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		resp, err := client.Do(dctx, connectors.Request{URL: srv.URL + "/slow"})
		if got := connectors.ClassifyRefetch(resp, err); faultOf(got) != sourceFault {
			t.Fatalf("a re-fetch past its deadline: %v, want ErrSourceFault", got)
		}
	})
	t.Run("bad URL", func(t *testing.T) {
		resp, err := client.Do(ctx, connectors.Request{URL: "http://[::1"})
		if got := connectors.ClassifyRefetch(resp, err); faultOf(got) != neither {
			t.Fatalf("a URL that does not parse: %v, want neither sentinel", got)
		}
	})
	t.Run("already classified", func(t *testing.T) {
		err := errors.Join(connectors.ErrNotFound, errors.New("no such tweet"))
		if got := connectors.ClassifyRefetch(nil, err); got != err {
			t.Fatalf("ClassifyRefetch changed %v into %v", err, got)
		}
	})
}

func statusOf(resp *connectors.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

func TestDecodeRecord(t *testing.T) {
	reg := schemas.Builtin()
	tw := &fairstreampb.RawTweet{Id: "1993000000000000001", Text: "fair data"}
	env, err := reg.Wrap(tw, schemas.Meta{Source: "twitter", Key: tw.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	var got fairstreampb.RawTweet
	if err := connectors.DecodeRecord(env, &got); err != nil || !proto.Equal(&got, tw) {
		t.Fatalf("DecodeRecord = %v, %v", err, &got)
	}
	var page fairstreampb.RawWebPage
	err = connectors.DecodeRecord(env, &page)
	if !errors.Is(err, connectors.ErrNotRefetchable) || faultOf(err) != neither {
		t.Fatalf("a tweet decoded as a web page: %v, want ErrNotRefetchable", err)
	}
	tampered := proto.Clone(env).(*schemas.Envelope)
	tampered.Payload = append(tampered.Payload, 0x10, 0x01)
	if err := connectors.DecodeRecord(tampered, &got); !errors.Is(err, schemas.ErrInvalidEnvelope) || faultOf(err) != neither {
		t.Fatalf("a payload that does not match its hash: %v, want ErrInvalidEnvelope", err)
	}
	if err := connectors.DecodeRecord(nil, &got); !errors.Is(err, schemas.ErrInvalidEnvelope) {
		t.Fatalf("a nil envelope: %v", err)
	}
}
