package model

import (
	"math"
	"testing"
)

func TestErff(t *testing.T) {
	var worst float64
	for i := -100000; i <= 100000; i++ {
		x := float32(i) / 10000 // [-10, 10]
		got, want := float64(erff(x)), math.Erf(float64(x))
		worst = max(worst, math.Abs(got-want))
	}
	if worst > 5e-7 {
		t.Errorf("erff: max abs error %.3g over [-10, 10], want <= 5e-7", worst)
	}
}

func TestExpf(t *testing.T) {
	var worst float64
	for i := 0; i <= 200000; i++ {
		x := -float32(i) / 2000 // [-100, 0]
		got, want := float64(expf(x)), math.Exp(float64(x))
		if want < 1e-37 {
			continue // float32 subnormals: flushed to 0 is fine for softmax
		}
		worst = max(worst, math.Abs(got-want)/want)
	}
	if worst > 1e-6 {
		t.Errorf("expf: max relative error %.3g over [-87, 0], want <= 1e-6", worst)
	}
	if expf(-1000) != 0 {
		t.Errorf("expf(-1000) = %v, want 0", expf(-1000))
	}
}

// TestVectorKernels checks the assembly GELU and axpy against the Go ones.
func TestVectorKernels(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2/FMA on this CPU: only the Go versions run, and other tests cover them")
	}
	x := make([]float32, 1003)
	for i := range x {
		x[i] = float32(i-500) / 60 // [-8.3, 8.4]
	}
	want := append([]float32(nil), x...)
	geluGo(want)
	got := append([]float32(nil), x...)
	gelu(got)
	for i := range x {
		if d := math.Abs(float64(got[i] - want[i])); d > 1e-6*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("gelu(%v) = %v, want %v", x[i], got[i], want[i])
		}
	}
	for _, n := range []int{0, 1, 7, 8, 31, 32, 33, 100} {
		y1 := make([]float32, n+1)
		y2 := make([]float32, n+1)
		for i := range y1 {
			y1[i], y2[i] = float32(i), float32(i)
		}
		axpyGo(0.5, x[:n], y1)
		axpy(0.5, x[:n], y2)
		for i := range y1 {
			if y1[i] != y2[i] {
				t.Fatalf("n=%d: axpy y[%d] = %v, want %v", n, i, y2[i], y1[i])
			}
		}
	}
}
