package model

import "sync"

// The GEMM micro-kernel's tile: mr rows of A times an nr-column panel of B.
const (
	mr = 12
	nr = 16
	kc = 256 // the depth of one pass over A and B, sized so a B panel (16 KiB) stays in L1
	mc = 72  // rows of A per block, so an A block (72 KiB) stays in L2
)

// packedMatrix is a weight matrix W [k×n] (already transposed from
// PyTorch's [out×in]) stored as n/nr column panels, each [k×nr] row-major,
// so the micro-kernel reads B strictly sequentially.
type packedMatrix struct {
	k, n int
	data []float32
}

// pack lays out w [k×n] (row-major) in panels; n must be a multiple of nr.
func pack(w []float32, k, n int) packedMatrix {
	p := packedMatrix{k: k, n: n, data: make([]float32, k*n)}
	for j0 := 0; j0 < n; j0 += nr {
		panel := p.data[j0*k : (j0+nr)*k]
		for kk := range k {
			copy(panel[kk*nr:(kk+1)*nr], w[kk*n+j0:kk*n+j0+nr])
		}
	}
	return p
}

// matmul sets c [m×n] to a [m×k] · w + bias (one bias per column), all
// row-major. m must be a multiple of mr (the workspace pads its rows).
// Rows are split over the workers in blocks of mc.
func (mo *MiniLM) matmul(c, a []float32, w packedMatrix, bias []float32, m int) {
	k, n := w.k, w.n
	for r := range m {
		copy(c[r*n:(r+1)*n], bias)
	}
	blocks := (m + mc - 1) / mc
	work := func(b0, b1 int) {
		for i0 := b0 * mc; i0 < min(b1*mc, m); i0 += mc {
			i1 := min(i0+mc, m)
			for k0 := 0; k0 < k; k0 += kc {
				kl := min(kc, k-k0)
				for j0 := 0; j0 < n; j0 += nr {
					bp := w.data[j0*k+k0*nr:]
					for i := i0; i < i1; i += mr {
						kernel12x16(kl, a[i*k+k0:], k, bp, c[i*n+j0:], n)
					}
				}
			}
		}
	}
	wk := min(mo.workers, blocks)
	if wk <= 1 {
		work(0, blocks)
		return
	}
	var wg sync.WaitGroup
	for t := range wk {
		b0, b1 := t*blocks/wk, (t+1)*blocks/wk
		wg.Go(func() { work(b0, b1) })
	}
	wg.Wait()
}

// kernel6x16Go is the portable micro-kernel: c[6×16] (row stride ldc) +=
// a[6×k] (row stride lda) · b[k×16] (packed).
func kernel6x16Go(k int, a []float32, lda int, b []float32, c []float32, ldc int) {
	const mr = 6
	var acc [mr][nr]float32
	b = b[:k*nr]
	for i := range mr {
		row := a[i*lda : i*lda+k]
		for kk, av := range row {
			bv := b[kk*nr : kk*nr+nr]
			for j := range nr {
				acc[i][j] += av * bv[j]
			}
		}
	}
	for i := range mr {
		cr := c[i*ldc : i*ldc+nr]
		for j := range nr {
			cr[j] += acc[i][j]
		}
	}
}
