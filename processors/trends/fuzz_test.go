package trends

import (
	"testing"
	"time"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// FuzzAggregator: whatever the text, hashtags and event times, the
// aggregator neither panics nor breaks its caps, and its snapshots are
// well-formed.
func FuzzAggregator(f *testing.F) {
	f.Add("Big #AI news from @fairstream https://x.org", "AI", int64(0), int64(40))
	f.Add("\xff\xfe\x00", "\xff", int64(-1<<62), int64(1<<62))
	f.Add("数据集 Привет мир données", "数据集", int64(5), int64(-90))
	f.Add("", "", int64(0), int64(0))
	f.Fuzz(func(t *testing.T, text, tag string, d1, d2 int64) {
		cfg := smallConfig()
		cfg.Capacity = 8
		a := mustAggregator(t, cfg)
		for i, d := range []int64{0, d1, d2, d1 / 2, d2 + 30} {
			at := t0.Add(time.Duration(d) * time.Second)
			doc := &fairstreampb.Document{Id: "twitter:" + string(rune('a'+i)), Source: "twitter", Text: text, Hashtags: []string{tag, text}}
			for _, s := range feed(a, doc, at) {
				if len(s.GetTerms()) > cfg.TopN || s.GetDocuments() <= 0 {
					t.Fatalf("bad snapshot: %v", s)
				}
				for j, term := range s.GetTerms() {
					if term.GetRank() != int32(j+1) || len(term.GetTerm()) > maxTermBytes || term.GetCountError() > term.GetCount() || len(term.GetSampleDocumentIds()) > cfg.SamplesPerTerm {
						t.Fatalf("bad term: %v", term)
					}
				}
			}
		}
	})
}
