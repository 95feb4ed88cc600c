// Package connectortest is the conformance suite every connector passes,
// against an embedded broker and an httptest server replaying the
// connector's recorded responses:
//
//   - every event is a valid envelope: a ULID, a registered type matching
//     its topic, an event time, a key, the worker's address, and a
//     signature that verifies; its payload decodes into its schema type;
//   - a restart resumes from the cursor without duplicates and without a gap;
//   - a 429 leads to backoff (the retry waits at least Retry-After);
//   - a malformed response gives an error event with a snippet, and no crash;
//   - refused credentials stop the connector with an error naming the setting;
//   - a lost broker (a failing commit) produces nothing twice;
//   - context cancellation stops the connector promptly.
package connectortest

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/connectors/identity"
	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
	"github.com/fairstream/fairstream/streams"
	"github.com/fairstream/fairstream/streams/embedded"
)

// Harness describes a connector to the suite.
type Harness struct {
	// Handler serves the connector's recorded API responses the way the
	// real API would: pagination, since_id, offsets, conditional GETs.
	Handler func(t testing.TB) http.Handler
	// New builds the connector against the fixture server at baseURL,
	// with the streams the fixtures cover configured, using client.
	New func(t testing.TB, baseURL string, client *connectors.Client) connectors.Source
	// Want is how many events the configured streams yield in all.
	Want int
	// Topics are the topics the connector writes its events to.
	Topics []string
	// Setting is the credentials setting a 401 must name
	// ("connectors.twitter.bearer_token"); empty for a source without
	// credentials.
	Setting string
	// Job returns a data request the fixtures at baseURL can serve, and
	// JobWant is the events it yields; nil for a source that takes no jobs.
	Job     func(baseURL string) *fairstreampb.Job
	JobWant int
}

// waitFor bounds the suite's waits for conditions (not measures).
const waitFor = 60 * time.Second

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"ValidSignedEnvelopes", testValid},
		{"RestartResumesWithoutDuplicates", testRestart},
		{"RateLimitBackoff", testRateLimit},
		{"MalformedResponse", testMalformed},
		{"CredentialsRefused", testAuth},
		{"LostBrokerNoDuplicates", testLostBroker},
		{"CancellationStopsPromptly", testCancel},
		{"Job", testJob},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

// env is one test's broker, fixture server and worker identity.
type env struct {
	t      *testing.T
	h      Harness
	broker *embedded.Broker
	kcfg   streams.Config
	srv    *httptest.Server
	faults *Faults
	id     *identity.Identity
}

func newEnv(t *testing.T, h Harness) *env {
	t.Helper()
	b, err := embedded.Start(context.Background(), embedded.Config{Listen: "127.0.0.1:0"}, streams.DefaultCatalog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	kcfg := streams.DefaultConfig()
	kcfg.Brokers = []string{b.Addr()}
	f := &Faults{}
	srv := httptest.NewServer(f.Wrap(h.Handler(t)))
	t.Cleanup(srv.Close)
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, h: h, broker: b, kcfg: kcfg, srv: srv, faults: f, id: id}
}

// Config is the worker configuration the suite runs with: quick polls,
// quick backoff.
func Config() connectors.Config {
	c := connectors.DefaultConfig()
	c.InstanceID = "connectortest"
	c.PollInterval = 100 * time.Millisecond
	c.BackoffInitial = 100 * time.Millisecond
	c.BackoffMax = 500 * time.Millisecond
	c.CommitTimeout = 10 * time.Second
	c.HTTP.BackoffInitial = 50 * time.Millisecond
	c.HTTP.BackoffMax = 200 * time.Millisecond
	c.HTTP.MaxInlineWait = 5 * time.Second
	return c
}

