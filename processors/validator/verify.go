package validator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/schemas"
)

// Result is the outcome of re-fetching a sampled record.
type Result int

// Results. Only Verified and Mismatch move a worker's credibility.
const (
	// Unverifiable: the source failed, or the validator did; it never
	// counts against the worker.
	Unverifiable Result = iota
	// Verified: the source holds the same normalised content.
	Verified
	// Mismatch: the source holds different content, or no such record.
	Mismatch
)

func (r Result) String() string {
	switch r {
	case Verified:
		return "verified"
	case Mismatch:
		return "mismatch"
	}
	return "unverifiable"
}

// Errors a Refetcher wraps, saying whose fault a failed re-fetch is. The
// first two are the connectors' own (connectors.Refetcher).
var (
	// ErrNotFound: the source answered that the record does not exist
	// (fabricated, or deleted since). It counts as a mismatch.
	ErrNotFound = connectors.ErrNotFound
	// ErrSourceFault: the source could not answer (5xx, rate limit,
	// timeout). Unverifiable.
	ErrSourceFault = connectors.ErrSourceFault
	// ErrValidatorFault: the validator could not ask (its connector is
	// down, misconfigured, out of quota). Unverifiable. Any error that
	// wraps neither ErrNotFound nor ErrSourceFault is taken as this.
	ErrValidatorFault = errors.New("validator fault")
)

// Refetcher fetches a record again, through the validator's own connector,
// from the source the envelope names. The real connectors plug in here.
type Refetcher interface {
	// Refetch returns the record's content at the source, or an error
	// wrapping ErrNotFound, ErrSourceFault or ErrValidatorFault.
	Refetch(ctx context.Context, env *schemas.Envelope) (Content, error)
}

// FromConnector re-fetches through a connector (connectors.Refetcher): the
// record it returns is compared by its Extract content.
func FromConnector(r connectors.Refetcher) Refetcher { return connectorRefetcher{r} }

type connectorRefetcher struct{ r connectors.Refetcher }

func (c connectorRefetcher) Refetch(ctx context.Context, env *schemas.Envelope) (Content, error) {
	m, err := c.r.Refetch(ctx, env)
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrSourceFault) {
			return Content{}, err
		}
		return Content{}, fmt.Errorf("%w: %w", ErrValidatorFault, err)
	}
	got, ok := Extract(m)
	if !ok {
		return Content{}, fmt.Errorf("%w: the connector returned %T, which has no content to compare", ErrValidatorFault, m)
	}
	return got, nil
}

// Verification is the validator's verdict on one sampled record.
type Verification struct {
	Worker  string
	EventID string
	// Time is the record's event time (it places the verdict in the
	// record's window).
	Time   time.Time
	Result Result
	// Reason says why the record is not Verified.
	Reason string
}

// Verify re-fetches env through ref and compares the normalised text and,
// where both sides have one, the source time (to the second).
func Verify(ctx context.Context, ref Refetcher, reg *schemas.Registry, env *schemas.Envelope) Verification {
	v := Verification{Worker: env.GetWorker(), EventID: env.GetId(), Time: env.GetTime().AsTime()}
	claimed, err := claimedContent(reg, env)
	if err != nil {
		v.Result, v.Reason = Mismatch, err.Error()
		return v
	}
	got, err := ref.Refetch(ctx, env)
	switch {
	case err == nil:
	case errors.Is(err, ErrNotFound):
		v.Result, v.Reason = Mismatch, err.Error()
		return v
	default:
		v.Result, v.Reason = Unverifiable, err.Error()
		return v
	}
	if Normalize(got.Text) != Normalize(claimed.Text) {
		v.Result, v.Reason = Mismatch, "content differs from the source"
		return v
	}
	if !got.Time.IsZero() && !claimed.Time.IsZero() && !got.Time.Truncate(time.Second).Equal(claimed.Time.Truncate(time.Second)) {
		v.Result, v.Reason = Mismatch, fmt.Sprintf("source time %s, claimed %s", got.Time.UTC().Format(time.RFC3339), claimed.Time.UTC().Format(time.RFC3339))
		return v
	}
	v.Result = Verified
	return v
}

// claimedContent decodes env's payload and extracts its content.
func claimedContent(reg *schemas.Registry, env *schemas.Envelope) (Content, error) {
	m, err := reg.New(env.GetType())
	if err != nil {
		return Content{}, err
	}
	if err := reg.DecodeIntoTrusted(env, m); err != nil {
		return Content{}, err
	}
	c, ok := Extract(m)
	if !ok {
		return Content{}, fmt.Errorf("%s has no content to verify", env.GetType())
	}
	return c, nil
}
