package connectortest

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Fault is what one request gets instead of the fixture's answer.
type Fault struct {
	Status      int
	ContentType string
	Body        string
	RetryAfter  time.Duration
}

// Faults wraps a fixture handler: queued faults answer the next requests,
// and every request's arrival time is kept.
type Faults struct {
	mu       sync.Mutex
	queue    []Fault
	hang     bool
	hanging  chan struct{}
	faulted  []time.Time // when each faulted request came
	requests []time.Time
}

// Queue makes the next requests get these answers, in order.
func (f *Faults) Queue(fs ...Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue = append(f.queue, fs...)
}

// HangAll makes every request hang until its client gives up.
func (f *Faults) HangAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hang = true
	f.hanging = make(chan struct{})
}

// Hanging is closed when the first request hangs.
func (f *Faults) Hanging() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hanging
}

// GapAfterFirst is the time between the first faulted request and the
// request after it.
func (f *Faults) GapAfterFirst() (time.Duration, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.faulted) == 0 {
		return 0, false
	}
	for _, r := range f.requests {
		if r.After(f.faulted[0]) {
			return r.Sub(f.faulted[0]), true
		}
	}
	return 0, false
}

// Wrap returns h behind the faults.
func (f *Faults) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		f.mu.Lock()
		if f.hang {
			ch := f.hanging
			f.mu.Unlock()
			select {
			case <-ch:
			default:
				close(ch)
			}
			<-r.Context().Done()
			return
		}
		var fault *Fault
		if len(f.queue) > 0 {
			fault = &f.queue[0]
			f.queue = f.queue[1:]
			f.faulted = append(f.faulted, now)
		} else {
			f.requests = append(f.requests, now)
		}
		f.mu.Unlock()
		if fault == nil {
			h.ServeHTTP(w, r)
			return
		}
		if fault.RetryAfter > 0 {
			secs := strconv.Itoa(int(fault.RetryAfter.Round(time.Second) / time.Second))
			w.Header().Set("Retry-After", secs)
			if fault.Body == "" {
				fault.ContentType = "application/json"
				fault.Body = fmt.Sprintf(`{"title":"Too Many Requests","retry_after":%s,"parameters":{"retry_after":%s}}`, secs, secs)
			}
		}
		if fault.ContentType != "" {
			w.Header().Set("Content-Type", fault.ContentType)
		}
		w.WriteHeader(fault.Status)
		_, _ = w.Write([]byte(fault.Body))
	})
}