// worker builds a worker for the harness's connector.
func (e *env) worker(opts ...connectors.Option) *connectors.Worker {
	e.t.Helper()
	cfg := Config()
	src := e.h.New(e.t, e.srv.URL, connectors.NewClient(cfg.HTTP, e.srv.Client(), nil))
	if os.Getenv("CONNECTORTEST_DEBUG") != "" {
		opts = append(opts, connectors.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	}
	w, err := connectors.NewWorker(e.kcfg, cfg, src, e.id, opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	return w
}

// run runs a worker until it has committed want events, then stops it
// from within its commit hook (so that it starts no further page) and
// returns Run's error.
func run(t *testing.T, w func(...connectors.Option) *connectors.Worker, want int64) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int64
	wk := w(connectors.OnCommit(func(_ string, events int) {
		if n.Add(int64(events)) >= want {
			cancel()
		}
	}))
	errc := make(chan error, 1)
	go func() { errc <- wk.Run(ctx) }()
	select {
	case err := <-errc:
		if n.Load() < want && err == nil {
			t.Fatalf("the connector stopped after %d events, want %d", n.Load(), want)
		}
		return err
	case <-time.After(waitFor):
		cancel()
		<-errc
		t.Fatalf("the connector wrote %d events within %s, want %d", n.Load(), waitFor, want)
		return nil
	}
}

// read returns the committed records of topics.
func (e *env) read(topics ...string) []*kgo.Record {
	e.t.Helper()
	var out []*kgo.Record
	for _, topic := range topics {
		err := streams.ReadToEnd(context.Background(), e.kcfg, topic, func(r *kgo.Record) error {
			out = append(out, r)
			return nil
		})
		if err != nil {
			e.t.Fatal(err)
		}
	}
	return out
}

// checkEvents verifies every event and returns them, failing on
// duplicates (same topic, key and content) and on a count other than want.
func (e *env) checkEvents(want int) []*schemas.Envelope {
	e.t.Helper()
	reg := schemas.Builtin()
	catalog := streams.DefaultCatalog()
	seen := map[string]bool{}
	var envs []*schemas.Envelope
	for _, r := range e.read(e.h.Topics...) {
		env, err := schemas.UnmarshalEnvelope(r.Value)
		if err != nil {
			e.t.Fatalf("%s@%d: %v", r.Topic, r.Offset, err)
		}
		if err := identity.Verify(env); err != nil {
			e.t.Fatalf("%s@%d: %v", r.Topic, r.Offset, err)
		}
		if env.GetWorker() != e.id.Address() {
			e.t.Fatalf("%s@%d: worker %s, want %s", r.Topic, r.Offset, env.GetWorker(), e.id.Address())
		}
		topic, _ := catalog.Lookup(r.Topic)
		if env.GetType() != topic.PayloadType {
			e.t.Fatalf("%s@%d: type %s on a %s topic", r.Topic, r.Offset, env.GetType(), topic.PayloadType)
		}
		if env.GetKey() == "" || string(r.Key) != env.GetKey() {
			e.t.Fatalf("%s@%d: key %q, record key %q", r.Topic, r.Offset, env.GetKey(), r.Key)
		}
		if env.GetTime() == nil || env.GetTime().AsTime().IsZero() || env.GetIngested() == nil {
			e.t.Fatalf("%s@%d: no event or ingestion time", r.Topic, r.Offset)
		}
		if env.GetSource() == "" {
			e.t.Fatalf("%s@%d: no source", r.Topic, r.Offset)
		}
		m, err := reg.Decode(env) // checks ID, type, time and hash, and decodes the payload
		if err != nil {
			e.t.Fatalf("%s@%d: %v", r.Topic, r.Offset, err)
		}
		if m.ProtoReflect().Descriptor().FullName() == "" {
			e.t.Fatalf("%s@%d: payload of no type", r.Topic, r.Offset)
		}
		// The same item written again for a data request is not a duplicate.
		dup := r.Topic + "\x00" + env.GetKey() + "\x00" + string(env.GetContentHash()) + "\x00" + env.GetCorrelationId()
		if seen[dup] {
			e.t.Fatalf("%s: event with key %s written twice", r.Topic, env.GetKey())
		}
		seen[dup] = true
		envs = append(envs, env)
	}
	if len(envs) != want {
		e.t.Fatalf("the topics %v hold %d events, want %d", e.h.Topics, len(envs), want)
	}
	return envs
}

func testValid(t *testing.T, h Harness) {
	e := newEnv(t, h)
	if err := run(t, e.worker, int64(h.Want)); err != nil {
		t.Fatal(err)
	}
	e.checkEvents(h.Want)
	// Every stream's cursor is on the compacted topic.
	if n := len(e.read(connectors.CursorTopic)); n == 0 {
		t.Fatal("no cursor was written")
	}
}

func testRestart(t *testing.T, h Harness) {
	e := newEnv(t, h)
	// The first run stops after its first page of events.
	if err := run(t, e.worker, 1); err != nil {
		t.Fatal(err)
	}
	first := len(e.read(h.Topics...))
	if first == 0 || first >= h.Want {
		t.Fatalf("the first run wrote %d of %d events; the fixtures need more than one page for this test", first, h.Want)
	}
	// The second resumes from the cursors: only what is left.
	if err := run(t, e.worker, int64(h.Want-first)); err != nil {
		t.Fatal(err)
	}
	e.checkEvents(h.Want)
}

func testRateLimit(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.faults.Queue(Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second})
	if err := run(t, e.worker, int64(h.Want)); err != nil {
		t.Fatal(err)
	}
	e.checkEvents(h.Want)
	gap, ok := e.faults.GapAfterFirst()
	if !ok {
		t.Fatal("the connector never retried after its 429")
	}
	if gap < 900*time.Millisecond {
		t.Fatalf("the connector retried %s after a 429 with Retry-After: 1", gap)
	}
}

