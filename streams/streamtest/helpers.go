package streamtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
	"github.com/fairstream/fairstream/streams"
)

// waitFor bounds how long the suite waits for records that must arrive.
// It is a deadline for a condition, never a measured duration.
const waitFor = 60 * time.Second

// fixture is one test's private topics, catalog and consumer group.
type fixture struct {
	t       testing.TB
	cfg     streams.Config
	catalog *streams.Catalog
	in, out string
	group   string
}

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9]+`)

func randomID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newFixture creates an input topic carrying raw.web/v1 and an output topic
// carrying doc.structured/v1, both with their .dlq twins.
func newFixture(t testing.TB, cfg streams.Config, partitions int32) *fixture {
	t.Helper()
	name := strings.ToLower(strings.Trim(unsafeName.ReplaceAllString(t.Name(), "-"), "-"))
	if len(name) > 80 {
		name = name[len(name)-80:]
	}
	base := "streamtest." + name + "." + randomID()
	f := &fixture{t: t, cfg: cfg, in: base + ".in.v1", out: base + ".out.v1", group: "streamtest-" + name + "-" + randomID()}
	var err error
	f.catalog, err = streams.NewCatalog(
		streams.Topic{Name: f.in, Partitions: partitions, Cleanup: streams.CleanupDelete, PayloadType: "raw.web/v1", Key: "url"},
		streams.Topic{Name: f.out, Partitions: partitions, Cleanup: streams.CleanupDelete, PayloadType: "doc.structured/v1", Key: "document id"},
	)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := streams.NewClient(cfg, "streamtest-admin")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := streams.WaitReady(ctx, cl, cfg, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := streams.EnsureTopics(ctx, kadm.NewClient(cl), int16(cfg.ReplicationFactor), f.catalog.Topics()...); err != nil {
		t.Fatal(err)
	}
	return f
}

func page(i int) *fairstreampb.RawWebPage {
	return &fairstreampb.RawWebPage{
		Url:         fmt.Sprintf("https://example.test/page/%d", i),
		StatusCode:  200,
		ContentType: "text/html; charset=utf-8",
		Headers:     map[string]string{"etag": fmt.Sprintf(`"%d"`, i), "server": "test"},
		Body:        []byte(fmt.Sprintf("<html><title>page %d</title><p>ünïcödé %d ✓</p></html>", i, i)),
	}
}

// produce publishes pages [from, from+n) to the input topic and waits for
// every acknowledgement. It returns the envelopes, in order.
func (f *fixture) produce(from, n int) []*schemas.Envelope {
	f.t.Helper()
	p, err := streams.NewProducer(f.cfg, "streamtest-producer", streams.WithCatalog(f.catalog))
	if err != nil {
		f.t.Fatal(err)
	}
	defer p.Close()
	reg := schemas.Builtin()
	envs := make([]*schemas.Envelope, n)
	recs := make([]*kgo.Record, n)
	for i := range n {
		pg := page(from + i)
		envs[i], err = reg.Wrap(pg, schemas.Meta{Source: "web", Worker: "0xtest", Key: pg.Url})
		if err != nil {
			f.t.Fatal(err)
		}
		if recs[i], err = p.Record(f.in, envs[i]); err != nil {
			f.t.Fatal(err)
		}
	}
	// One ProduceSync call buffers every record before the first flush, so
	// records bound for one partition travel in one batch.
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := p.Client().ProduceSync(ctx, recs...).FirstErr(); err != nil {
		f.t.Fatalf("produce inputs: %v", err)
	}
	return envs
}

// produceRaw writes a record as is, bypassing every envelope check.
func (f *fixture) produceRaw(rec *kgo.Record) {
	f.t.Helper()
	cl, err := streams.NewClient(f.cfg, "streamtest-raw")
	if err != nil {
		f.t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		f.t.Fatalf("produce raw record: %v", err)
	}
}

// read consumes topic from the start until want records arrived, then keeps
// polling for a quiet second to catch any extra (duplicate) records.
func (f *fixture) read(topic string, want int, uncommitted bool) []*kgo.Record {
	f.t.Helper()
	c, err := streams.NewConsumer(f.cfg, "streamtest-reader", streams.ConsumerOptions{
		Topics: []string{topic}, From: streams.Earliest, ReadUncommitted: uncommitted,
	}, streams.WithCatalog(f.catalog))
	if err != nil {
		f.t.Fatal(err)
	}
	defer c.Close()
	var got []*kgo.Record
	deadline := time.Now().Add(waitFor)
	for len(got) < want && time.Now().Before(deadline) {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		recs, _ := c.Poll(ctx)
		cancel()
		got = append(got, recs...)
	}
	if len(got) < want {
		f.t.Fatalf("%s: got %d records within %s, want %d", topic, len(got), waitFor, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for ctx.Err() == nil {
		recs, _ := c.Poll(ctx)
		got = append(got, recs...)
	}
	return got
}

// count reads topic from the start and returns how many records it holds
// now, polling until a quiet half second passes.
func (f *fixture) count(topic string, uncommitted bool) int {
	f.t.Helper()
	c, err := streams.NewConsumer(f.cfg, "streamtest-counter", streams.ConsumerOptions{
		Topics: []string{topic}, From: streams.Earliest, ReadUncommitted: uncommitted,
	}, streams.WithCatalog(f.catalog))
	if err != nil {
		f.t.Fatal(err)
	}
	defer c.Close()
	n := 0
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		recs, _ := c.Poll(ctx)
		cancel()
		if len(recs) == 0 {
			return n
		}
		n += len(recs)
	}
}

// waitCount polls until topic holds at least want records.
func (f *fixture) waitCount(topic string, want int, uncommitted bool) int {
	f.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		n := f.count(topic, uncommitted)
		if n >= want {
			return n
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("%s holds %d records after %s, want >= %d", topic, n, waitFor, want)
		}
	}
}

// decodeDocs decodes output records and returns the source URL of each.
func decodeDocs(t testing.TB, recs []*kgo.Record) []string {
	t.Helper()
	reg := schemas.Builtin()
	urls := make([]string, 0, len(recs))
	for _, r := range recs {
		env, err := schemas.UnmarshalEnvelope(r.Value)
		if err != nil {
			t.Fatalf("output %s/%d@%d: %v", r.Topic, r.Partition, r.Offset, err)
		}
		doc := new(fairstreampb.Document)
		if err := reg.DecodeInto(env, doc); err != nil {
			t.Fatalf("output %s/%d@%d: %v", r.Topic, r.Partition, r.Offset, err)
		}
		urls = append(urls, doc.GetUrl())
	}
	return urls
}

// exactlyOnce fails unless urls holds each of pages [0, n) exactly once.
func exactlyOnce(t testing.TB, urls []string, n int) {
	t.Helper()
	seen := make(map[string]int, len(urls))
	for _, u := range urls {
		seen[u]++
	}
	var missing, dup []string
	for i := range n {
		u := page(i).Url
		switch seen[u] {
		case 1:
		case 0:
			missing = append(missing, u)
		default:
			dup = append(dup, fmt.Sprintf("%s×%d", u, seen[u]))
		}
		delete(seen, u)
	}
	if len(missing) > 0 || len(dup) > 0 || len(seen) > 0 {
		t.Fatalf("want each of %d inputs exactly once in the committed output: %d missing %v, %d duplicated %v, %d unexpected",
			n, len(missing), head(missing), len(dup), head(dup), len(seen))
	}
}

func head(s []string) []string {
	if len(s) > 5 {
		return append(s[:5:5], "…")
	}
	return s
}

// stage is the suite's test stage: it turns a page into a document and
// lets a test count, fail or block calls.
type stage struct {
	mu    sync.Mutex
	calls map[string]int
	total int
	hook  func(ctx context.Context, n int, pg *fairstreampb.RawWebPage) error
}

func newStage(hook func(ctx context.Context, n int, pg *fairstreampb.RawWebPage) error) *stage {
	return &stage{calls: map[string]int{}, hook: hook}
}

func (s *stage) process(ctx context.Context, in streams.Event[*fairstreampb.RawWebPage]) ([]streams.Output[*fairstreampb.Document], error) {
	s.mu.Lock()
	s.calls[in.Payload.GetUrl()]++
	s.total++
	n := s.total
	s.mu.Unlock()
	if s.hook != nil {
		if err := s.hook(ctx, n, in.Payload); err != nil {
			return nil, err
		}
	}
	return []streams.Output[*fairstreampb.Document]{{
		Key: in.Payload.GetUrl(),
		Payload: &fairstreampb.Document{
			Id: in.Payload.GetUrl(), Source: "web", Url: in.Payload.GetUrl(), Text: string(in.Payload.GetBody()),
			Lineage: &fairstreampb.Lineage{EventId: in.Envelope.GetId(), EventType: in.Envelope.GetType()},
		},
	}}, nil
}

func (s *stage) count(url string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[url]
}

func (s *stage) totalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// runnerConfig is tuned for tests: quick retries and group recovery.
func runnerConfig(transactional bool) streams.RunnerConfig {
	rc := streams.DefaultRunnerConfig()
	rc.Transactional = transactional
	rc.InstanceID = "streamtest-" + randomID()
	rc.BackoffInitial = 10 * time.Millisecond
	rc.BackoffMax = 50 * time.Millisecond
	rc.SessionTimeout = 6 * time.Second
	rc.TransactionTimeout = 20 * time.Second
	rc.ShutdownTimeout = 10 * time.Second
	return rc
}

// runner builds a runner for the fixture's topics around s.
func (f *fixture) runner(rc streams.RunnerConfig, s *stage) *streams.Runner {
	f.t.Helper()
	r, err := streams.NewRunner(f.cfg, rc, streams.Stage[*fairstreampb.RawWebPage, *fairstreampb.Document]{
		Spec:    streams.Spec{Name: f.group, Version: "test", Inputs: []string{f.in}, Outputs: []string{f.out}},
		Process: s.process,
	}, streams.WithCatalog(f.catalog))
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// start runs r in the background; stop cancels it and returns Run's error.
func start(r *streams.Runner) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx) }()
	var once sync.Once
	var err error
	return func() error {
		once.Do(func() {
			cancel()
			err = <-errc
		})
		return err
	}
}
