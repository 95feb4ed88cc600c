package validator

import (
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fairstream/fairstream/connectors/identity"
	"github.com/fairstream/fairstream/schemas"
)

const (
	benchWorkers = 10_000
	benchPage    = 100 // events per batch signature
)

// benchPool is 10,000 workers × one page of 100 signed tweets, in the order
// a bus would deliver them (page after page), 1.8 ms of event time apart
// (30 minutes in all: three windows close during a pass).
var benchPool = sync.OnceValues(func() ([]logEntry, error) {
	reg := schemas.Builtin()
	r := rand.New(rand.NewPCG(11, 11))
	pool := make([]logEntry, 0, benchWorkers*benchPage)
	for p := range benchWorkers {
		id, err := identity.Generate()
		if err != nil {
			return nil, err
		}
		envs := make([]*schemas.Envelope, benchPage)
		for i := range envs {
			j := len(pool) + i
			ev := t0.Add(time.Duration(j) * 1800 * time.Microsecond)
			env, err := reg.Wrap(tweetPayload(strconv.Itoa(j), sentence(r, 15), ev), schemas.Meta{
				ID: schemas.DeriveID(strconv.Itoa(p), "bench", i, ev), Source: "twitter", Time: ev, Ingested: ev.Add(time.Second), Key: strconv.Itoa(j),
			})
			if err != nil {
				return nil, err
			}
			envs[i] = env
		}
		if err := id.SignBatch(envs); err != nil {
			return nil, err
		}
		for _, env := range envs {
			pool = append(pool, logEntry{env: env, ingested: env.GetIngested().AsTime()})
		}
	}
	return pool, nil
})

// BenchmarkScorer feeds pre-built, batch-signed envelopes of 10,000 active
// workers into the default configuration (1% sampling, each sample given a
// verdict), verifying every signature through identity.Verifier, and
// advancing the watermark every 10,000 events. Run it with -cpu 1.
func BenchmarkScorer(b *testing.B) {
	pool, err := benchPool()
	if err != nil {
		b.Fatal(err)
	}
	cfg := DefaultConfig()
	fresh := func() *Scorer {
		s, err := New(cfg, schemas.Builtin(), identity.NewVerifier(4096))
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	runtime.GC()
	s := fresh()
	cpu0 := cpuTime()
	windows, sampled := 0, 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		k := i % len(pool)
		if k == 0 && i > 0 { // a new pass over the same records: a new scorer
			b.StopTimer()
			s = fresh()
			b.StartTimer()
		}
		e := pool[k]
		a := s.Add(e.env, e.ingested)
		if a.Err != nil {
			b.Fatal(a.Err)
		}
		if a.Sample {
			sampled++
			s.AddVerification(Verification{Worker: e.env.GetWorker(), EventID: e.env.GetId(), Time: e.env.GetTime().AsTime(), Result: Verified})
		}
		if k%10_000 == 9_999 {
			windows += len(s.Advance(e.env.GetTime().AsTime()))
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	// On a shared machine wall time includes waiting for a CPU; CPU time
	// (all threads: the GC's too) is the cost per core.
	b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "events/cpu-s")
	b.ReportMetric(float64(sampled)/float64(b.N), "sampled/event")
	_ = windows
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
