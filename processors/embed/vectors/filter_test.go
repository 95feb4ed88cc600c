package vectors

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func ms(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixMilli()
}

func TestParseFilter(t *testing.T) {
	for _, tc := range []struct {
		terms []string
		want  Filter
	}{
		{nil, Filter{}},
		{[]string{"source=podcast"}, Filter{Source: "podcast"}},
		{[]string{"worker=w1", "speaker=SPEAKER_00", "language=en", "document_id=d=1"},
			Filter{Worker: "w1", Speaker: "SPEAKER_00", Language: "en", DocumentID: "d=1"}},
		{[]string{"source=web", "source=web"}, Filter{Source: "web"}},
		{[]string{"time>=2025-01-01T00:00:00Z"}, Filter{From: ms("2025-01-01T00:00:00Z"), HasFrom: true}},
		{[]string{"time>2025-01-01T00:00:00Z"}, Filter{From: ms("2025-01-01T00:00:00Z") + 1, HasFrom: true}},
		{[]string{"time<2025-02-01"}, Filter{To: ms("2025-02-01T00:00:00Z"), HasTo: true}},
		{[]string{"time<=2025-02-01T00:00:00.5+01:00"}, Filter{To: ms("2025-01-31T23:00:00.501Z"), HasTo: true}},
		{[]string{"time>=2025-01-01", "time>=2025-01-03", "time<2025-02-01", "time<2025-03-01"},
			Filter{From: ms("2025-01-03T00:00:00Z"), HasFrom: true, To: ms("2025-02-01T00:00:00Z"), HasTo: true}},
	} {
		got, err := ParseFilter(tc.terms)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tc.terms, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseFilter(%q) = %+v, want %+v", tc.terms, got, tc.want)
		}
		back, err := ParseFilter(strings.Fields(got.String()))
		if err != nil || back != got {
			t.Errorf("ParseFilter(%q).String() = %q reads back as %+v, %v", tc.terms, got.String(), back, err)
		}
	}
}

func TestParseFilterErrors(t *testing.T) {
	for _, tc := range []struct {
		terms []string
		want  string // in the error
	}{
		{[]string{"colour=red"}, `unknown key "colour"`},
		{[]string{"podcast"}, "want key=value"},
		{[]string{"source="}, "empty value for source"},
		{[]string{"source=web", "source=podcast"}, `source is already "web"`},
		{[]string{"time=2025-01-01"}, "want time>=T"},
		{[]string{"time>=yesterday"}, `time "yesterday"`},
	} {
		_, err := ParseFilter(tc.terms)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseFilter(%q): error %v, want one containing %q", tc.terms, err, tc.want)
		}
	}
}

func TestFilterMatch(t *testing.T) {
	r := Record{Source: "web", Worker: "w", Speaker: "s", Language: "en", DocumentID: "d", Time: 100}
	for _, tc := range []struct {
		f    Filter
		want bool
	}{
		{Filter{}, true},
		{Filter{Source: "web", Worker: "w", Speaker: "s", Language: "en", DocumentID: "d"}, true},
		{Filter{Source: "podcast"}, false},
		{Filter{Worker: "x"}, false},
		{Filter{Speaker: "x"}, false},
		{Filter{Language: "de"}, false},
		{Filter{DocumentID: "x"}, false},
		{Filter{From: 100, HasFrom: true}, true},
		{Filter{From: 101, HasFrom: true}, false},
		{Filter{To: 100, HasTo: true}, false},
		{Filter{To: 101, HasTo: true}, true},
	} {
		if got := tc.f.Match(r); got != tc.want {
			t.Errorf("%+v.Match = %v, want %v", tc.f, got, tc.want)
		}
	}
	if !(Filter{From: 5, HasFrom: true, To: 5, HasTo: true}).Empty() || (Filter{From: 5, HasFrom: true}).Empty() {
		t.Error("Empty: wrong for [5,5) or [5,∞)")
	}
}

func TestPrepareRecords(t *testing.T) {
	v := []float32{1, 0}
	got, err := PrepareRecords([]Record{{ID: "a", Vector: v, Text: "1"}, {ID: "b", Vector: v}, {ID: "a", Vector: v, Text: "2"}}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "b" || got[1].ID != "a" || got[1].Text != "2" {
		t.Fatalf("PrepareRecords kept %+v, want b then the last a", got)
	}
	for _, bad := range [][]Record{
		{{ID: "", Vector: v}},
		{{ID: "a", Vector: []float32{1}}},
		{{ID: "a", Vector: []float32{0, 0}}},
	} {
		if _, err := PrepareRecords(bad, 2); !errors.Is(err, ErrInvalid) {
			t.Errorf("PrepareRecords(%+v): %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := PrepareRecords([]Record{{ID: "a", Vector: []float32{1}}}, 2); !errors.Is(err, ErrDimensionMismatch) {
		t.Errorf("wrong length: %v, want ErrDimensionMismatch", err)
	}
	for _, name := range []string{"", "1abc", "a-b", "a b", strings.Repeat("a", 256)} {
		if err := CheckCollectionName(name); !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckCollectionName(%q) = %v, want ErrInvalid", name, err)
		}
	}
	if err := CheckCollectionName("_chunks_v1"); err != nil {
		t.Errorf("CheckCollectionName(_chunks_v1) = %v", err)
	}
}
