package connectors

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"google.golang.org/protobuf/proto"

	"github.com/fairstream/fairstream/schemas"
)

// Refetcher is a Source that can fetch one record again from what its envelope names.
//
// The validator samples workers' raw records and re-fetches each sampled
// record through its own connector, to check that the worker did not
// fabricate it. The error says whose fault a failed re-fetch is: the
// record's (ErrNotFound), the source's (ErrSourceFault), or, wrapping
// neither, the validator's own (refused credentials, a record type the
// connector cannot re-fetch, ErrNotRefetchable, a misconfiguration).
type Refetcher interface {
	// Refetch returns the record as the source holds it now, as the same payload type the
	// connector publishes (e.g. *fairstreampb.RawTweet for raw.tweet/v1), or an error wrapping
	// ErrNotFound (the source says it does not exist), ErrSourceFault (the source could not answer:
	// 5xx, 429 after retries, timeouts, network errors), or anything else (the validator's own fault:
	// auth refused, unsupported, misconfigured).
	//
	// Fields that describe the worker's fetch rather than the record (a
	// tweet's query, a web page's fetched_at, depth, referrer and seed) are
	// carried over from the envelope's payload; each connector's Refetch
	// says which.
	Refetch(ctx context.Context, env *schemas.Envelope) (proto.Message, error)
}

// ErrNotFound marks a re-fetch the source answered with "no such record"
// (404, 410, Discord's Unknown Message, X's resource-not-found, a feed
// without the episode), or a record naming something that cannot exist
// at the source (a malformed ID or URL): fabricated, or deleted since.
var ErrNotFound = errors.New("record not found at the source")

// ErrSourceFault marks a re-fetch the source could not answer: a 5xx or a
// 429 after the client's retries, a timeout, a network error, an unusable
// answer (malformed JSON, a truncated body). It says nothing about the
// record.
var ErrSourceFault = errors.New("source fault")

// ErrNotRefetchable marks a record a connector cannot fetch again: a type
// it does not re-fetch, or a source whose API has no way to ask for one
// record (Telegram's Bot API). It wraps neither ErrNotFound nor
// ErrSourceFault: such records stay unverifiable.
var ErrNotRefetchable = errors.New("record cannot be re-fetched")

// DecodeRecord decodes the payload of env into m, whose type must be the
// envelope's. It is a Refetch's first step: an envelope of another type is
// an error wrapping ErrNotRefetchable, one that does not decode (or whose
// content hash does not match its payload) an error wrapping
// schemas.ErrInvalidEnvelope; neither wraps ErrNotFound.
func DecodeRecord(env *schemas.Envelope, m proto.Message) error {
	reg := schemas.Builtin()
	want, err := reg.TypeOf(m)
	if err != nil {
		return err
	}
	if env == nil {
		return fmt.Errorf("%w: nil envelope", schemas.ErrInvalidEnvelope)
	}
	if env.GetType() != want {
		return fmt.Errorf("%w: a %s record; this connector re-fetches %s", ErrNotRefetchable, env.GetType(), want)
	}
	return reg.DecodeInto(env, m)
}

// ClassifyRefetch turns what Client.Do or Client.GetJSON returned for a
// re-fetch into Refetcher's errors; it returns nil for a usable answer (a
// 1xx, 2xx or 3xx response and no error).
//
//   - 404 and 410 (a response, or a *ResponseError of that status): an
//     error wrapping ErrNotFound.
//   - 408, 429 and 5xx, a *RateLimitError (a 429 or an exhausted
//     rate-limit window the client would not wait out), a *ResponseError of
//     a 2xx or 3xx status (malformed JSON, a truncated or oversized body),
//     network errors and timeouts (the server error or network error Do
//     gives up with after its retries, context.DeadlineExceeded): an error
//     wrapping ErrSourceFault and err.
//   - an *AuthError (401, 403: wraps ErrAuth), any other 4xx, a request
//     URL that does not parse, context.Canceled: returned as they are (or,
//     for a 4xx response, as an error naming it), wrapping neither: the
//     validator's fault.
//
// An error that already wraps ErrNotFound or ErrSourceFault is returned
// unchanged.
func ClassifyRefetch(resp *Response, err error) error {
	if err == nil {
		if resp == nil {
			return errors.New("no response")
		}
		switch statusFault(resp.StatusCode) {
		case ErrNotFound:
			return fmt.Errorf("%w: %s answered %d %s", ErrNotFound, resp.URL, resp.StatusCode, http.StatusText(resp.StatusCode))
		case ErrSourceFault:
			return fmt.Errorf("%w: %s answered %d %s: %s", ErrSourceFault, resp.URL, resp.StatusCode, http.StatusText(resp.StatusCode), Snippet(resp.Body, 200))
		}
		if resp.StatusCode >= 400 {
			return fmt.Errorf("%s answered %d %s: %s", resp.URL, resp.StatusCode, http.StatusText(resp.StatusCode), Snippet(resp.Body, 200))
		}
		return nil
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrSourceFault) {
		return err
	}
	var (
		re *ResponseError
		rl *RateLimitError
		ue *url.Error
	)
	switch {
	case errors.Is(err, ErrAuth), errors.Is(err, context.Canceled):
		return err
	case errors.As(err, &rl):
		return fmt.Errorf("%w: %w", ErrSourceFault, err)
	case errors.As(err, &re):
		if f := statusFault(re.StatusCode); f != nil {
			return fmt.Errorf("%w: %w", f, err)
		}
		if re.StatusCode >= 400 {
			return err
		}
		// A 2xx or 3xx whose body is unusable.
		return fmt.Errorf("%w: %w", ErrSourceFault, err)
	case errors.As(err, &ue) && ue.Op == "parse":
		return err
	}
	// What is left of Do's errors: a 5xx or a network error after the
	// retries, a timeout.
	return fmt.Errorf("%w: %w", ErrSourceFault, err)
}

// statusFault says whose fault a status is: ErrNotFound (404, 410),
// ErrSourceFault (408, 429, 5xx), or nil (any other).
func statusFault(code int) error {
	switch {
	case code == http.StatusNotFound || code == http.StatusGone:
		return ErrNotFound
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return ErrSourceFault
	}
	return nil
}
