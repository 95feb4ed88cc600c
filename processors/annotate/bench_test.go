package annotate

// Benchmarks. BenchmarkAnnotate measures the pure function; BenchmarkRunner
// the annotate stage through streams.NewRunner on an embedded kfake broker
// against a pass-through stage (Document → AnnotatedDocument with no
// annotation) through the same runner on the same records. The broker runs
// in a child process (see TestMain), so that with -cpu 1 the runner has its
// one core to itself, as in streams/bench_test.go. Figures are in
// docs/benchmarks.md.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
	"github.com/fairstream/fairstream/streams"
	"github.com/fairstream/fairstream/streams/embedded"
)

var benchWords = strings.Fields(`the of and to in is that for it as was with be by on not he this are or
his from at which but have an they you were her she there been one all we their has would when if so no
will more can out up who them some could into time only other new about than then its two these may
great love hate awful amazing terrible happy sad good bad best worst nice broken fixed launch release
market price token chain block wallet protocol upgrade network fees validator staking yield airdrop
people world life day year week today tomorrow news report update team community project code data`)

var benchExtras = []string{"#Ethereum", "#crypto", "#AI", "$ETH", "$BTC", "@vitalik", "@elonmusk", "Elon Musk",
	"Berlin", "New York", "Federal Reserve", "Acme Labs", "https://example.org/post/123", "🚀", "😡", "!", "Jane Smith", "$5"}

// benchText returns a deterministic text of about n bytes: words, with a
// tag, a name or an emoji every few words.
func benchText(seed uint64, n int) string {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	var b strings.Builder
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		if rng.IntN(6) == 0 {
			b.WriteString(benchExtras[rng.IntN(len(benchExtras))])
		} else {
			w := benchWords[rng.IntN(len(benchWords))]
			if rng.IntN(12) == 0 {
				w += "."
			}
			b.WriteString(w)
		}
	}
	s := b.String()
	if len(s) > n {
		s = strings.TrimSpace(s[:strings.LastIndexByte(s[:n], ' ')])
	}
	return s
}

// benchDocs returns n documents: 280-character tweets (language given, as
// the structure stage gives it) or 5 KB web pages with a title and no
// language (so it is detected).
func benchDocs(kind string, n int) []*fairstreampb.Document {
	docs := make([]*fairstreampb.Document, n)
	for i := range docs {
		switch kind {
		case "tweet":
			docs[i] = &fairstreampb.Document{Id: fmt.Sprintf("twitter:%d", i), Source: "twitter", Text: benchText(uint64(i), 280),
				Language: "en", LanguageConfidence: 1}
		default:
			docs[i] = &fairstreampb.Document{Id: fmt.Sprintf("web:%d", i), Source: "web", Title: "A page about markets and code",
				Text: benchText(uint64(i), 5000), Url: fmt.Sprintf("https://example.org/%d", i)}
		}
	}
	return docs
}

// BenchmarkAnnotate measures Annotate on 280-character tweets and 5 KB web
// pages; docs/s is per core with -cpu 1.
func BenchmarkAnnotate(b *testing.B) {
	cfg := DefaultConfig()
	defaultModel()
	for _, kind := range []string{"tweet", "web5k"} {
		b.Run(kind, func(b *testing.B) {
			docs := benchDocs(kind, 1000)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; b.Loop(); i++ {
				Annotate(cfg, docs[i%len(docs)])
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "docs/s")
		})
	}
}

const (
	benchBrokerEnv  = "FAIRSTREAM_ANNOTATE_BENCH_BROKER"
	benchBrokerAddr = "bench broker listening on "
	benchPartitions = 6
	benchWait       = 5 * time.Minute
)

// TestMain serves the benchmarks' broker when this test binary is run again
// as that broker, and runs the tests otherwise.
func TestMain(m *testing.M) {
	if os.Getenv(benchBrokerEnv) == "1" {
		empty, err := streams.NewCatalog()
		if err == nil {
			var br *embedded.Broker
			br, err = embedded.Start(context.Background(), embedded.Config{Listen: "127.0.0.1:0"}, empty, nil)
			if err == nil {
				fmt.Printf("%s%s\n", benchBrokerAddr, br.Addr())
				_, _ = io.Copy(io.Discard, os.Stdin)
				br.Close()
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench broker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startBenchBroker runs the broker process and connects an admin client.
func startBenchBroker(b *testing.B) (streams.Config, *kadm.Client) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.count=1", "-test.timeout=0")
	cmd.Env = append(os.Environ(), benchBrokerEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	var addr string
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), benchBrokerAddr); ok {
			addr = a
			break
		}
	}
	if addr == "" {
		b.Fatal("the broker process did not listen")
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	cfg := streams.DefaultConfig()
	cfg.Brokers = []string{addr}
	cl, err := streams.NewClient(cfg, "bench-admin")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), benchWait)
	defer cancel()
	if err := streams.WaitReady(ctx, cl, cfg, nil); err != nil {
		b.Fatal(err)
	}
	return cfg, kadm.NewClient(cl)
}

