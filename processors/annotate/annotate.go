package annotate

import (
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/abadojack/whatlanggo"
	"golang.org/x/text/language"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// Name is the stage's name: its consumer group, part of its transactional
// ID, and the stage recorded in lineage. It never changes: renaming it makes
// the stage consume docs.structured.v1 again from the start.
const Name = "annotate"

// Version is the lexicon annotator's version, recorded as
// Annotations.annotator_version and as the lineage's stage_version. Bump it
// (1, 2, ...) whenever a change alters the annotations of some document: the
// code, the embedded stopwords or gazetteer, the govader lexicon (a
// go.mod upgrade), or the defaults of Config. Annotations are a pure function
// of the document, the Config and Version.
const Version = "1"

// Annotator is the name recorded in Annotations.annotator.
const Annotator = "lexicon"

// Sentiment labels.
const (
	LabelPositive = "positive"
	LabelNegative = "negative"
	LabelNeutral  = "neutral"
)

// vaderThreshold is VADER's usual cut between neutral and a polarity.
const vaderThreshold = 0.05

// Language detection, as the structure stage does it but on a shorter
// sample: whatlanggo's cost grows with the text, and 2 KiB tell the
// language about as well as 32 do.
const (
	minDetectLetters  = 40
	detectSampleBytes = 2 << 10
)

// Annotate computes the lexicon annotations of doc: language, sentiment,
// entities, keywords and topics. It is a pure function of cfg (its
// MaxTextChars, MaxKeywords and MaxTopics; the LLM settings are not used)
// and doc: the same inputs give the same annotations on every machine. It
// never fails: empty text gives empty annotations, invalid UTF-8 is read
// with U+FFFD for each bad byte, and text over cfg.MaxTextChars is cut.
func Annotate(cfg Config, doc *fairstreampb.Document) *fairstreampb.Annotations {
	return annotate(defaultModel(), cfg, doc)
}

func annotate(m *model, cfg Config, doc *fairstreampb.Document) *fairstreampb.Annotations {
	text, chars, capped := annotatedText(doc.GetTitle(), doc.GetText(), cfg.MaxTextChars)
	a := &fairstreampb.Annotations{
		Annotator:        Annotator,
		AnnotatorVersion: Version,
		AnnotatedChars:   int64(chars),
		TextCapped:       capped,
	}
	a.Language, a.LanguageConfidence = doc.GetLanguage(), doc.GetLanguageConfidence()
	if a.Language == "" {
		a.Language, a.LanguageConfidence = detectLanguage(text)
	}
	a.LanguageConfidence = round4(a.LanguageConfidence)
	a.Sentiment = sentiment(m, text, a.Language)
	spans := findPatterns(text)
	spans = append(spans, findNames(m, text, spans)...)
	slices.SortFunc(spans, func(x, y span) int {
		if x.start != y.start {
			return x.start - y.start
		}
		return x.end - y.end
	})
	a.Keywords = rake(m, text, spans, cfg.MaxKeywords)
	a.Topics = topics(spans, a.Keywords, cfg.MaxTopics)
	a.Entities = entities(text, spans)
	return a
}

// annotatedText returns the text annotated — the title, a blank line and
// the text, or whichever is not empty — valid UTF-8 and cut to at most
// maxChars code points, with its length in code points and whether it was
// cut.
func annotatedText(title, text string, maxChars int) (string, int, bool) {
	title, text = strings.TrimSpace(title), strings.TrimSpace(text)
	s := text
	if title != "" {
		if text != "" {
			s = title + "\n\n" + text
		} else {
			s = title
		}
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	n := 0
	for i := range s {
		if n == maxChars {
			return s[:i], n, true
		}
		n++
	}
	return s, n, false
}

// detectLanguage returns the ISO 639-1 code of text's language and a
// confidence in [0,1], or "" and 0 when the text has too few letters or the
// detector cannot decide.
func detectLanguage(text string) (string, float64) {
	sample := text
	if len(sample) > detectSampleBytes {
		sample = sample[:detectSampleBytes]
		for !utf8.ValidString(sample) { // cut on a rune boundary
			sample = sample[:len(sample)-1]
		}
	}
	letters := 0
	for _, r := range sample {
		if unicode.IsLetter(r) {
			if letters++; letters >= minDetectLetters {
				break
			}
		}
	}
	if letters < minDetectLetters {
		return "", 0
	}
	info := whatlanggo.Detect(sample)
	// A tie between the two best languages is broken at random by
	// whatlanggo, and gives confidence 0: accepting only a positive
	// confidence keeps the result deterministic.
	if info.Lang < 0 || info.Confidence <= 0 {
		return "", 0
	}
	code := info.Lang.Iso6391()
	if code == "" {
		if b, err := language.ParseBase(info.Lang.Iso6393()); err == nil && len(b.String()) == 2 {
			code = b.String()
		}
	}
	if code == "" {
		return "", 0
	}
	return code, min(max(info.Confidence, 0), 1)
}

// sentiment scores text with VADER (github.com/jonreiter/govader), whose
// lexicon is English with emoji, emoticons and slang. Text in another
// language (lang set and not "en") is scored on its words without letters
// only — emoji, emoticons, "!" — since English words such as "die" or "but"
// mean something else there. VADER splits words on spaces only, so line
// breaks and tabs are read as spaces.
func sentiment(m *model, text, lang string) *fairstreampb.Sentiment {
	if lang != "" && lang != "en" {
		var b strings.Builder
		for _, w := range strings.Fields(text) {
			if strings.IndexFunc(w, unicode.IsLetter) < 0 || isEmojiWord(w) {
				if b.Len() > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(w)
			}
		}
		text = b.String()
	}
	if strings.ContainsAny(text, "\n\r\t") {
		text = strings.Map(func(r rune) rune {
			if r == '\n' || r == '\r' || r == '\t' {
				return ' '
			}
			return r
		}, text)
	}
	s := m.vader.PolarityScores(text)
	out := &fairstreampb.Sentiment{
		Compound: round4(clamp1(s.Compound)),
		Positive: round4(s.Positive),
		Negative: round4(s.Negative),
		Neutral:  round4(s.Neutral),
		Label:    LabelNeutral,
	}
	if math.IsNaN(s.Compound) {
		out.Compound = 0
	}
	switch {
	case out.Compound >= vaderThreshold:
		out.Label = LabelPositive
	case out.Compound <= -vaderThreshold:
		out.Label = LabelNegative
	}
	if out.Positive == 0 && out.Negative == 0 && out.Neutral == 0 {
		out.Neutral = 1 // no words at all
	}
	return out
}

func clamp1(x float64) float64 { return min(max(x, -1), 1) }

// round4 rounds to four decimals, so that the last bits of a float, which
// may differ between CPU architectures, never reach the output.
func round4(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return math.Round(x*1e4) / 1e4
}

// topics are the hashtags, the most frequent first (ties in order of first
// appearance), then the keywords, the best first, each once ignoring case,
// at most max of them.
func topics(spans []span, kws []*fairstreampb.Keyword, maxTopics int) []string {
	if maxTopics == 0 {
		return nil
	}
	type tag struct {
		value string
		count int
		first int
	}
	var tags []tag
	idx := map[string]int{}
	for _, s := range spans {
		if s.typ != TypeHashtag {
			continue
		}
		if i, ok := idx[s.value]; ok {
			tags[i].count++
			continue
		}
		idx[s.value] = len(tags)
		tags = append(tags, tag{value: s.value, count: 1, first: len(tags)})
	}
	slices.SortStableFunc(tags, func(x, y tag) int { return y.count - x.count })
	var out []string
	seen := map[string]bool{}
	add := func(t string) {
		if len(out) < maxTopics && t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	for _, t := range tags {
		add(t.value)
	}
	for _, k := range kws {
		add(k.GetText())
	}
	return out
}

// entities turns spans into Entities with code-point offsets.
func entities(text string, spans []span) []*fairstreampb.Entity {
	if len(spans) == 0 {
		return nil
	}
	conv := newOffsets(text)
	out := make([]*fairstreampb.Entity, len(spans))
	for i, s := range spans {
		out[i] = &fairstreampb.Entity{
			Type: s.typ, Text: text[s.start:s.end], Value: s.value,
			Start: conv.at(s.start), End: conv.at(s.end), Method: s.method,
		}
	}
	return out
}

// offsets converts byte offsets into code-point offsets; spans come sorted,
// so it walks the text once.
type offsets struct {
	text       string
	ascii      bool
	byteAt, cp int
}

func newOffsets(text string) *offsets {
	ascii := true
	for i := 0; i < len(text); i++ {
		if text[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	return &offsets{text: text, ascii: ascii}
}

func (o *offsets) at(b int) int32 {
	if o.ascii {
		return int32(b)
	}
	if b < o.byteAt { // not sorted: start again
		o.byteAt, o.cp = 0, 0
	}
	o.cp += utf8.RuneCountInString(o.text[o.byteAt:b])
	o.byteAt = b
	return int32(o.cp)
}

// isEmojiWord reports whether w holds a character of the symbol blocks
// emoji live in (VADER reads each as its description).
func isEmojiWord(w string) bool {
	for _, r := range w {
		if r >= 0x2600 && r <= 0x27BF || r >= 0x1F000 && r <= 0x1FAFF {
			return true
		}
	}
	return false
}