func testMalformed(t *testing.T, h Harness) {
	e := newEnv(t, h)
	page := "<html><head><title>503</title></head><body>Upstream über capacity</body></html>"
	e.faults.Queue(Fault{Status: http.StatusOK, ContentType: "text/html; charset=utf-8", Body: page})
	if err := run(t, e.worker, int64(h.Want)); err != nil {
		t.Fatal(err)
	}
	e.checkEvents(h.Want)
	var found bool
	for _, r := range e.read(connectors.ErrorTopic) {
		env, err := schemas.UnmarshalEnvelope(r.Value)
		if err != nil {
			t.Fatal(err)
		}
		ce := new(fairstreampb.ConnectorError)
		if err := schemas.Builtin().DecodeInto(env, ce); err != nil {
			t.Fatal(err)
		}
		if err := identity.Verify(env); err != nil {
			t.Fatal(err)
		}
		found = found || strings.Contains(ce.GetSnippet(), "über capacity") && ce.GetError() != ""
	}
	if !found {
		t.Fatal("no error event with the response's snippet on connectors.errors.v1")
	}
}

func testAuth(t *testing.T, h Harness) {
	if h.Setting == "" {
		t.Skip("the source takes no credentials")
	}
	e := newEnv(t, h)
	e.faults.Queue(Fault{Status: http.StatusUnauthorized, ContentType: "application/json", Body: `{"title":"Unauthorized","status":401}`})
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	err := e.worker().Run(ctx)
	if !errors.Is(err, connectors.ErrAuth) || !strings.Contains(err.Error(), h.Setting) {
		t.Fatalf("Run = %v, want ErrAuth naming %s", err, h.Setting)
	}
}

// testLostBroker fails the first transaction's commit at the broker: the
// page is fetched again and written once.
func testLostBroker(t *testing.T, h Harness) {
	e := newEnv(t, h)
	var failed atomic.Bool
	e.broker.Cluster().ControlKey(int16(kmsg.EndTxn), func(req kmsg.Request) (kmsg.Response, error, bool) {
		e.broker.Cluster().KeepControl()
		r := req.(*kmsg.EndTxnRequest)
		if r.Commit && failed.CompareAndSwap(false, true) {
			// The commit does not happen: the producer must abort, keep
			// its cursor, and fetch the page again.
			resp := r.ResponseKind().(*kmsg.EndTxnResponse)
			resp.ErrorCode = kerr.InvalidTxnState.Code
			return resp, nil, true
		}
		return nil, nil, false
	})
	if err := run(t, e.worker, int64(h.Want)); err != nil {
		t.Fatal(err)
	}
	if !failed.Load() {
		t.Fatal("no commit was failed")
	}
	e.checkEvents(h.Want)
}

func testCancel(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.faults.HangAll()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- e.worker().Run(ctx) }()
	select {
	case <-e.faults.Hanging():
	case err := <-errc:
		t.Fatalf("Run returned before its request hung: %v", err)
	case <-time.After(waitFor):
		t.Fatal("no request reached the server")
	}
	cancel()
	at := time.Now()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Run after cancel: %v", err)
		}
		t.Logf("stopped %s after cancel", time.Since(at).Round(time.Millisecond))
	case <-time.After(time.Second):
		t.Fatal("the connector did not stop within 1s of its context's cancellation")
	}
}

// testJob writes a data request to jobs.v1: the connector serves it with
// events whose correlation ID is the job's, and tracks it on jobs.status.v1
// to "done".
func testJob(t *testing.T, h Harness) {
	if h.Job == nil {
		t.Skip("the source takes no data requests")
	}
	e := newEnv(t, h)
	job := h.Job(e.srv.URL)
	p, err := streams.NewProducer(e.kcfg, "connectortest")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if _, err := p.Publish(ctx, connectors.JobTopic, job, schemas.Meta{Key: job.GetId()}); err != nil {
		t.Fatal(err)
	}
	p.Close()
	// The configured streams and the job together.
	if err := run(t, e.worker, int64(h.Want+h.JobWant)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, env := range e.checkEvents(h.Want + h.JobWant) {
		if env.GetCorrelationId() == job.GetId() {
			n++
		}
	}
	if n != h.JobWant {
		t.Fatalf("%d events carry the job ID %s as correlation ID, want %d", n, job.GetId(), h.JobWant)
	}
	var last *fairstreampb.JobStatus
	for _, r := range e.read(connectors.StatusTopic) {
		env, err := schemas.UnmarshalEnvelope(r.Value)
		if err != nil {
			t.Fatal(err)
		}
		if err := identity.Verify(env); err != nil {
			t.Fatal(err)
		}
		st := new(fairstreampb.JobStatus)
		if err := schemas.Builtin().DecodeInto(env, st); err != nil {
			t.Fatal(err)
		}
		if st.GetJobId() == job.GetId() {
			last = st
		}
	}
	if last == nil || last.GetState() != connectors.JobDone || last.GetEvents() != int64(h.JobWant) || last.GetWorker() != e.id.Address() {
		t.Fatalf("last status of the job: %v; want done with %d events by %s", last, h.JobWant, e.id.Address())
	}
}
