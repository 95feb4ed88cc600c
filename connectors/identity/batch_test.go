package identity_test

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/fairstream/fairstream/connectors/identity"
	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

func batch(t testing.TB, n int) []*schemas.Envelope {
	envs := make([]*schemas.Envelope, n)
	for i := range envs {
		env, err := schemas.Builtin().Wrap(&fairstreampb.RawTweet{Id: fmt.Sprint(i), Text: fmt.Sprintf("tweet %d ✓", i)}, schemas.Meta{Key: fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		envs[i] = env
	}
	return envs
}

func TestSignBatch(t *testing.T) {
	id, _ := identity.Generate()
	for _, n := range []int{1, 2, 3, 5, 8, 13, 100} {
		envs := batch(t, n)
		if err := id.SignBatch(envs); err != nil {
			t.Fatal(err)
		}
		v := identity.NewVerifier(16)
		for i, e := range envs {
			if e.GetWorker() != id.Address() {
				t.Fatalf("n=%d event %d: worker %s", n, i, e.GetWorker())
			}
			if err := identity.Verify(e); err != nil {
				t.Fatalf("n=%d event %d: Verify: %v", n, i, err)
			}
			if err := v.Verify(e); err != nil {
				t.Fatalf("n=%d event %d: Verifier: %v", n, i, err)
			}
		}
	}
}

func TestSignBatchTampering(t *testing.T) {
	id, _ := identity.Generate()
	other, _ := identity.Generate()
	envs := batch(t, 7)
	if err := id.SignBatch(envs); err != nil {
		t.Fatal(err)
	}
	v := identity.NewVerifier(16)
	for _, e := range envs { // warm the cache with the honest root
		if err := v.Verify(e); err != nil {
			t.Fatal(err)
		}
	}
	check := func(name string, e *schemas.Envelope) {
		t.Helper()
		if err := identity.Verify(e); !errors.Is(err, identity.ErrBadSignature) {
			t.Errorf("%s: Verify = %v", name, err)
		}
		if err := v.Verify(e); !errors.Is(err, identity.ErrBadSignature) {
			t.Errorf("%s: cached Verifier = %v", name, err)
		}
	}
	clone := func(i int) *schemas.Envelope { return proto.Clone(envs[i]).(*schemas.Envelope) }
	e := clone(3)
	e.Key = "changed"
	check("changed key", e)
	e = clone(3)
	e.Signature = clone(4).Signature // another event's proof
	check("swapped proof", e)
	e = clone(3)
	e.Signature[len(e.Signature)-1] ^= 1
	check("corrupt sibling", e)
	e = clone(3)
	e.Signature = e.Signature[:len(e.Signature)-5]
	check("truncated proof", e)
	e = clone(3)
	e.Worker = other.Address()
	check("other worker", e)
	// The root signature is not an event signature.
	e = clone(0)
	e.Signature = e.Signature[1:66]
	check("root signature as event signature", e)
}

func BenchmarkSign(b *testing.B) {
	id, _ := identity.Generate()
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch-%d", n), func(b *testing.B) {
			envs := batch(b, n)
			b.ResetTimer()
			for range b.N {
				if err := id.SignBatch(envs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1000, "µs/event")
		})
	}
}

// BenchmarkVerify verifies every event of signed batches as the validator
// does, with a Verifier: one recovery per batch root.
func BenchmarkVerify(b *testing.B) {
	id, _ := identity.Generate()
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch-%d", n), func(b *testing.B) {
			envs := batch(b, n)
			if err := id.SignBatch(envs); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				v := identity.NewVerifier(16)
				for _, e := range envs {
					if err := v.Verify(e); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1000, "µs/event")
		})
	}
}
