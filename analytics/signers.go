package analytics

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/common"

	"github.com/fairstream/fairstream/connectors/identity"
	"github.com/fairstream/fairstream/schemas"
)

// Signers decides whose records the sink takes: a window or contribution
// must be signed (one signature, or a batch signature with its proof) by
// one of the validator addresses it was made with, or by any key when it
// was made with none. It is for one goroutine (the sink's).
type Signers struct {
	allowed  map[common.Address]bool
	verifier *identity.Verifier
}

// NewSigners returns the signers check for validator addresses ("0x" and
// 40 hex digits); none accepts any validly signed record.
func NewSigners(validators []string) (*Signers, error) {
	s := &Signers{allowed: map[common.Address]bool{}, verifier: identity.NewVerifier(1024)}
	var errs []error
	for _, v := range validators {
		if !common.IsHexAddress(v) {
			errs = append(errs, fmt.Errorf("%q is not a validator address (0x and 40 hex digits)", v))
			continue
		}
		s.allowed[common.HexToAddress(v)] = true
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// Clone returns a Signers with the same validators and a verifier of its
// own, for another goroutine.
func (s *Signers) Clone() *Signers {
	return &Signers{allowed: s.allowed, verifier: identity.NewVerifier(1024)}
}

// Any reports whether any validly signed record is taken.
func (s *Signers) Any() bool { return len(s.allowed) == 0 }

// Check rejects (ErrRejected) an envelope whose signature does not verify
// or whose signer is not one of the validators.
func (s *Signers) Check(env *schemas.Envelope) error {
	if err := s.verifier.Verify(env); err != nil {
		return fmt.Errorf("%w: %v", ErrRejected, err)
	}
	if len(s.allowed) > 0 && !s.allowed[common.HexToAddress(env.GetWorker())] {
		return fmt.Errorf("%w: signed by %s, which is not one of the validators the sink trusts (analytics.sink.validators)", ErrRejected, env.GetWorker())
	}
	return nil
}

// checkWorker rejects a worker field that is not an address.
func checkWorker(worker string) error {
	if !common.IsHexAddress(worker) || !strings.HasPrefix(worker, "0x") {
		return fmt.Errorf("%w: unknown worker %q: not a worker address", ErrRejected, worker)
	}
	return nil
}
