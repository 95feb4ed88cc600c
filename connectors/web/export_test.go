package web

import (
	"context"
	"time"
)

// SetClock replaces the source's clock and sleep, so that tests see the
// politeness waits without waiting.
func SetClock(s *Source, now func() time.Time, sleep func(context.Context, time.Duration) error) {
	s.now, s.sleep = now, sleep
}
