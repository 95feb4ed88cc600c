package web

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestCursorRoundTrip(t *testing.T) {
	spec := crawlSpec{seed: "https://www.example.org/"}
	small := newState(spec)
	small.add(&urlEntry{URL: "https://www.example.org/a", Depth: 1, Referrer: 1, ETag: `W/"1"`, LastMod: 1748944800, Status: 200, Hash: "abc"})
	large := newState(spec)
	for i := 1; i < MaxPagesLimit; i++ {
		large.add(&urlEntry{URL: fmt.Sprintf("https://www.example.org/news/2025/%d/article-%d.html", i%12, i*7919),
			Depth: 2, Referrer: i / 10, ETag: fmt.Sprintf(`"%x"`, i*104729), LastMod: 1748944800 + int64(i), Status: 200, Hash: fmt.Sprintf("%012x", i*15485863)})
	}
	large.Next, large.Round, large.Hosts = 1500, 3, []string{"example.org"}
	for _, tc := range []struct {
		name string
		cs   *crawlState
		z    bool
	}{{"small", small, false}, {"large", large, true}} {
		raw, err := tc.cs.encode()
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(raw, "z:") != tc.z {
			t.Errorf("%s: compressed %v, want %v", tc.name, !tc.z, tc.z)
		}
		// A full crawl's cursor stays far below a Kafka record's limit.
		if len(raw) > 256<<10 {
			t.Errorf("%s: cursor of %d URLs is %d bytes", tc.name, len(tc.cs.URLs), len(raw))
		}
		got, err := decodeState(raw, spec)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tc.cs) {
			t.Errorf("%s: the cursor does not round-trip", tc.name)
		}
		t.Logf("%s: %d URLs in %d bytes", tc.name, len(tc.cs.URLs), len(raw))
	}
	for _, bad := range []string{"{", "z:!!", `{"v":9,"urls":[{"u":"https://www.example.org/"}]}`,
		`{"v":1,"urls":[{"u":"https://other.example/"}]}`, `{"v":1,"next":5,"urls":[{"u":"https://www.example.org/"}]}`} {
		if _, err := decodeState(bad, spec); err == nil {
			t.Errorf("cursor %q was accepted", bad)
		}
	}
}
