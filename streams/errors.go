package streams

import "errors"

// ErrPermanent marks a processing error that retrying cannot fix: the record
// goes straight to the dead-letter topic. Wrap an error with Permanent.
var ErrPermanent = errors.New("permanent")

type permanentError struct{ err error }

func (e permanentError) Error() string   { return e.err.Error() }
func (e permanentError) Unwrap() []error { return []error{e.err, ErrPermanent} }

// Permanent wraps err so that the runner dead-letters the record at once
// instead of retrying it. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// ErrClosed is returned by calls on a closed component.
var ErrClosed = errors.New("closed")
