package streams_test

// Benchmarks of the processor runner against a raw franz-go
// consume → produce loop on the same embedded (kfake, in-memory) broker.
//
// One benchmark iteration is one 1 KiB record consumed, processed, produced
// and committed. Each benchmark function runs its broker in a child process
// (see TestMain), so that the CPU time and peak RSS it reports
// are the loop's own. Run one benchmark per process for the peak RSS to be
// that benchmark's: deploy/local/bench does, and docs/benchmarks.md has the
// figures.
//
// Metrics besides ns/op, B/op and allocs/op:
//   - records/s: b.N over the time from the first record handed to the
//     stage (or the raw loop) to the commit that covers the last one.
//   - CPU-µs/record: this process's CPU time over that window, per record.
//   - broker-CPU-µs/record: the broker process's (10 ms resolution).
//   - others-CPU-%: the machine's CPU that other processes used meanwhile;
//     a high value marks a run disturbed by other work.
//   - peak-RSS-MiB: this process's peak RSS; setup-RSS-MiB: the same before
//     the loop started (producing the inputs).

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
	"github.com/fairstream/fairstream/streams"
	"github.com/fairstream/fairstream/streams/embedded"
)

const (
	// benchValueSize is the serialized size of every input record value.
	benchValueSize = 1024
	// benchPartitions matches the real catalog's topics.
	benchPartitions = 6
	// benchWait bounds each wait of a round; it is a deadline, not a measure.
	benchWait = 5 * time.Minute
)

// loopCPUProfile names a file for a CPU profile of the measured window
// only (first record to last commit), without the setup that
// -test.cpuprofile would include: go test -bench ... ./streams -loopcpuprofile=f.
// Each round overwrites it, so it holds the last, largest round.
var loopCPUProfile = flag.String("loopcpuprofile", "", "write a CPU profile of each benchmark's measured window to this file")

// benchModes are the sub-benchmarks of BenchmarkRunner and BenchmarkRawLoop.
var benchModes = []struct {
	name          string
	transactional bool
}{
	{"transactional", true},
	{"at-least-once", false},
}

// BenchmarkRunner measures streams.Runner with a pass-through stage
// (RawWebPage → Document, body copied to text): decode, validate, process,
// derive the output envelope, produce and commit.
func BenchmarkRunner(b *testing.B) {
	env := startBenchBroker(b)
	for _, m := range benchModes {
		b.Run(m.name, func(b *testing.B) { env.measure(b, "runner", m.transactional, runRunner) })
	}
}

// BenchmarkRawLoop measures the hand-written franz-go loop the runner is
// compared with: it decodes nothing and forwards each record's key, value
// and headers to the output topic, with the runner's client settings.
func BenchmarkRawLoop(b *testing.B) {
	env := startBenchBroker(b)
	for _, m := range benchModes {
		b.Run(m.name, func(b *testing.B) { env.measure(b, "raw", m.transactional, runRawLoop) })
	}
}

// benchEnv is one benchmark function's broker and admin client.
type benchEnv struct {
	cfg       streams.Config
	adm       *kadm.Client
	brokerPID int
	round     atomic.Int64
}

const (
	// benchBrokersEnv points the benchmarks at a running cluster instead
	// of an embedded broker, and benchBrokerPIDEnv at its broker process.
	benchBrokersEnv   = "FAIRSTREAM_BENCH_BROKERS"
	benchBrokerPIDEnv = "FAIRSTREAM_BENCH_BROKER_PID"
	// benchBrokerEnv makes the test binary serve a broker (TestMain).
	benchBrokerEnv = "FAIRSTREAM_BENCH_BROKER_PROCESS"
	// benchBrokerAddr prefixes the line on which that process says where it listens.
	benchBrokerAddr = "bench broker listening on "
)

