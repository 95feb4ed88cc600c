package trends

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// benchDocs returns n tweets over a vocabulary of distinct terms drawn from
// a Zipf law (s=1.1): one or two hashtags and eight words each.
func benchDocs(n, distinct int) []*fairstreampb.Document {
	rng := rand.New(rand.NewPCG(1, uint64(distinct)))
	z := rand.NewZipf(rng, 1.1, 1, uint64(distinct-1))
	word := func() string { return fmt.Sprintf("w%x", z.Uint64()) }
	docs := make([]*fairstreampb.Document, n)
	for i := range docs {
		var b strings.Builder
		for range 8 {
			b.WriteString(word())
			b.WriteByte(' ')
		}
		tags := []string{word()}
		if i%2 == 0 {
			tags = append(tags, word())
		}
		docs[i] = &fairstreampb.Document{Id: fmt.Sprintf("twitter:%d", i), Source: "twitter", Hashtags: tags, Text: b.String()}
	}
	return docs
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// BenchmarkAggregator feeds documents 12 ms of event time apart (83 per second)
// (so that 2,000,000 of them cross 6.7 hours: every slide, window and baseline bucket fills) into the default
// configuration, advancing the watermark after each as the processor does.
// It reports documents per second and the heap the aggregator holds after
// the run, which the capacity bounds whatever the number of distinct terms.
func BenchmarkAggregator(b *testing.B) {
	for _, distinct := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("distinct=%d", distinct), func(b *testing.B) {
			docs := benchDocs(50_000, distinct)
			base := heapInUse()
			a, err := NewAggregator(DefaultConfig())
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				t := t0.Add(time.Duration(i) * 12 * time.Millisecond)
				a.Add(docs[i%len(docs)], t)
				a.Advance(a.EventWatermark())
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			held := heapInUse()
			counters := 0
			for _, sl := range a.slices {
				counters += len(sl.sum.heap)
			}
			for _, s := range a.buckets {
				counters += len(s.heap)
			}
			b.ReportMetric(float64(int64(held)-int64(base))/(1<<20), "heap-MB")
			b.ReportMetric(float64(counters), "counters")
			runtime.KeepAlive(a)
			runtime.KeepAlive(docs)
		})
	}
}
