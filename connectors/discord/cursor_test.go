package discord

import (
	"maps"
	"math/rand/v2"
	"testing"
)

func TestPairsRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	m := map[uint64]uint64{}
	base := uint64(1440995082240131072)
	for i := range 10000 {
		k := base + r.Uint64N(1<<40)
		switch i % 4 {
		case 0:
			m[k] = 0 // listed, nothing read
		case 1:
			m[k] = k - r.Uint64N(1<<40) // a job's start, before the thread
		default:
			m[k] = k + r.Uint64N(1<<42)
		}
	}
	m[1] = 1<<63 - 1
	s := encodePairs(m)
	got, err := decodePairs(s)
	if err != nil || !maps.Equal(got, m) {
		t.Fatalf("round trip: %v (%d of %d entries)", err, len(got), len(m))
	}
	if per := len(s) / len(m); per > 20 {
		t.Fatalf("%d bytes a thread", per)
	}
	if got, err := decodePairs(""); err != nil || len(got) != 0 || encodePairs(nil) != "" {
		t.Fatalf("empty: %v %v", got, err)
	}
	for _, bad := range []string{"!!", "gA"} {
		if _, err := decodePairs(bad); err == nil {
			t.Errorf("decodePairs(%q) accepted", bad)
		}
	}
}
