package connectors

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
	"github.com/fairstream/fairstream/streams"
)

// Source is one connector, speaking one source's API.
type Source interface {
	// Name is the connector's name ("twitter"). It keys the cursors and the
	// consumer identity: a constant.
	Name() string
	// Streams lists the streams the configuration asks for.
	Streams() []Stream
	// StreamForJob turns a data request into a stream, or says why it
	// cannot serve it (ErrUnsupportedJob).
	StreamForJob(job *fairstreampb.Job) (Stream, error)
	// Fetch returns the next page of s after position cur (empty at first).
	// Errors: ErrAuth (credentials refused: the worker stops), a
	// *ResponseError (an unusable response: recorded, then backed off),
	// anything else (backed off and retried).
	Fetch(ctx context.Context, s Stream, cur Position) (Page, error)
}

// Stream is one thing a connector follows.
type Stream struct {
	// ID is stable and unique within the connector ("search:#fairai",
	// "channel:1234"); the cursor is keyed "<connector>/<ID>".
	ID string
	// Kind and Params say what to fetch, in the connector's terms.
	Kind   string
	Params map[string]string
	// JobID is set for a data request's stream; its events carry it as
	// their correlation ID.
	JobID string
	// MaxEvents stops the stream after this many events (0: no limit).
	MaxEvents int64
}

// Position is a stream's cursor: since_id, next_token, offsets, ETags.
type Position map[string]string

// Clone returns a copy of p.
func (p Position) Clone() Position {
	out := make(Position, len(p))
	for k, v := range p {
		out[k] = v
	}
	return out
}

// Page is what one Fetch returned.
type Page struct {
	Events []Event
	// Next is the stream's position after this page.
	Next Position
	// More says another page is ready now (pagination); otherwise the
	// worker waits its poll interval before fetching the stream again.
	More bool
	// Done says a finite stream (a job) has nothing more to fetch.
	Done bool
}

// Event is one raw event a page carries.
type Event struct {
	// Topic is the catalog topic it goes to ("raw.twitter.v1").
	Topic string
	// Key is its partition key (the tweet ID, the URL, ...).
	Key string
	// Time is the event time at the source; zero means now.
	Time    time.Time
	Payload proto.Message
}

// ErrAuth marks a response that refused the connector's credentials (401,
// 403). The worker stops with it: retrying cannot help.
var ErrAuth = errors.New("credentials refused")

// ErrPermanent marks a fetch error that retrying cannot fix (a query the
// source rejects, a channel that does not exist): a job's stream ends as
// failed with it; a configured stream is backed off as far as it goes and
// the error logged. Wrap an error with Permanent. It is the stream
// runtime's mark (streams.ErrPermanent).
var ErrPermanent = streams.ErrPermanent

// Permanent wraps err as a permanent fetch error; Permanent(nil) is nil.
func Permanent(err error) error { return streams.Permanent(err) }

// ErrUnsupportedJob is returned by StreamForJob for a request the connector
// cannot serve.
var ErrUnsupportedJob = errors.New("unsupported job")

// ResponseError is a response a connector could not use: malformed JSON, a
// truncated body, an HTML page where JSON was expected.
type ResponseError struct {
	URL         string
	StatusCode  int
	ContentType string
	// Snippet is the start of the body, for diagnosis.
	Snippet string
	Err     error
}

func (e *ResponseError) Error() string {
	return fmt.Sprintf("unusable response from %s (status %d, %s): %v; body starts %q", e.URL, e.StatusCode, e.ContentType, e.Err, e.Snippet)
}

func (e *ResponseError) Unwrap() error { return e.Err }

// PrefixSetting prefixes each error joined in err with a configuration key
// path, so that a connector's Validate names the full setting.
func PrefixSetting(prefix string, err error) error { return streams.PrefixErr(prefix, err) }
