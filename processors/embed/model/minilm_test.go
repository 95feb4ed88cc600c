package model

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/fairstream/fairstream/internal/testenv"
)

// minCosine is the bar: every sentence's vector within this cosine
// of the official implementation's.
const minCosine = 0.999

type reference struct {
	Sentence string    `json:"sentence"`
	TokenIDs []int     `json:"token_ids"`
	Offsets  [][2]int  `json:"offsets"`
	Vector   []float32 `json:"vector"`
}

func loadReference(t testing.TB) []reference {
	t.Helper()
	f, err := os.Open("testdata/reference/vectors.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var refs []reference
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<22)
	for sc.Scan() {
		var r reference
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(refs) < 50 {
		t.Fatalf("testdata/reference/vectors.jsonl has %d sentences, want 50 or more", len(refs))
	}
	return refs
}

var (
	modelOnce sync.Once
	testModel *MiniLM
	modelErr  error
)

// loadModel loads the model from DefaultModelDir once per test binary. It
// skips when the files are absent, unless FAIRSTREAM_TEST_REQUIRE names
// "minilm": then it fails.
func loadModel(t testing.TB) *MiniLM {
	t.Helper()
	modelOnce.Do(func() { testModel, modelErr = Load(DefaultModelDir()) })
	if modelErr != nil {
		msg := "the " + MiniLMName + " model is not available: " + modelErr.Error()
		if testenv.Required("minilm") {
			t.Fatalf("%s (%s=%s requires it)", msg, testenv.RequireVar, os.Getenv(testenv.RequireVar))
		}
		t.Skip(msg)
	}
	return testModel
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

func TestReference(t *testing.T) {
	m := loadModel(t)
	refs := loadReference(t)
	texts := make([]string, len(refs))
	for i, r := range refs {
		texts[i] = r.Sentence
	}
	got, err := m.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(refs) {
		t.Fatalf("got %d vectors for %d sentences", len(got), len(refs))
	}
	worst, worstAt := 2.0, -1
	for i, r := range refs {
		if len(got[i]) != 384 || len(r.Vector) != 384 {
			t.Fatalf("sentence %d: got %d dimensions, reference %d, want 384", i, len(got[i]), len(r.Vector))
		}
		c := cosine(got[i], r.Vector)
		if c < worst {
			worst, worstAt = c, i
		}
		if !(c >= minCosine) {
			t.Errorf("sentence %d %.60q: cosine %.6f to the reference, want >= %v", i, r.Sentence, c, minCosine)
		}
	}
	t.Logf("minimum cosine over %d sentences: %.9f (1 - cosine = %.2g; sentence %d %.40q)", len(refs), worst, 1-worst, worstAt, refs[worstAt].Sentence)
}

func TestTokenizeMatchesReference(t *testing.T) {
	m := loadModel(t)
	for i, r := range loadReference(t) {
		if got := m.Tokenize(r.Sentence); !slices.Equal(got, r.TokenIDs) {
			t.Errorf("sentence %d %.60q:\n got %v\nwant %v", i, r.Sentence, got, r.TokenIDs)
			continue
		}
		// The spans of the pieces that fit, against the reference's offset
		// mapping ([CLS] and [SEP] excluded).
		spans := m.TokenSpans(r.Sentence)
		want := r.Offsets[1 : len(r.Offsets)-1]
		if len(spans) < len(want) {
			t.Errorf("sentence %d: %d spans, want at least %d", i, len(spans), len(want))
			continue
		}
		for j, w := range want {
			if spans[j] != (Span{w[0], w[1]}) {
				t.Errorf("sentence %d %.60q: token %d span %v, want %v", i, r.Sentence, j, spans[j], w)
				break
			}
		}
	}
}

func TestTokenizeKnownCases(t *testing.T) {
	m := loadModel(t)
	for _, c := range []struct {
		text string
		want []int
	}{
		// Checked against the official tokenizer (see vectors.jsonl).
		{"Hello world.", []int{101, 7592, 2088, 1012, 102}},
		{"", []int{101, 102}},
		{"   \t\n", []int{101, 102}},
		{"Unaffable café 東京", []int{101, 14477, 20961, 3468, 7668, 1879, 1755, 102}},
	} {
		if got := m.Tokenize(c.text); !slices.Equal(got, c.want) {
			t.Errorf("Tokenize(%q) = %v, want %v", c.text, got, c.want)
		}
	}
	long := strings.Repeat("word ", 1000)
	if got := m.Tokenize(long); len(got) != 256 || got[0] != 101 || got[255] != 102 {
		t.Errorf("Tokenize(1000 words): %d tokens, first %d, last %d; want 256, [CLS] 101, [SEP] 102", len(got), got[0], got[len(got)-1])
	}
	if got := m.CountTokens(long); got != 1000 {
		t.Errorf("CountTokens(1000 words) = %d, want 1000 (untruncated)", got)
	}
	if m.MaxTokens() != 254 {
		t.Errorf("MaxTokens() = %d, want 254", m.MaxTokens())
	}
	text := "Unaffable café 東京"
	runes := []rune(text)
	var pieces []string
	for _, s := range m.TokenSpans(text) {
		pieces = append(pieces, string(runes[s.Start:s.End]))
	}
	// The official tokenizer: [una ##ffa ##ble cafe 東 京], offsets (0,3) (3,6) (6,9) (10,14) (15,16) (16,17).
	if want := []string{"Una", "ffa", "ble", "café", "東", "京"}; !slices.Equal(pieces, want) {
		t.Errorf("TokenSpans(%q) cut %q, want %q", text, pieces, want)
	}
}

func TestBatchMatchesSingle(t *testing.T) {
	m := loadModel(t)
	refs := loadReference(t)
	texts := make([]string, 0, 20)
	for _, r := range refs[:20] {
		texts = append(texts, r.Sentence)
	}
	batch, err := m.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		one, err := m.Embed(context.Background(), []string{text})
		if err != nil {
			t.Fatal(err)
		}
		if c := cosine(one[0], batch[i]); c < 0.99999 {
			t.Errorf("sentence %d: cosine %.7f between alone and in a batch", i, c)
		}
	}
}

func TestEmbedEdgeCases(t *testing.T) {
	m := loadModel(t)
	got, err := m.Embed(context.Background(), nil)
	if err != nil || len(got) != 0 {
		t.Fatalf("Embed(nil) = %d vectors, %v; want 0, nil", len(got), err)
	}
	got, err = m.Embed(context.Background(), []string{""})
	if err != nil {
		t.Fatal(err)
	}
	var norm float64
	for _, v := range got[0] {
		norm += float64(v) * float64(v)
	}
	if math.Abs(norm-1) > 1e-4 {
		t.Errorf("the empty string's vector has squared norm %v, want 1", norm)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Embed(ctx, []string{"cancelled"}); err == nil {
		t.Error("Embed with a cancelled context succeeded")
	}
}

func TestConcurrentEmbed(t *testing.T) {
	m := loadModel(t)
	refs := loadReference(t)[:8]
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for g := range 4 {
		wg.Go(func() {
			for i, r := range refs {
				if (i+g)%2 == 0 {
					continue
				}
				v, err := m.Embed(context.Background(), []string{r.Sentence, "filler text of another length entirely"})
				if err != nil {
					errs[g] = err
					return
				}
				if c := cosine(v[0], r.Vector); c < minCosine {
					errs[g] = fmt.Errorf("goroutine %d, sentence %d: cosine %.6f under concurrency, want >= %v", g, i, c, minCosine)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(dir)
	if err == nil {
		t.Fatal("Load of an empty folder succeeded")
	}
	for _, want := range []string{"config.json", "deploy/local/fetch-model", "make models"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Load error %q does not mention %q", err, want)
		}
	}
}

// TestLoadChecksTensors loads the real configuration and vocabulary with a
// model.safetensors that lacks most tensors and has one of the wrong shape.
func TestLoadChecksTensors(t *testing.T) {
	src := DefaultModelDir()
	if _, err := os.Stat(filepath.Join(src, "vocab.txt")); err != nil {
		if testenv.Required("minilm") {
			t.Fatal(err)
		}
		t.Skipf("the %s model is not available (%v): fetch it with deploy/local/fetch-model", MiniLMName, err)
	}
	dir := t.TempDir()
	for _, f := range []string{"config.json", "sentence_bert_config.json", "tokenizer_config.json", "vocab.txt"} {
		if err := os.Symlink(filepath.Join(src, f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Load(dir)
	if err == nil || !strings.Contains(err.Error(), "model.safetensors") || !strings.Contains(err.Error(), "fetch-model") {
		t.Errorf("Load without model.safetensors: %v, want an error naming it and how to fetch it", err)
	}
	header := `{"embeddings.LayerNorm.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	var buf bytes.Buffer
	binary.Write(&buf, binary.LittleEndian, uint64(len(header)))
	buf.WriteString(header)
	buf.Write(make([]byte, 8))
	if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(dir)
	for _, want := range []string{"embeddings.LayerNorm.weight has shape [2], want [384]", "encoder.layer.5.output.dense.weight is missing"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load with a bad checkpoint: %v, want it to say %q", err, want)
		}
	}
}
