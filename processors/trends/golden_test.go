package trends

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the current output")

// stableJSON is m as one line of JSON with stable whitespace (protojson
// varies its whitespace on purpose), ending in a newline.
func stableJSON(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

// goldenConfig is small, so that the input shows slides, revisions, drops
// and the baseline in a few dozen documents.
func goldenConfig() Config {
	c := DefaultConfig()
	c.Window, c.Slide, c.Baseline, c.AllowedLateness = time.Minute, 20*time.Second, 4*time.Minute, 20*time.Second
	c.TopN, c.Capacity, c.MinCount, c.SamplesPerTerm = 5, 16, 2, 2
	return c
}

// goldenLine is a line of testdata/golden/input.jsonl: a document and its
// event time (the document's published time when time is empty).
type goldenLine struct {
	Time     string          `json:"time"`
	Document json.RawMessage `json:"document"`
}

func TestGolden(t *testing.T) {
	dir := filepath.Join("testdata", "golden")
	in, err := os.Open(filepath.Join(dir, "input.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	a := mustAggregator(t, goldenConfig())
	var got bytes.Buffer
	sc := bufio.NewScanner(in)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		var line goldenLine
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("input line %d: %v", n, err)
		}
		doc := &fairstreampb.Document{}
		if err := protojson.Unmarshal(line.Document, doc); err != nil {
			t.Fatalf("input line %d: %v", n, err)
		}
		at := doc.GetPublished().AsTime()
		if line.Time != "" {
			if at, err = time.Parse(time.RFC3339Nano, line.Time); err != nil {
				t.Fatalf("input line %d: %v", n, err)
			}
		}
		for _, s := range feed(a, doc, at) {
			got.Write(stableJSON(t, s))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if a.Dropped() == 0 {
		t.Error("the golden input should hold an event later than the allowed lateness")
	}
	path := filepath.Join(dir, "expected.jsonl")
	if *update {
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./processors/trends/ -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("snapshots differ from %s (run with -update if the change is intended):\n%s", path, got.String())
	}
}
