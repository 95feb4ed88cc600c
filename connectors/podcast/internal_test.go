package podcast

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"3723":       3723 * time.Second,
		"3723.5":     3723*time.Second + 500*time.Millisecond,
		"62:03":      62*time.Minute + 3*time.Second,
		"1:02:03":    time.Hour + 2*time.Minute + 3*time.Second,
		" 00:31:07 ": 31*time.Minute + 7*time.Second,
	} {
		if got, ok := parseDuration(in); !ok || got != want {
			t.Errorf("parseDuration(%q) = %s, %v; want %s", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "abc", "1:75:00", "1:2:3:4", "-5", "12 min"} {
		if got, ok := parseDuration(in); ok {
			t.Errorf("parseDuration(%q) = %s, want no duration", in, got)
		}
	}
}

func TestMediaTypeAliases(t *testing.T) {
	for in, want := range map[string]string{
		"audio/mp3":                  "audio/mpeg",
		"Audio/MPEG; charset=binary": "audio/mpeg",
		"audio/x-wav":                "audio/wav",
		"audio/m4a":                  "audio/x-m4a",
		"video/mp4":                  "video/mp4",
		"":                           "",
	} {
		if got := mediaType(in); got != want {
			t.Errorf("mediaType(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSeenIsBoundedByTheFeed(t *testing.T) {
	fps := func(prefix string, n int) []string {
		var out []string
		for i := range n {
			out = append(out, fingerprint(fmt.Sprintf("guid:%s-%d", prefix, i)))
		}
		return out
	}
	if fp := fingerprint("guid:x"); len(fp) != 12 || strings.ContainsAny(fp, " +/=") {
		t.Fatalf("fingerprint %q", fp)
	}
	// The feed holds 10 items; 4 were emitted before, 2 now; the other 4
	// are still to come and are not remembered.
	feed := fps("cur", 10)
	prev := append(slices.Clone(feed[:4]), fps("old", 300)...)
	emitted := map[string]bool{feed[4]: true, feed[5]: true}
	got := strings.Fields(nextSeen(prev, feed, emitted))
	if !slices.Equal(got[:6], feed[:6]) {
		t.Fatalf("the feed's emitted items: %v, want %v", got[:6], feed[:6])
	}
	// Of the 300 that fell off the feed, the keepGone most recent stay.
	if len(got) != 6+keepGone || !slices.Equal(got[6:], fps("old", 300)[:keepGone]) {
		t.Fatalf("%d remembered, want %d", len(got), 6+keepGone)
	}
	// A feed whose items all fell off keeps keepGone of them.
	if n := len(strings.Fields(nextSeen(got, fps("new", 0), nil))); n != keepGone {
		t.Fatalf("%d remembered of a feed gone empty, want %d", n, keepGone)
	}
}