// TestMain serves the benchmarks' broker when this test binary is run again
// as that broker (benchBrokerEnv set), and runs the tests otherwise.
func TestMain(m *testing.M) {
	if os.Getenv(benchBrokerEnv) == "1" {
		if err := serveBenchBroker(); err != nil {
			fmt.Fprintln(os.Stderr, "bench broker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serveBenchBroker serves an embedded (in-memory kfake) broker until stdin
// closes. The broker runs in its own process so that a benchmark's peak RSS
// and CPU time are those of the loop it measures, not of the records the
// broker holds; the broker's CPU time is reported on its own.
func serveBenchBroker() error {
	empty, err := streams.NewCatalog()
	if err != nil {
		return err
	}
	br, err := embedded.Start(context.Background(), embedded.Config{Listen: "127.0.0.1:0"}, empty, nil)
	if err != nil {
		return err
	}
	defer br.Close()
	fmt.Printf("%s%s\n", benchBrokerAddr, br.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the benchmark closes it, or exits
	return nil
}

// startBenchBroker starts the broker process of one benchmark function and
// connects an admin client to it.
func startBenchBroker(b *testing.B) *benchEnv {
	b.Helper()
	if brokers := os.Getenv(benchBrokersEnv); brokers != "" {
		// A real cluster (deploy/local/bench -kafka); its broker process,
		// if named, is measured like the embedded one.
		pid, _ := strconv.Atoi(os.Getenv(benchBrokerPIDEnv))
		return connectBench(b, strings.Split(brokers, ","), pid)
	}
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
		b.Fatalf("start the broker process: %v", err)
	}
	addrc := make(chan string, 1)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), benchBrokerAddr); ok {
				addrc <- addr
			}
		}
	}()
	b.Cleanup(func() {
		stdin.Close() // the broker process exits
		select {
		case <-drained:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-drained
		}
		_ = cmd.Wait()
	})
	var addr string
	select {
	case addr = <-addrc:
	case <-drained:
		b.Fatal("the broker process exited without listening")
	case <-time.After(time.Minute):
		b.Fatal("the broker process did not listen within a minute")
	}

	return connectBench(b, []string{addr}, cmd.Process.Pid)
}

// connectBench connects an admin client to the benchmarks' cluster.
func connectBench(b *testing.B, brokers []string, brokerPID int) *benchEnv {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), benchWait)
	defer cancel()
	cfg := streams.DefaultConfig()
	cfg.Brokers = brokers
	cl, err := streams.NewClient(cfg, "bench-admin")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cl.Close)
	if err := streams.WaitReady(ctx, cl, cfg, nil); err != nil {
		b.Fatal(err)
	}
	return &benchEnv{cfg: cfg, adm: kadm.NewClient(cl), brokerPID: brokerPID}
}

// benchRound is one run of a benchmark body (one b.N): private topics and a
// private consumer group, so that rounds never see each other's records.
type benchRound struct {
	catalog *streams.Catalog
	in, out string
	group   string
}

// loopFunc consumes r.in into r.out until ctx ends, calling p.mark once per
// record it hands on.
type loopFunc func(ctx context.Context, env *benchEnv, r *benchRound, transactional bool, p *progress) error

// measure runs one round: b.N inputs are produced with the timer stopped,
// then loop runs; the clock starts when the first record reaches the stage
// (or the raw loop) and stops when the group's committed offsets cover all
// b.N inputs. Connecting, joining the group and initialising the producer
// ID are therefore outside the measure, for the runner and the raw loop alike.
func (e *benchEnv) measure(b *testing.B, impl string, transactional bool, loop loopFunc) {
	b.StopTimer()
	b.ReportAllocs()
	r := e.newRound(b, impl, transactional)
	e.produceInputs(b, r, b.N)
	runtime.GC() // setup garbage is not the loop's
	setupRSS := peakRSSMiB()

	p := newProgress(int64(b.N))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // on a b.Fatal below
	errc := make(chan error, 1)
	go func() { errc <- loop(ctx, e, r, transactional, p) }()
	stop := func() {
		cancel()
		if err := <-errc; err != nil {
			b.Fatalf("%s loop: %v", impl, err)
		}
	}

	deadline := time.NewTimer(benchWait)
	defer deadline.Stop()
	select {
	case <-p.started:
	case err := <-errc:
		b.Fatalf("%s loop returned before the first record: %v", impl, err)
	case <-deadline.C:
		b.Fatalf("%s loop: no record within %s", impl, benchWait)
	}
	b.StartTimer()
	cpu0 := sampleCPU(e.brokerPID)
	stopProfile := startLoopProfile(b)
	defer stopProfile() // on a b.Fatal below
	select {
	case <-p.reached:
	case err := <-errc:
		b.Fatalf("%s loop returned after %d of %d records: %v", impl, p.n.Load(), b.N, err)
	case <-deadline.C:
		b.Fatalf("%s loop: %d of %d records within %s", impl, p.n.Load(), b.N, benchWait)
	}
	wctx, wcancel := context.WithTimeout(ctx, benchWait)
	err := e.waitCommitted(wctx, r.group, r.in, int64(b.N))
	wcancel()
	end := time.Now()
	b.StopTimer()
	cpu1 := sampleCPU(e.brokerPID)
	stopProfile()
	stop()
	if err != nil {
		b.Fatalf("%s: waiting for the commit of %d records: %v", impl, b.N, err)
	}
	elapsed := end.Sub(p.startTime())

	e.check(b, r, b.N)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
	b.ReportMetric(setupRSS, "setup-RSS-MiB")
	b.ReportMetric(float64(cpu1.self-cpu0.self)/float64(time.Microsecond)/float64(b.N), "CPU-µs/record")
	if cpu0.broker >= 0 && cpu1.broker >= 0 {
		b.ReportMetric(float64(cpu1.broker-cpu0.broker)/float64(time.Microsecond)/float64(b.N), "broker-CPU-µs/record")
	}
	if other, ok := cpu1.othersPercent(cpu0); ok {
		b.ReportMetric(other, "others-CPU-%")
	}
	e.dropRound(r)
}

