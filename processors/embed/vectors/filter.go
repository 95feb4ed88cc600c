package vectors

import (
	"fmt"
	"strings"
	"time"
)

// Filter narrows a search to the records whose scalar fields match. The
// zero Filter matches everything. String fields match by equality; "" means
// any value. The time range is half-open: From <= Time < To, in Unix
// milliseconds, each bound applying only when its Has flag is set.
type Filter struct {
	Source     string
	Worker     string
	Speaker    string
	Language   string
	DocumentID string

	From, To       int64 // Unix milliseconds: From inclusive, To exclusive
	HasFrom, HasTo bool
}

// FilterKeys are the keys ParseFilter accepts, in the order String writes them.
var FilterKeys = []string{"source", "worker", "speaker", "language", "document_id", "time"}

// IsZero reports whether f matches every record.
func (f Filter) IsZero() bool { return f == Filter{} }

// Match reports whether r passes f.
func (f Filter) Match(r Record) bool {
	return (f.Source == "" || r.Source == f.Source) &&
		(f.Worker == "" || r.Worker == f.Worker) &&
		(f.Speaker == "" || r.Speaker == f.Speaker) &&
		(f.Language == "" || r.Language == f.Language) &&
		(f.DocumentID == "" || r.DocumentID == f.DocumentID) &&
		(!f.HasFrom || r.Time >= f.From) &&
		(!f.HasTo || r.Time < f.To)
}

// Empty reports whether no record can pass f (an empty time range).
func (f Filter) Empty() bool { return f.HasFrom && f.HasTo && f.From >= f.To }

// Equalities returns f's equality terms as (field, value) pairs, with the
// field names of ParseFilter, in a fixed order.
func (f Filter) Equalities() [][2]string {
	var out [][2]string
	for _, kv := range [][2]string{
		{"source", f.Source}, {"worker", f.Worker}, {"speaker", f.Speaker},
		{"language", f.Language}, {"document_id", f.DocumentID},
	} {
		if kv[1] != "" {
			out = append(out, kv)
		}
	}
	return out
}

// String writes f as the terms ParseFilter reads back.
func (f Filter) String() string {
	var terms []string
	for _, kv := range f.Equalities() {
		terms = append(terms, kv[0]+"="+kv[1])
	}
	if f.HasFrom {
		terms = append(terms, "time>="+time.UnixMilli(f.From).UTC().Format(time.RFC3339Nano))
	}
	if f.HasTo {
		terms = append(terms, "time<"+time.UnixMilli(f.To).UTC().Format(time.RFC3339Nano))
	}
	return strings.Join(terms, " ")
}

// ParseFilter reads a filter from CLI terms, all of which must hold:
//
//	source=podcast  worker=…  speaker=…  language=en  document_id=…
//	time>=2025-01-01T00:00:00Z  time<2025-02-01  time>…  time<=…
//
// Times are RFC 3339 (with or without fractional seconds) or a date
// (YYYY-MM-DD, midnight UTC), truncated to milliseconds; several time terms
// intersect. A field given twice with different values, an unknown key or an
// unparsable time is an error naming the term.
func ParseFilter(terms []string) (Filter, error) {
	var f Filter
	for _, term := range terms {
		term = strings.TrimSpace(term)
		if term == "" {
			continue
		}
		if strings.HasPrefix(term, "time") {
			if err := f.parseTime(term); err != nil {
				return Filter{}, err
			}
			continue
		}
		key, value, ok := strings.Cut(term, "=")
		key = strings.TrimSpace(key)
		if !ok {
			return Filter{}, fmt.Errorf("filter %q: want key=value (keys: %s)", term, strings.Join(FilterKeys, ", "))
		}
		var field *string
		switch key {
		case "source":
			field = &f.Source
		case "worker":
			field = &f.Worker
		case "speaker":
			field = &f.Speaker
		case "language":
			field = &f.Language
		case "document_id":
			field = &f.DocumentID
		default:
			return Filter{}, fmt.Errorf("filter %q: unknown key %q (keys: %s)", term, key, strings.Join(FilterKeys, ", "))
		}
		if value == "" {
			return Filter{}, fmt.Errorf("filter %q: empty value for %s", term, key)
		}
		if *field != "" && *field != value {
			return Filter{}, fmt.Errorf("filter %q: %s is already %q; a record has one %s", term, key, *field, key)
		}
		*field = value
	}
	return f, nil
}

// parseTime reads one time term into f's range.
func (f *Filter) parseTime(term string) error {
	rest := strings.TrimPrefix(term, "time")
	var op string
	for _, o := range []string{">=", "<=", ">", "<"} {
		if strings.HasPrefix(rest, o) {
			op = o
			break
		}
	}
	if op == "" {
		return fmt.Errorf("filter %q: want time>=T, time>T, time<=T or time<T", term)
	}
	value := strings.TrimSpace(strings.TrimPrefix(rest, op))
	t, err := parseTimeValue(value)
	if err != nil {
		return fmt.Errorf("filter %q: %w", term, err)
	}
	ms := t.UnixMilli()
	switch op {
	case ">=":
		f.from(ms)
	case ">":
		f.from(ms + 1)
	case "<":
		f.to(ms)
	case "<=":
		f.to(ms + 1)
	}
	return nil
}

func (f *Filter) from(ms int64) {
	if !f.HasFrom || ms > f.From {
		f.From, f.HasFrom = ms, true
	}
}

func (f *Filter) to(ms int64) {
	if !f.HasTo || ms < f.To {
		f.To, f.HasTo = ms, true
	}
}

func parseTimeValue(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339 (2025-01-01T00:00:00Z) or a date (2025-01-01)", s)
}
