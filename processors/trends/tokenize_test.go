package trends

import (
	"slices"
	"strings"
	"testing"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

func termsOf(doc *fairstreampb.Document) []string {
	var tk tokenizer
	n := tk.terms(doc)
	out := make([]string, n)
	for i := range n {
		out[i] = string(tk.term(i))
	}
	return out
}

func TestTerms(t *testing.T) {
	for _, tc := range []struct {
		name     string
		hashtags []string
		text     string
		want     []string
	}{
		{"words and stopwords", nil, "The Quick brown fox, and THE lazy dog!", []string{"quick", "brown", "fox", "lazy", "dog"}},
		{"hashtags from the field, lower-cased, once", []string{"FairAI", "fairai", "#Launch"}, "", []string{"#fairai", "#launch"}},
		{"hashtags and mentions in text are not words", []string{"ai"}, "Big #AI news from @fairstream today", []string{"#ai", "big", "news", "today"}},
		{"urls skipped", nil, "read https://example.org/launch-news and www.example.com now", []string{"read"}},
		{"duplicates once, digits-only and one-rune words skipped", nil, "go go go 2026 a b covid19 covid19", []string{"go", "covid19"}},
		{"apostrophes", nil, "don't stop, it’s Rock'n'roll", []string{"stop", "rocknroll"}},
		{"mixed scripts", nil, "Привет мир données 数据集 ünïcödé", []string{"привет", "мир", "données", "数据集", "ünïcödé"}},
		{"empty", nil, "", []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := termsOf(&fairstreampb.Document{Hashtags: tc.hashtags, Text: tc.text})
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTermsBadInput(t *testing.T) {
	var long strings.Builder
	for i := range 10_000 {
		long.WriteString("word")
		long.WriteByte(byte('a' + i%26))
		long.WriteByte(byte('a' + i/26%26))
		long.WriteByte(byte('a' + i/676%26))
		long.WriteByte(' ')
	}
	tags := make([]string, 200)
	for i := range tags {
		tags[i] = strings.Repeat("x", i%5+1) + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	for _, doc := range []*fairstreampb.Document{
		{Text: long.String(), Hashtags: tags},
		{Text: "\xff\xfe\x00garbage\x00\xc3", Hashtags: []string{"\xff\xfe", "", "#", strings.Repeat("a", 500)}},
		{Text: strings.Repeat("a", 100_000)},
		{Text: strings.Repeat("数", 100_000)},
	} {
		got := termsOf(doc)
		tagsN, words := 0, 0
		for _, term := range got {
			if len(term) > maxTermBytes {
				t.Errorf("term of %d bytes, over %d", len(term), maxTermBytes)
			}
			if strings.HasPrefix(term, "#") {
				tagsN++
			} else {
				words++
			}
		}
		if tagsN > maxHashtags || words > maxTerms {
			t.Errorf("%d hashtags and %d words, want <= %d and <= %d", tagsN, words, maxHashtags, maxTerms)
		}
	}
	if got := termsOf(&fairstreampb.Document{Text: long.String()}); len(got) != maxTerms {
		t.Errorf("long text gave %d terms, want the cap %d", len(got), maxTerms)
	}
}
