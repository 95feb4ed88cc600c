package identity

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/fairstream/fairstream/schemas"
)

// Batch signatures. Signing each event costs a secp256k1 signature (about
// 30 µs); a connector writes events a page at a time, so it signs the page
// once instead: the Merkle root of the events' canonical digests is signed,
// and each event carries that signature with its Merkle proof. Each event
// still verifies on its own; a Verifier caches the recovered signer per
// root, so a batch costs one public-key recovery.
//
// An event's signature field is then:
//
//	0x01 || root signature (65 bytes) || uvarint(n) || uvarint(directions) || n sibling hashes (32 bytes each)
//
// Leaves are SHA-256(0x00 || CanonicalBytes); inner nodes are
// SHA-256(0x01 || left || right); an odd node is carried up unchanged. Bit
// i of directions is set when the i-th sibling is on the left. The root
// signature is over SHA-256("fairstream/batch/v1" || root), so it can be
// taken for no single event's signature. (SHA-256 rather than Keccak: it
// runs in hardware on current CPUs, and verification hashes a proof per
// event.)
const batchFormat = 0x01

const batchTag = "fairstream/batch/v1"

// maxProof is the longest proof a verifier accepts: its directions are a
// uint64 (SignBatch, with at most 2^20 events, makes proofs of 20 at most).
const maxProof = 64

// leafHash is SHA-256(0x00 || CanonicalBytes(env)), hashed from a stack
// buffer (appendCanonical writes the same bytes as schemas.CanonicalBytes).
func leafHash(env *schemas.Envelope) [sha256.Size]byte {
	var buf [320]byte
	b := append(buf[:0], 0x00)
	b = appendCanonical(b, env)
	return sha256.Sum256(b)
}

func nodeHash(l, r *[sha256.Size]byte) [sha256.Size]byte {
	var buf [1 + 2*sha256.Size]byte
	buf[0] = 0x01
	copy(buf[1:], l[:])
	copy(buf[1+sha256.Size:], r[:])
	return sha256.Sum256(buf[:])
}

func rootDigest(root *[sha256.Size]byte) []byte {
	var buf [len(batchTag) + sha256.Size]byte
	copy(buf[:], batchTag)
	copy(buf[len(batchTag):], root[:])
	sum := sha256.Sum256(buf[:])
	return sum[:]
}

// SignBatch sets every envelope's worker to this identity and signs them
// together. A batch of one is signed as a single event.
func (id *Identity) SignBatch(envs []*schemas.Envelope) error {
	switch len(envs) {
	case 0:
		return nil
	case 1:
		return id.Sign(envs[0])
	}
	if len(envs) > 1<<20 {
		return fmt.Errorf("sign batch: %d events, more than %d", len(envs), 1<<20)
	}
	for _, e := range envs {
		e.Worker = id.Address()
	}
	// Build the tree level by level, remembering every level for proofs.
	level := make([][sha256.Size]byte, len(envs))
	for i, e := range envs {
		level[i] = leafHash(e)
	}
	levels := [][][sha256.Size]byte{level}
	for len(level) > 1 {
		next := make([][sha256.Size]byte, 0, (len(level)+1)/2)
		for i := 0; i < len(level); i += 2 {
			if i+1 == len(level) {
				next = append(next, level[i])
				continue
			}
			next = append(next, nodeHash(&level[i], &level[i+1]))
		}
		levels = append(levels, next)
		level = next
	}
	sig, err := crypto.Sign(rootDigest(&level[0]), id.key)
	if err != nil {
		return fmt.Errorf("sign batch: %w", err)
	}
	sibs := make([]*[sha256.Size]byte, 0, len(levels))
	for i, e := range envs {
		sibs = sibs[:0]
		var dirs uint64
		idx := i
		for _, lv := range levels[:len(levels)-1] {
			sib := idx ^ 1
			if sib < len(lv) {
				if sib < idx {
					dirs |= 1 << len(sibs)
				}
				sibs = append(sibs, &lv[sib])
			}
			idx /= 2
		}
		out := make([]byte, 0, 1+len(sig)+2*binary.MaxVarintLen64+sha256.Size*len(sibs))
		out = append(out, batchFormat)
		out = append(out, sig...)
		out = binary.AppendUvarint(out, uint64(len(sibs)))
		out = binary.AppendUvarint(out, dirs)
		for _, s := range sibs {
			out = append(out, s[:]...)
		}
		e.Signature = out
	}
	return nil
}

// parseBatch splits a batch signature into its parts: the root signature,
// the directions, and the n sibling hashes, 32 bytes each, in proof.
func parseBatch(sig []byte) (rootSig []byte, dirs uint64, proof []byte, err error) {
	if len(sig) < 1+crypto.SignatureLength || sig[0] != batchFormat {
		return nil, 0, nil, errors.New("not a batch signature")
	}
	rootSig = sig[1 : 1+crypto.SignatureLength]
	rest := sig[1+crypto.SignatureLength:]
	n, k := binary.Uvarint(rest)
	if k <= 0 || n > maxProof {
		return nil, 0, nil, errors.New("bad proof length")
	}
	rest = rest[k:]
	dirs, k = binary.Uvarint(rest)
	if k <= 0 {
		return nil, 0, nil, errors.New("bad proof directions")
	}
	rest = rest[k:]
	if uint64(len(rest)) != n*sha256.Size {
		return nil, 0, nil, fmt.Errorf("proof holds %d bytes, want %d", len(rest), n*sha256.Size)
	}
	return rootSig, dirs, rest, nil
}

