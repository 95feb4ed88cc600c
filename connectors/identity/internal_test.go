package identity

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// TestAppendCanonicalIsCanonicalBytes holds appendCanonical to the bytes of
// schemas.CanonicalBytes, which signatures are defined over.
func TestAppendCanonicalIsCanonicalBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	str := func() string {
		n := []int{0, 1, 5, 127, 128, 300}[r.IntN(6)]
		return strings.Repeat(string(rune('a'+r.IntN(26))), n)
	}
	envs := []*schemas.Envelope{{}, {Time: &timestamppb.Timestamp{}}}
	for range 500 {
		env := &schemas.Envelope{
			Id: str(), Type: str(), Source: str(), Worker: str(), Key: str(),
			CausationId: str(), CorrelationId: str(), ContentHash: []byte(str()),
		}
		if r.IntN(4) > 0 {
			env.Time = timestamppb.New(time.Unix(r.Int64N(1<<33)-1<<32, r.Int64N(1e9)))
		}
		envs = append(envs, env)
	}
	for i, env := range envs {
		want := schemas.CanonicalBytes(env)
		if got := appendCanonical(nil, env); !bytes.Equal(got, want) {
			t.Fatalf("envelope %d: appendCanonical differs from schemas.CanonicalBytes", i)
		}
		if got := appendCanonical([]byte{0}, env); !bytes.Equal(got[1:], want) {
			t.Fatalf("envelope %d: appendCanonical does not append", i)
		}
	}
}

func TestParseAddress(t *testing.T) {
	for _, s := range []string{
		"0x52908400098527886E0F7030069857D2E4169EE7", "52908400098527886e0f7030069857d2e4169ee7",
		"0X52908400098527886E0F7030069857D2E4169EE7", "0x52908400098527886E0F7030069857D2E4169EE", "0x52908400098527886E0F7030069857D2E4169EE7a",
		"0x52908400098527886E0F7030069857D2E4169EEg", "", "0x", "me", "0x0000000000000000000000000000000000000000",
	} {
		got, ok := parseAddress(s)
		if ok != common.IsHexAddress(s) || (ok && got != common.HexToAddress(s)) {
			t.Errorf("parseAddress(%q) = %s, %v; want %s, %v", s, got.Hex(), ok, common.HexToAddress(s).Hex(), common.IsHexAddress(s))
		}
	}
}

// TestVerifierMemo verifies pages of events in orders that do and do not
// follow the memo's paths, interleaved across batches, and with tampered
// proofs after the honest path is remembered: the memo must never change
// an outcome.
func TestVerifierMemo(t *testing.T) {
	id, _ := Generate()
	r := rand.New(rand.NewPCG(2, 2))
	var all []*schemas.Envelope
	for b, n := range []int{2, 3, 7, 64, 100, 129} {
		envs := make([]*schemas.Envelope, n)
		for i := range envs {
			env, err := schemas.Builtin().Wrap(&fairstreampb.RawTweet{Id: fmt.Sprint(i), Text: fmt.Sprintf("batch %d tweet %d", b, i)}, schemas.Meta{Key: fmt.Sprint(i)})
			if err != nil {
				t.Fatal(err)
			}
			envs[i] = env
		}
		if err := id.SignBatch(envs); err != nil {
			t.Fatal(err)
		}
		all = append(all, envs...)
	}
	for _, order := range []string{"in order", "reversed", "shuffled"} {
		v := NewVerifier(4096)
		envs := append([]*schemas.Envelope(nil), all...)
		switch order {
		case "reversed":
			for i, j := 0, len(envs)-1; i < j; i, j = i+1, j-1 {
				envs[i], envs[j] = envs[j], envs[i]
			}
		case "shuffled":
			r.Shuffle(len(envs), func(i, j int) { envs[i], envs[j] = envs[j], envs[i] })
		}
		for k, e := range envs {
			if err := v.Verify(e); err != nil {
				t.Fatalf("%s, event %d: %v", order, k, err)
			}
			// Flip one byte of one sibling, or one direction: the event
			// must fail whatever the memo holds.
			bad := proto.Clone(e).(*schemas.Envelope)
			_, _, proof, err := parseBatch(bad.Signature)
			if err != nil {
				t.Fatal(err)
			}
			off := len(bad.Signature) - len(proof)
			if r.IntN(2) == 0 {
				bad.Signature[off+r.IntN(len(proof))] ^= 1
			} else {
				bad.Signature[off-1] ^= 1 << r.IntN(len(proof)/32) // directions: one byte while n <= 7
				if len(proof)/32 > 7 {
					continue
				}
			}
			if err := v.Verify(bad); err == nil {
				t.Fatalf("%s, event %d: a tampered proof verifies", order, k)
			}
			if err := v.Verify(e); err != nil { // and the honest one still does
				t.Fatalf("%s, event %d after a tampered copy: %v", order, k, err)
			}
		}
	}
}

