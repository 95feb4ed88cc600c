package structure

import (
	"strings"
	"unicode"

	"github.com/abadojack/whatlanggo"
	"golang.org/x/text/language"
)

const (
	// minDetectLetters is the fewest letters the detector is trusted with;
	// below it the declared language is used.
	minDetectLetters = 40
	// detectSampleBytes is how much of the text the detector reads.
	detectSampleBytes = 32 << 10
	// declaredConfidence is the confidence given to a language taken from
	// <html lang> or Content-Language rather than detected.
	declaredConfidence = 0.3
)

// detectLanguage returns the ISO 639-1 code of text's language and a
// confidence in [0,1]. When the text is too short or the detector cannot
// decide, it falls back to the declared language (<html lang>, then the
// Content-Language header) with a lower confidence; when that is missing or
// malformed, it returns "" and 0.
func detectLanguage(text string, declared ...string) (string, float64) {
	sample, _ := truncateUTF8(text, detectSampleBytes)
	letters := 0
	for _, r := range sample {
		if unicode.IsLetter(r) {
			letters++
			if letters >= minDetectLetters {
				break
			}
		}
	}
	if letters >= minDetectLetters {
		info := whatlanggo.Detect(sample)
		// whatlanggo ranks languages it holds in a map, so a tie between the
		// two best is broken at random; a tie also gives confidence 0, so
		// accepting only a positive confidence keeps the result
		// deterministic.
		if info.Lang >= 0 && info.Confidence > 0 {
			if code := iso6391(info.Lang); code != "" {
				return code, min(max(info.Confidence, 0), 1)
			}
		}
	}
	for _, d := range declared {
		if code := declaredLanguage(d); code != "" {
			return code, declaredConfidence
		}
	}
	return "", 0
}

// iso6391 returns the two-letter code of a whatlanggo language, mapping the
// few it gives no two-letter code for (such as Iranian Persian) through
// their ISO 639-3 code.
func iso6391(l whatlanggo.Lang) string {
	if code := l.Iso6391(); code != "" {
		return code
	}
	if b, err := language.ParseBase(l.Iso6393()); err == nil && len(b.String()) == 2 {
		return b.String()
	}
	return ""
}

// declaredLanguage turns a language tag such as "en-US", "de_DE" or "deu"
// into an ISO 639-1 code; a list ("fr, en") gives its first entry.
func declaredLanguage(tag string) string {
	tag, _, _ = strings.Cut(tag, ",")
	tag = strings.ReplaceAll(strings.TrimSpace(tag), "_", "-")
	if tag == "" {
		return ""
	}
	t, err := language.Parse(tag)
	if err != nil {
		return ""
	}
	b, conf := t.Base()
	if conf != language.Exact {
		return ""
	}
	if code := b.String(); len(code) == 2 {
		return code
	}
	return ""
}
