package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMatmulKernels checks every micro-kernel this CPU can run against a
// plain triple loop, over shapes that exercise partial k blocks and
// several row blocks.
func TestMatmulKernels(t *testing.T) {
	kernels := []struct {
		name             string
		avx512, avx2, ok bool
	}{
		{"avx512", true, false, useAVX512},
		{"avx2", false, true, useAVX2},
		{"go", false, false, true},
	}
	saved512, saved2 := useAVX512, useAVX2
	t.Cleanup(func() { useAVX512, useAVX2 = saved512, saved2 })
	rng := rand.New(rand.NewPCG(1, 2))
	for _, kn := range kernels {
		if !kn.ok {
			t.Logf("%s: this CPU cannot run it", kn.name)
			continue
		}
		useAVX512, useAVX2 = kn.avx512, kn.avx2
		for _, sh := range []struct{ m, k, n int }{{12, 1, 16}, {24, 384, 1152}, {96, 1536, 384}, {156, 300, 32}} {
			a := make([]float32, sh.m*sh.k)
			w := make([]float32, sh.k*sh.n)
			bias := make([]float32, sh.n)
			for i := range a {
				a[i] = rng.Float32()*2 - 1
			}
			for i := range w {
				w[i] = rng.Float32()*2 - 1
			}
			for i := range bias {
				bias[i] = rng.Float32()
			}
			c := make([]float32, sh.m*sh.n)
			for _, workers := range []int{1, 3} {
				(&MiniLM{workers: workers}).matmul(c, a, pack(w, sh.k, sh.n), bias, sh.m)
				for i := range sh.m {
					for j := range sh.n {
						want := float64(bias[j])
						for kk := range sh.k {
							want += float64(a[i*sh.k+kk]) * float64(w[kk*sh.n+j])
						}
						if got := float64(c[i*sh.n+j]); math.Abs(got-want) > 1e-4*math.Sqrt(float64(sh.k))+1e-5 {
							t.Fatalf("%s, %d workers, %dx%dx%d: c[%d][%d] = %v, want %v", kn.name, workers, sh.m, sh.k, sh.n, i, j, got, want)
						}
					}
				}
			}
		}
	}
}

// TestReferencePortableKernel runs the reference check with the kernels
// other than the one this CPU picks, so a machine with AVX-512 still
// tests the AVX2 and Go paths end to end.
func TestReferencePortableKernel(t *testing.T) {
	m := loadModel(t)
	refs := loadReference(t)[:12]
	saved512, saved2 := useAVX512, useAVX2
	t.Cleanup(func() { useAVX512, useAVX2 = saved512, saved2 })
	for _, kn := range []struct {
		name         string
		avx512, avx2 bool
	}{{"avx2", false, saved2}, {"go", false, false}} {
		useAVX512, useAVX2 = kn.avx512, kn.avx2
		texts := make([]string, len(refs))
		for i, r := range refs {
			texts[i] = r.Sentence
		}
		got, err := m.Embed(t.Context(), texts)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range refs {
			if c := cosine(got[i], r.Vector); !(c >= minCosine) {
				t.Errorf("%s kernel, sentence %d: cosine %.6f, want >= %v", kn.name, i, c, minCosine)
			}
		}
	}
}
