package trends

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// Caps on what one document contributes, so that a very long or hostile
// document costs bounded time and cannot flood a window.
const (
	maxTextBytes  = 8 << 10 // text scanned per document; the rest is ignored
	maxTerms      = 64      // distinct salient terms per document
	maxHashtags   = 32      // distinct hashtags per document
	maxTermBytes  = 64      // longer words and hashtags are skipped
	minTermRunes  = 2       // shorter words are skipped
	hashtagKind   = "hashtag"
	termKind      = "term"
	hashtagSigil  = '#'
	mentionSigil  = '@'
	fullwidthHash = '＃'
	fullwidthAt   = '＠'
)

// tokenizer splits a document into its distinct terms: its hashtags
// (Document.hashtags, lower-cased, with '#') and the salient words of its
// text. It reuses its buffers: a tokenizer is not safe for concurrent use.
type tokenizer struct {
	buf   []byte
	spans []span
}

type span struct{ start, end int }

// terms returns the document's distinct terms as slices of the tokenizer's
// buffer, valid until the next call: hashtags first, then words in order.
func (t *tokenizer) terms(doc *fairstreampb.Document) int {
	t.buf = t.buf[:0]
	t.spans = t.spans[:0]
	tags := 0
	for _, h := range doc.GetHashtags() {
		if tags >= maxHashtags {
			break
		}
		h = strings.TrimLeft(strings.TrimSpace(h), "#＃")
		if h == "" || len(h)+1 > maxTermBytes || !utf8.ValidString(h) {
			continue
		}
		start := len(t.buf)
		t.buf = append(t.buf, hashtagSigil)
		t.buf = appendLower(t.buf, h)
		if t.push(start) {
			tags++
		}
	}
	text := doc.GetText()
	if len(text) > maxTextBytes {
		text = text[:maxTextBytes]
	}
	words := 0
	for field := range strings.FieldsSeq(text) {
		if words >= maxTerms {
			break
		}
		if isURL(field) {
			continue
		}
		words += t.words(field, maxTerms-words)
	}
	return len(t.spans)
}

// term returns the i-th term of the last call to terms.
func (t *tokenizer) term(i int) []byte { s := t.spans[i]; return t.buf[s.start:s.end] }

// push keeps the term written at buf[start:] unless it is a duplicate of an
// earlier one; it reports whether it was kept.
func (t *tokenizer) push(start int) bool {
	w := t.buf[start:]
	for _, s := range t.spans {
		if bytes.Equal(t.buf[s.start:s.end], w) {
			t.buf = t.buf[:start]
			return false
		}
	}
	t.spans = append(t.spans, span{start, len(t.buf)})
	return true
}

// words appends the salient words of one whitespace-free field, at most
// room of them, and returns how many it kept. A word is a run of letters,
// marks and digits ('\” and '’' inside a word are dropped: "don't" is
// "dont"); a word right after '#' or '@' is a hashtag or a mention and is
// skipped; words of fewer than minTermRunes runes, of digits only, longer
// than maxTermBytes or in the stopword list are skipped.
func (t *tokenizer) words(field string, room int) int {
	kept := 0
	prev := rune(' ')
	start := -1
	runes, letters := 0, 0
	skip := false
	flush := func() {
		if start < 0 {
			return
		}
		w := t.buf[start:]
		switch {
		case skip, runes < minTermRunes, letters == 0, len(w) > maxTermBytes, isStopword(w):
			t.buf = t.buf[:start]
		default:
			if t.push(start) {
				kept++
			}
		}
		start, runes, letters, skip = -1, 0, 0, false
	}
	for _, r := range field {
		if kept >= room {
			break
		}
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			if start < 0 {
				start = len(t.buf)
				skip = prev == hashtagSigil || prev == mentionSigil || prev == fullwidthHash || prev == fullwidthAt
			}
			if len(t.buf)-start <= maxTermBytes {
				t.buf = utf8.AppendRune(t.buf, unicode.ToLower(r))
			}
			runes++
			if unicode.IsLetter(r) {
				letters++
			}
		case (r == '\'' || r == '’') && start >= 0:
			// inside a word: dropped
		default:
			flush()
		}
		prev = r
	}
	if kept < room {
		flush()
	} else if start >= 0 {
		t.buf = t.buf[:start]
	}
	return kept
}

func isURL(field string) bool {
	return strings.Contains(field, "://") || strings.HasPrefix(field, "www.")
}

// appendLower appends s lower-cased, with an ASCII fast path.
func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			for _, r := range s[i:] {
				b = utf8.AppendRune(b, unicode.ToLower(r))
			}
			return b
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

func kindOf(term string) string {
	if strings.HasPrefix(term, "#") {
		return hashtagKind
	}
	return termKind
}
