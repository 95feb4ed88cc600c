package annotate

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/expected.jsonl")

func annotateText(text string) *fairstreampb.Annotations {
	return Annotate(DefaultConfig(), &fairstreampb.Document{Text: text})
}

// checkOffsets: every entity's text is the annotated text's code points
// [start, end), and entities are in order of their start.
func checkOffsets(t *testing.T, doc *fairstreampb.Document, a *fairstreampb.Annotations) {
	t.Helper()
	text, _, _ := annotatedText(doc.GetTitle(), doc.GetText(), DefaultConfig().MaxTextChars)
	runes := []rune(text)
	prev := int32(-1)
	for _, e := range a.GetEntities() {
		if e.Start < 0 || e.End > int32(len(runes)) || e.Start >= e.End {
			t.Errorf("%s %q: offsets [%d,%d) outside the text of %d code points", e.Type, e.Text, e.Start, e.End, len(runes))
			continue
		}
		if got := string(runes[e.Start:e.End]); got != e.Text {
			t.Errorf("%s: text[%d:%d] = %q, entity text %q", e.Type, e.Start, e.End, got, e.Text)
		}
		if e.Start < prev {
			t.Errorf("%s %q at %d comes after an entity at %d", e.Type, e.Text, e.Start, prev)
		}
		prev = e.Start
	}
}

func entitiesOf(a *fairstreampb.Annotations, typ string) []string {
	var out []string
	for _, e := range a.GetEntities() {
		if e.Type == typ {
			out = append(out, e.Value)
		}
	}
	return out
}

func TestSentimentSign(t *testing.T) {
	for _, tc := range []struct{ text, label string }{
		{"I love this, it is absolutely wonderful and amazing!", LabelPositive},
		{"Great news 😍🎉", LabelPositive},
		{"This is terrible. The worst service ever, I hate it.", LabelNegative},
		{"so sad and angry right now :(", LabelNegative},
		{"The meeting is at 3pm in room 4.", LabelNeutral},
		{"", LabelNeutral},
	} {
		s := annotateText(tc.text).GetSentiment()
		if s.GetLabel() != tc.label || s.GetCompound() < -1 || s.GetCompound() > 1 {
			t.Errorf("%q: sentiment %v, want %s", tc.text, s, tc.label)
		}
		if tc.label == LabelPositive && s.GetCompound() <= 0 || tc.label == LabelNegative && s.GetCompound() >= 0 {
			t.Errorf("%q: compound %g has the wrong sign for %s", tc.text, s.GetCompound(), tc.label)
		}
	}
	// German "die" is not the English verb.
	de := Annotate(DefaultConfig(), &fairstreampb.Document{Text: "Die Regierung hat die Pläne vorgestellt.", Language: "de", LanguageConfidence: 1})
	if de.GetSentiment().GetLabel() != LabelNeutral {
		t.Errorf("German text: sentiment %v, want neutral", de.GetSentiment())
	}
}

func TestPatternEntities(t *testing.T) {
	text := "Buy $ETH and $BRK.B, not $5 or $ETH2! #DeFi #2024 #日本 @alice_b @x mail bob.smith+tag@example.co.uk, see https://example.org/a?b=c(d). and www.fairstream.dev, not a@b or me@host"
	a := annotateText(text)
	checkOffsets(t, &fairstreampb.Document{Text: text}, a)
	for typ, want := range map[string][]string{
		TypeCashtag: {"eth", "brk.b"},
		TypeHashtag: {"defi", "日本"},
		TypeMention: {"alice_b", "x"},
		TypeEmail:   {"bob.smith+tag@example.co.uk"},
		TypeURL:     {"https://example.org/a?b=c(d)", "www.fairstream.dev"},
	} {
		if got := entitiesOf(a, typ); !slices.Equal(got, want) {
			t.Errorf("%s: got %q, want %q", typ, got, want)
		}
	}
	// Tags inside a URL or an email are part of it.
	a = annotateText("https://x.com/#/tag@home and joe.doe@mail.example.com")
	if got := len(a.GetEntities()); got != 2 {
		t.Errorf("URL and email: %d entities %v, want 2", got, a.GetEntities())
	}
}