func (e *benchEnv) newRound(b *testing.B, impl string, transactional bool) *benchRound {
	b.Helper()
	mode := "alo"
	if transactional {
		mode = "txn"
	}
	base := fmt.Sprintf("bench.%s.%s.%d", impl, mode, e.round.Add(1))
	r := &benchRound{in: base + ".in.v1", out: base + ".out.v1", group: strings.ReplaceAll(base, ".", "-")}
	var err error
	r.catalog, err = streams.NewCatalog(
		streams.Topic{Name: r.in, Partitions: benchPartitions, Cleanup: streams.CleanupDelete, PayloadType: "raw.web/v1", Key: "url"},
		streams.Topic{Name: r.out, Partitions: benchPartitions, Cleanup: streams.CleanupDelete, PayloadType: "doc.structured/v1", Key: "document id"},
	)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), benchWait)
	defer cancel()
	if _, err := streams.EnsureTopics(ctx, e.adm, int16(e.cfg.ReplicationFactor), r.catalog.Topics()...); err != nil {
		b.Fatal(err)
	}
	return r
}

// dropRound deletes a finished round's topics and group, so that the
// broker's memory does not grow from round to round.
func (e *benchEnv) dropRound(r *benchRound) {
	ctx, cancel := context.WithTimeout(context.Background(), benchWait)
	defer cancel()
	_, _ = e.adm.DeleteGroups(ctx, r.group)
	_, _ = e.adm.DeleteTopics(ctx, r.in, r.out, r.in+streams.DLQSuffix, r.out+streams.DLQSuffix)
}

// produceInputs writes n envelopes of RawWebPage, each record value
// benchValueSize bytes, to r.in and waits for their acknowledgement.
func (e *benchEnv) produceInputs(b *testing.B, r *benchRound, n int) {
	b.Helper()
	p, err := streams.NewProducer(e.cfg, "bench-input", streams.WithCatalog(r.catalog))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	reg := schemas.Builtin()
	ctx, cancel := context.WithTimeout(context.Background(), benchWait)
	defer cancel()
	const chunk = 2000 // bounds the setup's memory
	recs := make([]*kgo.Record, 0, chunk)
	for i := 0; i < n; i += chunk {
		recs = recs[:0]
		for j := i; j < min(i+chunk, n); j++ {
			env, err := benchEnvelope(reg, j)
			if err != nil {
				b.Fatal(err)
			}
			rec, err := p.Record(r.in, env)
			if err != nil {
				b.Fatal(err)
			}
			recs = append(recs, rec)
		}
		if err := p.Client().ProduceSync(ctx, recs...).FirstErr(); err != nil {
			b.Fatalf("produce inputs: %v", err)
		}
	}
}

