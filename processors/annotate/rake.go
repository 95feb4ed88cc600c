package annotate

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

const (
	// maxPhraseWords is the most words of a keyword; longer candidate
	// phrases (in text without stopwords, such as other languages') are
	// left out.
	maxPhraseWords = 3
	// maxWordChars is the longest word a keyword may hold, in code points:
	// longer "words" are URLs' remains, hashes or unspaced scripts.
	maxWordChars = 30
)

// rake returns the text's keywords by RAKE (Rose et al., 2010), local to
// the document: candidate phrases are runs of words between stopwords,
// punctuation and pattern entities (hashtags, mentions, URLs, ...); a word
// scores its degree over its frequency among the candidates, a phrase the
// sum of its words' scores. Words are lower-cased; words of one character
// and numbers end phrases too. Ties are broken by the phrase's text, so the
// order is deterministic.
func rake(m *model, text string, patterns []span, maxKeywords int) []*fairstreampb.Keyword {
	if maxKeywords == 0 || text == "" {
		return nil
	}
	var (
		phrases [][]string
		cur     []string
	)
	flush := func() {
		if len(cur) > 0 && len(cur) <= maxPhraseWords {
			phrases = append(phrases, cur)
		}
		cur = nil
	}
	p := 0
	for i := 0; i < len(text); {
		// Skip pattern entities, which end a phrase.
		for p < len(patterns) && patterns[p].end <= i {
			p++
		}
		if p < len(patterns) && patterns[p].start <= i {
			flush()
			i = patterns[p].end
			continue
		}
		r, n := utf8.DecodeRuneInString(text[i:])
		if !isWordRune(r) {
			if !unicode.IsSpace(r) {
				flush() // punctuation
			}
			i += n
			continue
		}
		start, chars, letters := i, 0, 0
		for i < len(text) {
			r, n := utf8.DecodeRuneInString(text[i:])
			if !isWordRune(r) {
				// inner apostrophes and hyphens: "don't", "open-source"
				if (r == '\'' || r == '’' || r == '-') && i+n < len(text) {
					if r2, _ := utf8.DecodeRuneInString(text[i+n:]); unicode.IsLetter(r2) {
						i += n
						chars++
						continue
					}
				}
				break
			}
			if p < len(patterns) && patterns[p].start == i {
				break
			}
			if unicode.IsLetter(r) {
				letters++
			}
			chars++
			i += n
		}
		w := strings.ToLower(strings.ReplaceAll(text[start:i], "’", "'"))
		if _, stop := m.stop[w]; stop || letters == 0 || chars < 2 || chars > maxWordChars {
			flush()
			continue
		}
		cur = append(cur, w)
	}
	flush()
	if len(phrases) == 0 {
		return nil
	}

	// One map for a word's frequency and degree.
	type fd struct{ freq, degree int }
	words := make(map[string]fd, 2*len(phrases))
	for _, ph := range phrases {
		for _, w := range ph {
			c := words[w]
			c.freq++
			c.degree += len(ph)
			words[w] = c
		}
	}
	scores := make(map[string]float64, len(phrases))
	for _, ph := range phrases {
		key := ph[0]
		if len(ph) > 1 {
			key = strings.Join(ph, " ")
		}
		if _, done := scores[key]; done {
			continue
		}
		s := 0.0
		for _, w := range ph {
			c := words[w]
			s += float64(c.degree) / float64(c.freq)
		}
		scores[key] = s
	}
	kws := make([]*fairstreampb.Keyword, 0, len(scores))
	for k, s := range scores {
		kws = append(kws, &fairstreampb.Keyword{Text: k, Score: round4(s)})
	}
	slices.SortFunc(kws, func(a, b *fairstreampb.Keyword) int {
		if a.Score != b.Score {
			if a.Score > b.Score {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Text, b.Text)
	})
	if len(kws) > maxKeywords {
		kws = kws[:maxKeywords]
	}
	return kws
}