func TestNamedEntities(t *testing.T) {
	text := "Elon Musk met Emmanuel Macron in Paris. Dr. Jane Goodall spoke at Acme Widgets Inc. in Kansas City about the U.S. economy and NASA. APPLE IS GREAT"
	a := annotateText(text)
	checkOffsets(t, &fairstreampb.Document{Text: text}, a)
	want := map[string][]string{
		TypePerson:       {"Elon Musk", "Emmanuel Macron", "Jane Goodall"},
		TypeOrganization: {"Acme Widgets Inc", "NASA"},
		TypePlace:        {"Paris", "Kansas City", "United States"},
	}
	for typ, w := range want {
		if got := entitiesOf(a, typ); !slices.Equal(got, w) {
			t.Errorf("%s: got %q, want %q", typ, got, w)
		}
	}
	// Lower-case words are not names; a gazetteer alias gives the canonical name.
	a = annotateText("an apple a day; trump card; Musk said")
	if got := entitiesOf(a, TypePerson); !slices.Equal(got, []string{"Elon Musk"}) {
		t.Errorf("persons %q, want [Elon Musk]", got)
	}
	if got := entitiesOf(a, TypeOrganization); len(got) != 0 {
		t.Errorf("organisations %q, want none", got)
	}
}

func TestMixedScriptsOffsets(t *testing.T) {
	doc := &fairstreampb.Document{
		Title: "Ελληνικά και 日本語 🚀",
		Text:  "Привет @иван? no: @ivan_k пишет про #Биткоин и $BTC 👍🏽 в Москве, then Tokyo and Berlin. 東京 #東京 https://例え.jp/パス",
	}
	a := Annotate(DefaultConfig(), doc)
	checkOffsets(t, doc, a)
	if got := entitiesOf(a, TypeHashtag); !slices.Equal(got, []string{"биткоин", "東京"}) {
		t.Errorf("hashtags %q", got)
	}
	if got := entitiesOf(a, TypePlace); !slices.Equal(got, []string{"Tokyo", "Berlin"}) {
		t.Errorf("places %q", got)
	}
	if a.GetAnnotatedChars() != int64(utf8.RuneCountInString(doc.Title+"\n\n"+doc.Text)) {
		t.Errorf("annotated_chars %d", a.GetAnnotatedChars())
	}
}

func TestEmptyAndGarbage(t *testing.T) {
	a := Annotate(DefaultConfig(), &fairstreampb.Document{})
	if a.GetAnnotatedChars() != 0 || len(a.GetEntities()) != 0 || len(a.GetKeywords()) != 0 || a.GetSentiment().GetLabel() != LabelNeutral || a.GetAnnotatorVersion() != Version {
		t.Errorf("empty document: %v", a)
	}
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(i*7919 + i/3)
	}
	doc := &fairstreampb.Document{Text: string(garbage)}
	a = Annotate(DefaultConfig(), doc)
	checkOffsets(t, doc, a)
	if _, err := proto.Marshal(&fairstreampb.AnnotatedDocument{Annotations: a}); err != nil {
		t.Errorf("annotations of binary garbage do not marshal: %v", err)
	}
	if c := a.GetSentiment().GetCompound(); c < -1 || c > 1 {
		t.Errorf("compound %g", c)
	}
}

func TestLongTextCapped(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxTextChars = 1000
	text := strings.Repeat("Ünïcödé words about Berlin and #tags. ", 1000)
	doc := &fairstreampb.Document{Text: text}
	a := Annotate(cfg, doc)
	if !a.GetTextCapped() || a.GetAnnotatedChars() != 1000 {
		t.Errorf("capped %v, annotated_chars %d; want true, 1000", a.GetTextCapped(), a.GetAnnotatedChars())
	}
	for _, e := range a.GetEntities() {
		if e.End > 1000 {
			t.Errorf("entity %v past the cap", e)
		}
	}
	if a := Annotate(cfg, &fairstreampb.Document{Text: text[:100]}); a.GetTextCapped() {
		t.Error("short text marked capped")
	}
}