// benchWords are what page bodies are made of: text that zstd compresses
// about as well as prose, not as well as a run of one byte.
var benchWords = strings.Fields(`the of and to in is that for it as was with be by on not he this are or
his from at which but have an they you were her she there been one all we their has would when if so no
will more can out up who them some could into time only other new about than then its two these may
first any like now my such make over our even most after also did many before must through back years
where much your way well down should because each just those people how too little state good very
world still own see men work long get here between both life being under never day same another know
while last might great old year off come since against go came right used take three stream record
broker partition offset commit transaction worker validator epoch window utility payout ledger`)

// benchEnvelope returns the i-th input: a RawWebPage with a body of random
// words, sized so that its envelope encodes to exactly benchValueSize bytes.
func benchEnvelope(reg *schemas.Registry, i int) (*schemas.Envelope, error) {
	rng := rand.New(rand.NewPCG(uint64(i), 0x5eed))
	var text []byte
	for len(text) < 2*benchValueSize {
		text = append(text, benchWords[rng.IntN(len(benchWords))]...)
		text = append(text, ' ')
	}
	pg := &fairstreampb.RawWebPage{
		Url:         fmt.Sprintf("https://example.test/bench/%d", i),
		StatusCode:  200,
		ContentType: "text/html; charset=utf-8",
	}
	meta := schemas.Meta{Source: "web", Worker: "0xbench", Key: pg.Url}
	bodyLen := benchValueSize / 2
	for range 4 {
		pg.Body = text[:bodyLen]
		env, err := reg.Wrap(pg, meta)
		if err != nil {
			return nil, err
		}
		b, err := schemas.MarshalEnvelope(env)
		if err != nil {
			return nil, err
		}
		if len(b) == benchValueSize {
			return env, nil
		}
		bodyLen += benchValueSize - len(b)
	}
	return nil, fmt.Errorf("input %d: cannot size its envelope to %d bytes", i, benchValueSize)
}

// waitCommitted polls until group's committed offsets on topic sum to n,
// which, on fresh topics, means every one of the n inputs is committed.
func (e *benchEnv) waitCommitted(ctx context.Context, group, topic string, n int64) error {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		resps, err := e.adm.FetchOffsets(ctx, group)
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
			return fmt.Errorf("%w (last fetch error: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// check fails the benchmark unless the output topic holds at least n
// records and nothing was dead-lettered. Transaction markers take offsets
// too, so end offsets may exceed n.
func (e *benchEnv) check(b *testing.B, r *benchRound, n int) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), benchWait)
	defer cancel()
	ends, err := e.adm.ListEndOffsets(ctx, r.out, r.in+streams.DLQSuffix)
	if err != nil {
		b.Fatal(err)
	}
	var out, dlq int64
	ends.Each(func(o kadm.ListedOffset) {
		switch o.Topic {
		case r.out:
			out += o.Offset
		default:
			dlq += o.Offset
		}
	})
	if out < int64(n) || dlq != 0 {
		b.Fatalf("after %d inputs: %s ends at offsets summing to %d (want >= %d), %s.dlq to %d (want 0)", n, r.out, out, n, r.in, dlq)
	}
}

// progress counts records handed on by a loop and signals its first record
// and its target.
type progress struct {
	n       atomic.Int64
	target  int64
	start   atomic.Int64 // Unix nanoseconds of the first record
	started chan struct{}
	reached chan struct{}
	once    [2]sync.Once
}

func newProgress(target int64) *progress {
	return &progress{target: target, started: make(chan struct{}), reached: make(chan struct{})}
}

func (p *progress) mark() {
	n := p.n.Add(1)
	if n == 1 {
		p.start.Store(time.Now().UnixNano())
		p.once[0].Do(func() { close(p.started) })
	}
	if n >= p.target {
		p.once[1].Do(func() { close(p.reached) })
	}
}

func (p *progress) startTime() time.Time { return time.Unix(0, p.start.Load()) }

// startLoopProfile starts the -loopcpuprofile profile, if asked for, and
// returns what stops it.
func startLoopProfile(b *testing.B) (stop func()) {
	if *loopCPUProfile == "" {
		return func() {}
	}
	f, err := os.Create(*loopCPUProfile)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		b.Fatalf("-loopcpuprofile: %v (it cannot be combined with -test.cpuprofile)", err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			pprof.StopCPUProfile()
			if err := f.Close(); err != nil {
				b.Error(err)
			}
		})
	}
}

