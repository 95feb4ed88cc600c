package identity

import (
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

var batchTag = []byte("fairstream/batch/v1")

func hash(parts ...[]byte) []byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(make([]byte, 0, sha256.Size))
}

func leafHash(env *schemas.Envelope) []byte { return hash([]byte{0x00}, schemas.CanonicalBytes(env)) }

func nodeHash(l, r []byte) []byte {
	var buf [1 + 2*sha256.Size]byte
	buf[0] = 0x01
	copy(buf[1:], l)
	copy(buf[1+sha256.Size:], r)
	sum := sha256.Sum256(buf[:])
	return sum[:]
}

func rootDigest(root []byte) []byte { return hash(batchTag, root) }

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
	level := make([][]byte, len(envs))
	for i, e := range envs {
		level[i] = leafHash(e)
	}
	levels := [][][]byte{level}
	for len(level) > 1 {
		next := make([][]byte, 0, (len(level)+1)/2)
		for i := 0; i < len(level); i += 2 {
			if i+1 == len(level) {
				next = append(next, level[i])
				continue
			}
			next = append(next, nodeHash(level[i], level[i+1]))
		}
		levels = append(levels, next)
		level = next
	}
	sig, err := crypto.Sign(rootDigest(level[0]), id.key)
	if err != nil {
		return fmt.Errorf("sign batch: %w", err)
	}
	for i, e := range envs {
		var sibs [][]byte
		var dirs uint64
		idx := i
		for _, lv := range levels[:len(levels)-1] {
			sib := idx ^ 1
			if sib < len(lv) {
				if sib < idx {
					dirs |= 1 << len(sibs)
				}
				sibs = append(sibs, lv[sib])
			}
			idx /= 2
		}
		out := make([]byte, 0, 1+len(sig)+2*binary.MaxVarintLen64+32*len(sibs))
		out = append(out, batchFormat)
		out = append(out, sig...)
		out = binary.AppendUvarint(out, uint64(len(sibs)))
		out = binary.AppendUvarint(out, dirs)
		for _, s := range sibs {
			out = append(out, s...)
		}
		e.Signature = out
	}
	return nil
}

// parseBatch splits a batch signature into its parts.
func parseBatch(sig []byte) (rootSig []byte, dirs uint64, sibs [][]byte, err error) {
	if len(sig) < 1+crypto.SignatureLength || sig[0] != batchFormat {
		return nil, 0, nil, errors.New("not a batch signature")
	}
	rootSig = sig[1 : 1+crypto.SignatureLength]
	rest := sig[1+crypto.SignatureLength:]
	n, k := binary.Uvarint(rest)
	if k <= 0 || n > 64 {
		return nil, 0, nil, errors.New("bad proof length")
	}
	rest = rest[k:]
	dirs, k = binary.Uvarint(rest)
	if k <= 0 {
		return nil, 0, nil, errors.New("bad proof directions")
	}
	rest = rest[k:]
	if uint64(len(rest)) != n*32 {
		return nil, 0, nil, fmt.Errorf("proof holds %d bytes, want %d", len(rest), n*32)
	}
	for i := range n {
		sibs = append(sibs, rest[i*32:(i+1)*32])
	}
	return rootSig, dirs, sibs, nil
}

// batchRoot folds env's proof up to the root it claims.
func batchRoot(env *schemas.Envelope, dirs uint64, sibs [][]byte) []byte {
	h := leafHash(env)
	for i, s := range sibs {
		if dirs&(1<<i) != 0 {
			h = nodeHash(s, h)
		} else {
			h = nodeHash(h, s)
		}
	}
	return h
}

// Verifier verifies envelopes like Verify, caching the signer recovered for
// each batch root, so a batch costs one public-key recovery. It is safe for
// concurrent use.
type Verifier struct {
	mu    sync.Mutex
	cache map[[32]byte]common.Address
	max   int
}

// NewVerifier returns a verifier caching up to size batch roots.
func NewVerifier(size int) *Verifier {
	return &Verifier{cache: make(map[[32]byte]common.Address), max: max(size, 1)}
}

// Verify checks env's content hash and its signature, single or batch.
func (v *Verifier) Verify(env *schemas.Envelope) error { return verify(env, v) }

func (v *Verifier) signer(root []byte, rootSig []byte) (common.Address, error) {
	key := [32]byte(root)
	if v != nil {
		v.mu.Lock()
		if a, ok := v.cache[key]; ok {
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
		v.cache[key] = a
		v.mu.Unlock()
	}
	return a, nil
}
