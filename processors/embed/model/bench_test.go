package model

import (
	"context"
	"os"
	"strings"
	"testing"
)

// BenchmarkMiniLM embeds testdata/bench/sentences.txt (64 news-like
// sentences of 13–21 words, the same that testdata/reference/bench_onnx.py
// runs through ONNX Runtime) in batches of 32 and reports sentences/s. Run
// it on 2 cores with -cpu 2 (see docs/benchmarks.md).
func BenchmarkMiniLM(b *testing.B) {
	m := loadModel(b)
	raw, err := os.ReadFile("testdata/bench/sentences.txt")
	if err != nil {
		b.Fatal(err)
	}
	texts := strings.Split(strings.TrimSpace(string(raw)), "\n")
	mb := m // batches of 32, the default
	ctx := context.Background()
	if _, err := mb.Embed(ctx, texts); err != nil { // warm the workspace pool
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := mb.Embed(ctx, texts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(texts))/b.Elapsed().Seconds(), "sentences/s")
}