// cpuSample is the CPU time used by this process and by the broker
// process, and the machine's busy and total CPU time from /proc/stat.
type cpuSample struct {
	self        time.Duration
	broker      time.Duration // -1: unknown
	busy, total uint64        // clock ticks
	stat        bool          // /proc/stat was read
}

// clockTick is USER_HZ, the unit of /proc/stat: 100 on every Linux port Go runs on.
const clockTick = 10 * time.Millisecond

func sampleCPU(brokerPID int) cpuSample {
	s := cpuSample{broker: -1}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	// /proc/<pid>/stat: utime and stime are fields 14 and 15, counted
	// after the command name, which is in parentheses and may hold spaces.
	if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", brokerPID)); err == nil {
		if i := strings.LastIndexByte(string(data), ')'); i >= 0 {
			f := strings.Fields(string(data[i+1:]))
			if len(f) > 12 {
				ut, err1 := strconv.ParseInt(f[11], 10, 64)
				st, err2 := strconv.ParseInt(f[12], 10, 64)
				if err1 == nil && err2 == nil {
					s.broker = time.Duration(ut+st) * clockTick
				}
			}
		}
	}
	// First line: cpu user nice system idle iowait irq softirq steal guest guest_nice.
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s
	}
	line, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(line)
	if len(fields) < 9 || fields[0] != "cpu" {
		return s
	}
	for i, f := range fields[1:9] { // guest time is already in user
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return s
		}
		s.total += v
		if i != 3 && i != 4 { // idle, iowait
			s.busy += v
		}
	}
	s.stat = true
	return s
}

// othersPercent returns the share of the machine's CPU capacity that
// processes other than this one and the broker (and the hypervisor, as
// steal) used between since and s: how disturbed a run was.
func (s cpuSample) othersPercent(since cpuSample) (float64, bool) {
	if !s.stat || !since.stat || s.total <= since.total || s.broker < 0 || since.broker < 0 {
		return 0, false
	}
	busy := float64(s.busy - since.busy)
	ours := float64(s.self-since.self+s.broker-since.broker) / float64(clockTick)
	return max(0, busy-ours) / float64(s.total-since.total) * 100, true
}

// peakRSSMiB returns the process's peak resident set size so far.
func peakRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // Linux reports KiB
}

// runRunner runs streams.Runner with the pass-through stage, with
// DefaultRunnerConfig and DefaultConfig's producer settings.
func runRunner(ctx context.Context, env *benchEnv, r *benchRound, transactional bool, p *progress) error {
	rc := streams.DefaultRunnerConfig()
	rc.Transactional = transactional
	rc.InstanceID = r.group
	runner, err := streams.NewRunner(env.cfg, rc, streams.Stage[*fairstreampb.RawWebPage, *fairstreampb.Document]{
		Spec: streams.Spec{Name: r.group, Version: "bench", Inputs: []string{r.in}, Outputs: []string{r.out}},
		Process: func(_ context.Context, in streams.Event[*fairstreampb.RawWebPage]) ([]streams.Output[*fairstreampb.Document], error) {
			p.mark()
			pg := in.Payload
			return []streams.Output[*fairstreampb.Document]{{Payload: &fairstreampb.Document{
				Id: pg.GetUrl(), Source: "web", Url: pg.GetUrl(), Text: string(pg.GetBody()),
			}}}, nil
		},
	}, streams.WithCatalog(r.catalog))
	if err != nil {
		return err
	}
	return runner.Run(ctx)
}