// TestSignBatchFormat holds SignBatch to the format documented in batch.go,
// computed here from schemas.CanonicalBytes, byte for byte (signatures are
// deterministic, RFC 6979).
func TestSignBatchFormat(t *testing.T) {
	id, err := FromHex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
	if err != nil {
		t.Fatal(err)
	}
	sum := func(parts ...[]byte) []byte {
		h := sha256.New()
		for _, p := range parts {
			h.Write(p)
		}
		return h.Sum(nil)
	}
	for _, n := range []int{2, 3, 5, 7, 8, 100} {
		envs := make([]*schemas.Envelope, n)
		for i := range envs {
			env, err := schemas.Builtin().Wrap(&fairstreampb.RawTweet{Id: fmt.Sprint(i), Text: fmt.Sprintf("tweet %d", i)},
				schemas.Meta{ID: schemas.DeriveID(fmt.Sprint(i), "test", i, time.Unix(1e9, 0)), Source: "twitter", Time: time.Unix(1e9, 0), Key: fmt.Sprint(i)})
			if err != nil {
				t.Fatal(err)
			}
			envs[i] = env
		}
		if err := id.SignBatch(envs); err != nil {
			t.Fatal(err)
		}
		level := make([][]byte, n)
		for i, e := range envs {
			level[i] = sum([]byte{0}, schemas.CanonicalBytes(e))
		}
		levels := [][][]byte{level}
		for len(level) > 1 {
			var next [][]byte
			for i := 0; i < len(level); i += 2 {
				if i+1 == len(level) {
					next = append(next, level[i])
				} else {
					next = append(next, sum([]byte{1}, level[i], level[i+1]))
				}
			}
			levels, level = append(levels, next), next
		}
		rootSig, err := crypto.Sign(sum([]byte("fairstream/batch/v1"), level[0]), id.key)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range envs {
			var sibs []byte
			var dirs uint64
			k, idx := 0, i
			for _, lv := range levels[:len(levels)-1] {
				if sib := idx ^ 1; sib < len(lv) {
					if sib < idx {
						dirs |= 1 << k
					}
					sibs = append(sibs, lv[sib]...)
					k++
				}
				idx /= 2
			}
			want := append([]byte{1}, rootSig...)
			want = binary.AppendUvarint(want, uint64(k))
			want = binary.AppendUvarint(want, dirs)
			want = append(want, sibs...)
			if !bytes.Equal(e.GetSignature(), want) {
				t.Fatalf("batch of %d, event %d: signature differs from the documented format", n, i)
			}
		}
	}
}

func BenchmarkVerifyPage(b *testing.B) {
	id, _ := Generate()
	envs := make([]*schemas.Envelope, 100)
	for i := range envs {
		env, err := schemas.Builtin().Wrap(&fairstreampb.RawTweet{Id: fmt.Sprint(i), Text: fmt.Sprintf("tweet %d", i)}, schemas.Meta{Source: "twitter", Key: fmt.Sprint(i)})
		if err != nil {
			b.Fatal(err)
		}
		envs[i] = env
	}
	if err := id.SignBatch(envs); err != nil {
		b.Fatal(err)
	}
	v := NewVerifier(16)
	b.ReportAllocs()
	for i := range b.N {
		if err := v.Verify(envs[i%len(envs)]); err != nil {
			b.Fatal(err)
		}
	}
}
