package model

import (
	"context"
	"math"
	"sync"
)

// workspace holds one forward pass's activations; Embed takes one from the
// model's pool so that concurrent calls never share buffers and a busy
// model does not allocate per batch.
type workspace struct {
	x, qkv, attn, tmp, inter []float32
	scores                   []float32 // one [maxLen] row per worker
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// forward runs the encoder over one batch and writes each sequence's
// pooled, normalised vector into out.
//
// The batch is packed, not padded: the tokens of all sequences are the
// rows of one [T×H] matrix, every projection is one matrix product over
// all of them, and attention runs per sequence over its own rows only.
// That is exactly what BERT computes for the real tokens of a padded
// batch with its attention mask (a masked position gets weight 0, and
// mean pooling ignores padding), without spending work on padding.
func (m *MiniLM) forward(ctx context.Context, ws *workspace, seqs [][]int32, out [][]float32) error {
	H, I := m.hidden, m.inter
	offs := make([]int, len(seqs)+1)
	maxLen := 0
	for i, s := range seqs {
		offs[i+1] = offs[i] + len(s)
		maxLen = max(maxLen, len(s))
	}
	T := offs[len(seqs)]
	// The matrices have Tp rows, T rounded up to the GEMM tile; the pad
	// rows are zeroed, pass through the products and are never read.
	Tp := (T + mr - 1) / mr * mr
	ws.x = grow(ws.x, Tp*H)
	ws.qkv = grow(ws.qkv, Tp*3*H)
	ws.attn = grow(ws.attn, Tp*H)
	ws.tmp = grow(ws.tmp, Tp*H)
	ws.inter = grow(ws.inter, Tp*I)
	ws.scores = grow(ws.scores, m.workers*(m.headDim+1)*maxLen)
	x := ws.x
	clear(x[T*H:])
	clear(ws.attn[T*H:])

	// Embeddings: word + position + token type 0, then LayerNorm.
	for s, ids := range seqs {
		for p, id := range ids {
			row := x[(offs[s]+p)*H : (offs[s]+p+1)*H]
			w := m.wordEmb[int(id)*H : int(id+1)*H]
			pe := m.posEmb[p*H : (p+1)*H]
			for d := range row {
				row[d] = w[d] + pe[d] + m.typeEmb[d]
			}
		}
	}
	m.parallel(T, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			layerNorm(x[r*H:(r+1)*H], nil, m.embLNg, m.embLNb, m.eps)
		}
	})

	for li := range m.layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		l := &m.layers[li]
		m.matmul(ws.qkv, x, l.wqkv, l.bqkv, Tp)
		m.attention(ws, offs)
		m.matmul(ws.tmp, ws.attn, l.wo, l.bo, Tp)
		m.parallel(T, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				layerNorm(x[r*H:(r+1)*H], ws.tmp[r*H:(r+1)*H], l.ln1g, l.ln1b, m.eps)
			}
		})
		m.matmul(ws.inter, x, l.w1, l.b1, Tp)
		m.parallel(T, func(lo, hi int) { gelu(ws.inter[lo*I : hi*I]) })
		m.matmul(ws.tmp, ws.inter, l.w2, l.b2, Tp)
		m.parallel(T, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				layerNorm(x[r*H:(r+1)*H], ws.tmp[r*H:(r+1)*H], l.ln2g, l.ln2b, m.eps)
			}
		})
	}

	// Mean pooling over each sequence's tokens, then L2 normalisation.
	for s := range seqs {
		acc := make([]float64, H)
		for r := offs[s]; r < offs[s+1]; r++ {
			for d, v := range x[r*H : (r+1)*H] {
				acc[d] += float64(v)
			}
		}
		var norm float64
		n := float64(offs[s+1] - offs[s])
		for d := range acc {
			acc[d] /= n
			norm += acc[d] * acc[d]
		}
		norm = math.Max(math.Sqrt(norm), 1e-12)
		for d := range acc {
			out[s][d] = float32(acc[d] / norm)
		}
	}
	return nil
}

// attention is multi-head self-attention over each sequence's rows of
// ws.qkv, written to ws.attn; (sequence, head) pairs are spread over the
// workers.
func (m *MiniLM) attention(ws *workspace, offs []int) {
	H, dh := m.hidden, m.headDim
	scale := float32(1 / math.Sqrt(float64(dh)))
	nseq := len(offs) - 1
	jobs := nseq * m.heads
	maxLen := len(ws.scores) / m.workers / (dh + 1)
	var next sync.Mutex
	j := 0
	take := func() int {
		next.Lock()
		defer next.Unlock()
		j++
		return j - 1
	}
	var wg sync.WaitGroup
	for w := range min(m.workers, jobs) {
		wg.Go(func() {
			// Per worker: one row of scores, and the head's keys
			// transposed ([dh × L]) so that a row of scores is dh axpys.
			scratch := ws.scores[w*(dh+1)*maxLen : (w+1)*(dh+1)*maxLen]
			for job := take(); job < jobs; job = take() {
				s, h := job/m.heads, job%m.heads
				r0, L := offs[s], offs[s+1]-offs[s]
				sc, kt := scratch[:L], scratch[maxLen:maxLen+dh*L]
				for j := range L {
					k := ws.qkv[(r0+j)*3*H+H+h*dh : (r0+j)*3*H+H+h*dh+dh]
					for d, v := range k {
						kt[d*L+j] = v
					}
				}
				for i := range L {
					q := ws.qkv[(r0+i)*3*H+h*dh : (r0+i)*3*H+h*dh+dh]
					clear(sc)
					for d, qv := range q {
						axpy(qv*scale, kt[d*L:(d+1)*L], sc)
					}
					mx := sc[0]
					for _, v := range sc {
						mx = max(mx, v)
					}
					var sum float32
					for j := range sc {
						e := expf(sc[j] - mx)
						sc[j] = e
						sum += e
					}
					o := ws.attn[(r0+i)*H+h*dh : (r0+i)*H+h*dh+dh]
					clear(o)
					inv := 1 / sum
					for j, p := range sc {
						v := ws.qkv[(r0+j)*3*H+2*H+h*dh : (r0+j)*3*H+2*H+h*dh+dh]
						axpy(p*inv, v, o)
					}
				}
			}
		})
	}
	wg.Wait()
}

// parallel splits [0,n) into contiguous ranges, one per worker.
func (m *MiniLM) parallel(n int, fn func(lo, hi int)) {
	w := min(m.workers, n)
	if w <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for i := range w {
		lo, hi := i*n/w, (i+1)*n/w
		wg.Go(func() { fn(lo, hi) })
	}
	wg.Wait()
}

// layerNorm sets x to LayerNorm(x + res) (res may be nil).
func layerNorm(x, res, g, b []float32, eps float32) {
	if res != nil {
		for i := range x {
			x[i] += res[i]
		}
	}
	var mean float32
	for _, v := range x {
		mean += v
	}
	mean /= float32(len(x))
	var vr float32
	for _, v := range x {
		d := v - mean
		vr += d * d
	}
	vr /= float32(len(x))
	inv := float32(1 / math.Sqrt(float64(vr+eps)))
	for i, v := range x {
		x[i] = (v-mean)*inv*g[i] + b[i]
	}
}

// geluGo is the exact GELU BERT uses, x·Φ(x) = x/2·(1 + erf(x/√2)), with
// erff's approximation of erf.
func geluGo(x []float32) {
	for i, v := range x {
		x[i] = 0.5 * v * (1 + erff(v*math.Sqrt2/2))
	}
}

func axpyGo(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}