// rawOpts are the franz-go options of the raw loop: the producer settings
// of streams.DefaultConfig and the consumer settings the runner uses with
// streams.DefaultRunnerConfig.
func rawOpts(cfg streams.Config, r *benchRound, transactional bool) ([]kgo.Opt, error) {
	pc := cfg.Producer
	var codec kgo.CompressionCodec
	switch pc.Compression {
	case "zstd":
		codec = kgo.ZstdCompression()
	case "lz4":
		codec = kgo.Lz4Compression()
	case "snappy":
		codec = kgo.SnappyCompression()
	case "gzip":
		codec = kgo.GzipCompression()
	case "none", "":
		codec = kgo.NoCompression()
	default:
		return nil, fmt.Errorf("compression %q", pc.Compression)
	}
	if pc.Acks != "all" {
		return nil, fmt.Errorf("the raw loop mirrors acks=all only, the config has %q", pc.Acks)
	}
	rc := streams.DefaultRunnerConfig()
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ClientID(cfg.ClientID + "-" + r.group),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(pc.Linger),
		kgo.ProducerBatchCompression(codec),
		kgo.MaxBufferedRecords(pc.MaxBufferedRecords),
		kgo.ProducerBatchMaxBytes(int32(pc.BatchMaxBytes)),
		kgo.RecordDeliveryTimeout(pc.DeliveryTimeout),
		kgo.ConsumerGroup(r.group),
		kgo.ConsumeTopics(r.in),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(rc.SessionTimeout),
		kgo.DisableAutoCommit(),
	}
	if transactional {
		opts = append(opts,
			kgo.TransactionalID("raw."+r.group),
			kgo.TransactionTimeout(rc.TransactionTimeout),
		)
	} else {
		opts = append(opts, kgo.BlockRebalanceOnPoll())
	}
	return opts, nil
}

// runRawLoop is the baseline: poll up to MaxPollRecords, forward each
// record, then commit — in a GroupTransactSession transaction, or by
// Flush and CommitRecords.
func runRawLoop(ctx context.Context, env *benchEnv, r *benchRound, transactional bool, p *progress) error {
	opts, err := rawOpts(env.cfg, r, transactional)
	if err != nil {
		return err
	}
	maxPoll := streams.DefaultRunnerConfig().MaxPollRecords
	var (
		mu   sync.Mutex
		perr error
	)
	promise := func(_ *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			perr = firstErr(perr, err)
			mu.Unlock()
		}
	}
	produceErr := func() error {
		mu.Lock()
		defer mu.Unlock()
		return perr
	}
	forward := func(produce func(context.Context, *kgo.Record, func(*kgo.Record, error))) func(*kgo.Record) {
		return func(in *kgo.Record) {
			produce(ctx, &kgo.Record{Topic: r.out, Key: in.Key, Value: in.Value, Headers: in.Headers}, promise)
			p.mark()
		}
	}

	if transactional {
		sess, err := kgo.NewGroupTransactSession(opts...)
		if err != nil {
			return err
		}
		defer sess.Close()
		each := forward(sess.Produce)
		for {
			fetches := sess.PollRecords(ctx, maxPoll)
			if ctx.Err() != nil {
				return nil
			}
			if err := fetchErr(fetches); err != nil {
				return err
			}
			if fetches.NumRecords() == 0 {
				continue
			}
			if err := sess.Begin(); err != nil {
				return err
			}
			fetches.EachRecord(each)
			try := kgo.TryCommit
			if produceErr() != nil {
				try = kgo.TryAbort
			}
			if _, err := sess.End(ctx, try); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			if err := produceErr(); err != nil {
				return err
			}
		}
	}

	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	each := forward(cl.Produce)
	for {
		fetches := cl.PollRecords(ctx, maxPoll)
		if ctx.Err() != nil {
			cl.AllowRebalance()
			return nil
		}
		if err := fetchErr(fetches); err != nil {
			return err
		}
		if fetches.NumRecords() == 0 {
			cl.AllowRebalance()
			continue
		}
		fetches.EachRecord(each)
		err := cl.Flush(ctx)
		if err == nil {
			err = produceErr()
		}
		if err == nil {
			err = cl.CommitRecords(ctx, fetches.Records()...)
		}
		cl.AllowRebalance()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// fetchErr returns the first fetch error other than the end of the poll's context.
func fetchErr(fetches kgo.Fetches) error {
	if fetches.IsClientClosed() {
		return kgo.ErrClientClosed
	}
	for _, fe := range fetches.Errors() {
		if !errors.Is(fe.Err, context.Canceled) && !errors.Is(fe.Err, context.DeadlineExceeded) {
			return fmt.Errorf("fetch %s[%d]: %w", fe.Topic, fe.Partition, fe.Err)
		}
	}
	return nil
}

// firstErr keeps the first error.
func firstErr(first, next error) error {
	if first != nil {
		return first
	}
	return next
}