// BenchmarkRunner measures docs/s through streams.NewRunner (transactional,
// DefaultRunnerConfig) for the annotate stage and for a pass-through stage,
// on the same 280-character tweets: from the first record handed to the
// stage to the commit covering the last.
func BenchmarkRunner(b *testing.B) {
	cfg, adm := startBenchBroker(b)
	var round atomic.Int64
	for _, impl := range []string{"annotate", "passthrough"} {
		b.Run(impl, func(b *testing.B) {
			b.StopTimer()
			base := fmt.Sprintf("bench.%s.%d", impl, round.Add(1))
			in, out, group := base+".in.v1", base+".out.v1", strings.ReplaceAll(base, ".", "-")
			cat, err := streams.NewCatalog(
				streams.Topic{Name: in, Partitions: benchPartitions, Cleanup: streams.CleanupDelete, PayloadType: "doc.structured/v1", Key: "document id"},
				streams.Topic{Name: out, Partitions: benchPartitions, Cleanup: streams.CleanupDelete, PayloadType: "doc.annotated/v1", Key: "document id"},
			)
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), benchWait)
			defer cancel()
			if _, err := streams.EnsureTopics(ctx, adm, int16(cfg.ReplicationFactor), cat.Topics()...); err != nil {
				b.Fatal(err)
			}
			defer func() { _, _ = adm.DeleteTopics(context.Background(), in, out, in+streams.DLQSuffix) }()
			produceBenchDocs(ctx, b, cfg, cat, in, b.N)
			runtime.GC()

			st, err := Stage(DefaultConfig())
			if err != nil {
				b.Fatal(err)
			}
			if impl == "passthrough" {
				st.Process = func(_ context.Context, ev streams.Event[*fairstreampb.Document]) ([]streams.Output[*fairstreampb.AnnotatedDocument], error) {
					env := ev.Envelope
					return []streams.Output[*fairstreampb.AnnotatedDocument]{{Key: ev.Payload.GetId(), Payload: &fairstreampb.AnnotatedDocument{
						Document: ev.Payload,
						Lineage: &fairstreampb.Lineage{EventId: env.GetId(), EventType: env.GetType(), Worker: env.GetWorker(),
							ContentHash: env.GetContentHash(), Stage: Name, StageVersion: Version},
					}}}, nil
				}
			}
			var n atomic.Int64
			var startNs atomic.Int64
			started := make(chan struct{})
			var once sync.Once
			process := st.Process
			st.Process = func(c context.Context, ev streams.Event[*fairstreampb.Document]) ([]streams.Output[*fairstreampb.AnnotatedDocument], error) {
				if n.Add(1) == 1 {
					startNs.Store(time.Now().UnixNano())
					once.Do(func() { close(started) })
				}
				return process(c, ev)
			}
			st.Spec.Name, st.Spec.Inputs, st.Spec.Outputs = group, []string{in}, []string{out}
			rc := streams.DefaultRunnerConfig()
			rc.InstanceID = group
			r, err := streams.NewRunner(cfg, rc, st, streams.WithCatalog(cat))
			if err != nil {
				b.Fatal(err)
			}
			rctx, stop := context.WithCancel(ctx)
			errc := make(chan error, 1)
			go func() { errc <- r.Run(rctx) }()
			select {
			case <-started:
			case err := <-errc:
				b.Fatalf("runner: %v", err)
			case <-ctx.Done():
				b.Fatal("no record processed")
			}
			b.StartTimer()
			if err := waitCommitted(ctx, adm, group, in, int64(b.N)); err != nil {
				b.Fatal(err)
			}
			elapsed := time.Since(time.Unix(0, startNs.Load()))
			b.StopTimer()
			stop()
			<-errc
			_, _ = adm.DeleteGroups(context.Background(), group)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "docs/s")
		})
	}
}

func produceBenchDocs(ctx context.Context, b *testing.B, cfg streams.Config, cat *streams.Catalog, topic string, n int) {
	b.Helper()
	p, err := streams.NewProducer(cfg, "bench-input", streams.WithCatalog(cat))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	reg := schemas.Builtin()
	docs := benchDocs("tweet", min(n, 1000))
	const chunk = 2000
	recs := make([]*kgo.Record, 0, chunk)
	for i := 0; i < n; i += chunk {
		recs = recs[:0]
		for j := i; j < min(i+chunk, n); j++ {
			d := docs[j%len(docs)]
			d = &fairstreampb.Document{Id: fmt.Sprintf("twitter:%d", j), Source: d.Source, Text: d.Text, Language: d.Language, LanguageConfidence: d.LanguageConfidence}
			env, err := reg.Wrap(d, schemas.Meta{Source: "twitter", Worker: "0xbench", Key: d.Id})
			if err != nil {
				b.Fatal(err)
			}
			rec, err := p.Record(topic, env)
			if err != nil {
				b.Fatal(err)
			}
			recs = append(recs, rec)
		}
		if err := p.Client().ProduceSync(ctx, recs...).FirstErr(); err != nil {
			b.Fatal(err)
		}
	}
}

// waitCommitted polls until group's committed offsets on topic sum to n.
func waitCommitted(ctx context.Context, adm *kadm.Client, group, topic string, n int64) error {
	for {
		resps, err := adm.FetchOffsets(ctx, group)
		if err == nil {
			var sum int64
			resps.Each(func(o kadm.OffsetResponse) {
				if o.Topic == topic && o.Err == nil {
					sum += o.At
				}
			})
			if sum >= n {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d commits: %w", n, ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
}
