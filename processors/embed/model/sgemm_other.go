//go:build !amd64

package model

// Only the portable micro-kernel exists off amd64; the flags keep the
// tests' switching uniform.
var useAVX512, useAVX2 = false, false

// kernel12x16 computes c[12×16] (row stride ldc) += a[12×k] (row stride
// lda) · b[k×16] (one packed panel).
func kernel12x16(k int, a []float32, lda int, b []float32, c []float32, ldc int) {
	kernel6x16Go(k, a, lda, b, c, ldc)
	kernel6x16Go(k, a[6*lda:], lda, b, c[6*ldc:], ldc)
}

func axpy(alpha float32, x, y []float32) { axpyGo(alpha, x, y) }

func gelu(x []float32) { geluGo(x) }