// sibling is the i-th sibling hash of proof.
func sibling(proof []byte, i int) *[sha256.Size]byte {
	return (*[sha256.Size]byte)(proof[i*sha256.Size : (i+1)*sha256.Size])
}

// batchRoot folds env's proof up to the root it claims, from leaf, env's
// leaf hash. m, when not nil, remembers the path of the last event folded
// through it, so that an event of the same batch stops where its path
// meets that one: a page of events verified in order hashes about two
// nodes each instead of a whole path.
func batchRoot(leaf [sha256.Size]byte, dirs uint64, proof []byte, m *pathMemo) [sha256.Size]byte {
	n := len(proof) / sha256.Size
	if m == nil || !m.mu.TryLock() { // no memo, or another goroutine is using it
		h := leaf
		for i := range n {
			h = up(&h, dirs, proof, i)
		}
		return h
	}
	defer m.mu.Unlock()
	if len(m.nodes) != n {
		m.nodes = append(m.nodes[:0], make([][sha256.Size]byte, n)...)
		m.proof = append(m.proof[:0], make([]byte, len(proof))...)
		m.valid = false
	}
	h := leaf
	i := 0
	for ; i < n; i++ {
		h = up(&h, dirs, proof, i)
		// What lies above node i is a function of it, of the directions
		// above i and of the siblings above i: where all three are the
		// memo's, so is the root.
		if m.valid && i+1 < n && h == m.nodes[i] && dirs>>(i+1) == m.dirs>>(i+1) &&
			bytes.Equal(proof[(i+1)*sha256.Size:], m.proof[(i+1)*sha256.Size:]) {
			h = m.nodes[n-1]
			break
		}
		m.nodes[i] = h
	}
	// The path up to i is this event's; above it, the memo's already is.
	copy(m.proof, proof[:min(i+1, n)*sha256.Size])
	m.dirs = dirs
	m.valid = true
	return h
}

// up is the parent of h, node i of a path, and of the proof's i-th sibling.
func up(h *[sha256.Size]byte, dirs uint64, proof []byte, i int) [sha256.Size]byte {
	if dirs&(1<<i) != 0 {
		return nodeHash(sibling(proof, i), h)
	}
	return nodeHash(h, sibling(proof, i))
}

// pathMemo is the Merkle path of the last batch event a Verifier folded:
// its proof, its directions, and its nodes (nodes[i] the parent of node i
// and sibling i; the last is the root).
type pathMemo struct {
	mu    sync.Mutex
	valid bool
	dirs  uint64
	proof []byte
	nodes [][sha256.Size]byte
}

// memoSlots is the number of paths a Verifier remembers, one per batch
// signature (chosen by its first bytes): pages of a few workers may be
// interleaved in a log.
const memoSlots = 64

// Verifier verifies envelopes like Verify, caching the signer recovered for
// each batch root, so a batch costs one public-key recovery, and the last
// Merkle path of each of a few batches, so that the events of a page share
// the hashing of their common nodes. It is safe for concurrent use.
type Verifier struct {
	mu    sync.Mutex
	cache map[[32]byte]common.Address
	max   int
	memos [memoSlots]pathMemo
}

// NewVerifier returns a verifier caching up to size batch roots.
func NewVerifier(size int) *Verifier {
	return &Verifier{cache: make(map[[32]byte]common.Address), max: max(size, 1)}
}

// Verify checks env's content hash and its signature, single or batch.
func (v *Verifier) Verify(env *schemas.Envelope) error { return verify(env, v) }

// memo is the path memo for a batch signed with rootSig (nil for a nil
// verifier).
func (v *Verifier) memo(rootSig []byte) *pathMemo {
	if v == nil {
		return nil
	}
	return &v.memos[binary.LittleEndian.Uint64(rootSig[:8])%memoSlots]
}

func (v *Verifier) signer(root *[32]byte, rootSig []byte) (common.Address, error) {
	if v != nil {
		v.mu.Lock()
		if a, ok := v.cache[*root]; ok {
			v.mu.Unlock()
			return a, nil
		}
		v.mu.Unlock()
	}
	pub, err := crypto.SigToPub(rootDigest(root), rootSig)
	if err != nil {
		return common.Address{}, err
	}
	a := crypto.PubkeyToAddress(*pub)
	if v != nil {
		v.mu.Lock()
		if len(v.cache) >= v.max {
			clear(v.cache) // a batch's events arrive together; a simple reset is enough
		}
		v.cache[*root] = a
		v.mu.Unlock()
	}
	return a, nil
}