func TestKeywordsAndTopics(t *testing.T) {
	text := "Machine learning models are hungry. Good training data matters for machine learning models. #AI #ai #ML"
	a := annotateText(text)
	kws := a.GetKeywords()
	if len(kws) == 0 || kws[0].GetText() != "machine learning models" {
		t.Fatalf("keywords %v, want machine learning models first", kws)
	}
	for i := 1; i < len(kws); i++ {
		if kws[i].Score > kws[i-1].Score {
			t.Errorf("keywords not best first: %v", kws)
		}
	}
	if got := a.GetTopics(); len(got) < 3 || got[0] != "ai" || got[1] != "ml" || got[2] != "machine learning models" {
		t.Errorf("topics %q, want ai, ml, then the best keyword", got)
	}
}

func TestLanguage(t *testing.T) {
	a := Annotate(DefaultConfig(), &fairstreampb.Document{Text: "x", Language: "fr", LanguageConfidence: 0.9})
	if a.GetLanguage() != "fr" || a.GetLanguageConfidence() != 0.9 {
		t.Errorf("the document's language is not kept: %s %g", a.GetLanguage(), a.GetLanguageConfidence())
	}
	a = annotateText("Der schnelle braune Fuchs springt über den faulen Hund und läuft dann in den Wald hinein.")
	if a.GetLanguage() != "de" || a.GetLanguageConfidence() <= 0 {
		t.Errorf("detected %s %g, want de", a.GetLanguage(), a.GetLanguageConfidence())
	}
	if a := annotateText("ok 👍"); a.GetLanguage() != "" {
		t.Errorf("too short to tell: got %s", a.GetLanguage())
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.MaxTextChars = 0
	c.LLM.BaseURL = "localhost:11434"
	c.LLM.Timeout = 0
	c.LLM.PricePer1kPromptTokens = -1
	err := c.Validate()
	for _, key := range []string{"max_text_chars: must be > 0, got 0", "llm.base_url", "llm.model", "llm.timeout", "llm.price_per_1k_prompt_tokens"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Validate() = %v, want it to name %s", err, key)
		}
	}
}

// TestGolden annotates testdata/golden/input.jsonl (one Document per line,
// protojson) and compares the JSON of the annotations, one line each, with
// expected.jsonl byte for byte. go test -update rewrites it.
func TestGolden(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "golden", "input.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	n := 0
	for line := range strings.Lines(string(in)) {
		if strings.TrimSpace(line) == "" {
			continue
		}
		n++
		doc := &fairstreampb.Document{}
		if err := protojson.Unmarshal([]byte(line), doc); err != nil {
			t.Fatalf("input line %d: %v", n, err)
		}
		a := Annotate(DefaultConfig(), doc)
		checkOffsets(t, doc, a)
		b, err := schemas.PayloadToJSON(a)
		if err != nil {
			t.Fatal(err)
		}
		out.WriteString(`{"id":"` + doc.GetId() + `","annotations":`)
		out.Write(b)
		out.WriteString("}\n")
	}
	if n < 30 {
		t.Errorf("the golden input has %d documents, want at least 30", n)
	}
	path := filepath.Join("testdata", "golden", "expected.jsonl")
	if *update {
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		got := strings.Split(out.String(), "\n")
		for i, w := range strings.Split(string(want), "\n") {
			if i >= len(got) || got[i] != w {
				t.Errorf("line %d differs:\n got %s\nwant %s", i+1, at(got, i), w)
				break
			}
		}
		t.Error("annotations differ from testdata/golden/expected.jsonl (go test -update rewrites it)")
	}
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "<missing>"
}

// TestDeterministic: annotating the same document again, in parallel, with
// a fresh model, gives byte-identical annotations.
func TestDeterministic(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "golden", "input.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	fresh := loadModel()
	for line := range strings.Lines(string(in)) {
		doc := &fairstreampb.Document{}
		if err := protojson.Unmarshal([]byte(line), doc); err != nil {
			t.Fatal(err)
		}
		first, _ := proto.MarshalOptions{Deterministic: true}.Marshal(Annotate(DefaultConfig(), doc))
		results := make(chan []byte, 8)
		for range 8 {
			go func() {
				b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(annotate(fresh, DefaultConfig(), doc))
				results <- b
			}()
		}
		for range 8 {
			if b := <-results; !bytes.Equal(b, first) {
				t.Fatalf("document %s: annotations differ between runs", doc.GetId())
			}
		}
	}
}
