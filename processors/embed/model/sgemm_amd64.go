package model

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// The micro-kernel in use: AVX-512 where the CPU and OS have it, else
// AVX2 with FMA3 (every x86-64 CPU since Haswell and Zen 1), else the
// portable Go one. Tests switch them to check each against the others.
var (
	useAVX512 = cpu.X86.HasAVX512F
	useAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
)

// kernel6x16AVX2 is kernel6x16Go in AVX2/FMA assembly (sgemm_amd64.s):
// 12 ymm accumulators, B streamed from the packed panel.
//
//go:noescape
func kernel6x16AVX2(k int, a *float32, lda int, b *float32, c *float32, ldc int)

// kernel12x16AVX512 is kernel12x16 in AVX-512 assembly: 12 zmm
// accumulators, A's elements broadcast by the FMAs themselves.
//
//go:noescape
func kernel12x16AVX512(k int, a *float32, lda int, b *float32, c *float32, ldc int)

// kernel12x16 computes c[12×16] (row stride ldc) += a[12×k] (row stride
// lda) · b[k×16] (one packed panel).
func kernel12x16(k int, a []float32, lda int, b []float32, c []float32, ldc int) {
	// Bounds the assembly relies on, checked here once per call.
	_ = a[(mr-1)*lda+k-1]
	_ = b[k*nr-1]
	_ = c[(mr-1)*ldc+nr-1]
	switch {
	case useAVX512:
		kernel12x16AVX512(k, unsafe.SliceData(a), lda, unsafe.SliceData(b), unsafe.SliceData(c), ldc)
	case useAVX2:
		kernel6x16AVX2(k, unsafe.SliceData(a), lda, unsafe.SliceData(b), unsafe.SliceData(c), ldc)
		kernel6x16AVX2(k, unsafe.SliceData(a[6*lda:]), lda, unsafe.SliceData(b), unsafe.SliceData(c[6*ldc:]), ldc)
	default:
		kernel6x16Go(k, a, lda, b, c, ldc)
		kernel6x16Go(k, a[6*lda:], lda, b, c[6*ldc:], ldc)
	}
}

//go:noescape
func axpyAVX2(alpha float32, x *float32, y *float32, n int)

//go:noescape
func geluAVX2(x *float32, n int)

// axpy sets y += alpha·x (len(y) >= len(x)).
func axpy(alpha float32, x, y []float32) {
	if !useAVX2 || len(x) == 0 {
		axpyGo(alpha, x, y)
		return
	}
	_ = y[len(x)-1]
	axpyAVX2(alpha, unsafe.SliceData(x), unsafe.SliceData(y), len(x))
}

// gelu applies GELU to x in place.
func gelu(x []float32) {
	n := len(x) &^ 7
	if useAVX2 && n > 0 {
		geluAVX2(unsafe.SliceData(x), n)
		x = x[n:]
	}
	geluGo(x)
}
