package model

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Span is one token's place in the text it came from, in code points
// (runes), half open: the token covers []rune(text)[Start:End].
type Span struct {
	Start, End int
}

// The BERT special tokens of the uncased vocabulary.
const (
	tokPad = "[PAD]"
	tokUNK = "[UNK]"
	tokCLS = "[CLS]"
	tokSEP = "[SEP]"
)

// maxCharsPerWord is WordPiece's limit: a longer word is one [UNK].
const maxCharsPerWord = 100

// wordPiece is BERT's tokenizer: the basic tokenisation of
// BertNormalizer + BertPreTokenizer (clean control characters, map
// whitespace to spaces, isolate CJK ideographs, strip accents, lower-case,
// split on whitespace and isolate punctuation), then greedy longest-match
// WordPiece over vocab.txt with the "##" continuation prefix.
//
// It is a fixed function of the vocabulary: no state changes after load,
// so one value serves any number of goroutines.
type wordPiece struct {
	vocab     map[string]int32
	lower     bool
	unk       int32
	cls, sep  int32
	maxTokens int // word pieces per sequence, [CLS] and [SEP] excluded
}

// piece is one word piece: its vocabulary ID and its span in code points
// of the original text.
type piece struct {
	id   int32
	span Span
}

func loadVocab(path string) (map[string]int32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vocab := make(map[string]int32, 32000)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	var id int32
	for sc.Scan() {
		tok := strings.TrimRight(sc.Text(), "\r")
		if _, dup := vocab[tok]; !dup {
			vocab[tok] = id
		}
		id++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return vocab, nil
}

func newWordPiece(vocab map[string]int32, lower bool, maxSeq int) (*wordPiece, error) {
	w := &wordPiece{vocab: vocab, lower: lower, maxTokens: maxSeq - 2}
	for _, s := range []struct {
		name string
		dst  *int32
	}{{tokUNK, &w.unk}, {tokCLS, &w.cls}, {tokSEP, &w.sep}} {
		id, ok := vocab[s.name]
		if !ok {
			return nil, fmt.Errorf("vocabulary has no %s token", s.name)
		}
		*s.dst = id
	}
	if w.maxTokens < 1 {
		return nil, fmt.Errorf("max_seq_length %d leaves no room between [CLS] and [SEP]", maxSeq)
	}
	return w, nil
}

// pieces splits text into word pieces with their spans, untruncated and
// without [CLS]/[SEP].
func (w *wordPiece) pieces(text string) []piece {
	// Normalise rune by rune, remembering where each output rune came from.
	norm := make([]rune, 0, len(text))
	from := make([]int, 0, len(text))
	var buf [8]rune
	i := 0
	for _, r := range text {
		for _, out := range w.normalize(r, buf[:0]) {
			norm = append(norm, out)
			from = append(from, i)
		}
		i++
	}

	var out []piece
	start := -1 // start of the current word in norm, -1 when outside one
	flush := func(end int) {
		if start >= 0 {
			out = w.appendWord(out, norm[start:end], from[start:end])
			start = -1
		}
	}
	for j, r := range norm {
		switch {
		case r == ' ':
			flush(j)
		case isPunct(r):
			flush(j)
			out = w.appendWord(out, norm[j:j+1], from[j:j+1])
		default:
			if start < 0 {
				start = j
			}
		}
	}
	flush(len(norm))
	return out
}

// normalize is BertNormalizer for one rune: clean_text, then
// handle_chinese_chars, then (when lower-casing) strip_accents (NFD,
// drop Mn) and lowercase. Whitespace comes back as ' '.
func (w *wordPiece) normalize(r rune, buf []rune) []rune {
	switch {
	case r == 0 || r == 0xFFFD || isControl(r):
		return buf
	case isWhitespace(r):
		return append(buf, ' ')
	case isCJK(r):
		return append(buf, ' ', r, ' ')
	case !w.lower:
		return append(buf, r)
	}
	if r < 0x80 {
		return append(buf, unicode.ToLower(r))
	}
	for _, d := range norm.NFD.String(string(r)) {
		if unicode.Is(unicode.Mn, d) {
			continue
		}
		for _, l := range strings.ToLower(string(d)) {
			if isWhitespace(l) {
				l = ' '
			}
			buf = append(buf, l)
		}
	}
	return buf
}

// appendWord runs WordPiece over one pre-tokenised word.
func (w *wordPiece) appendWord(out []piece, word []rune, from []int) []piece {
	whole := Span{from[0], from[len(from)-1] + 1}
	if len(word) > maxCharsPerWord {
		return append(out, piece{w.unk, whole})
	}
	n := len(out)
	var sb strings.Builder
	for start := 0; start < len(word); {
		end := len(word)
		found := int32(-1)
		for ; end > start; end-- {
			sb.Reset()
			if start > 0 {
				sb.WriteString("##")
			}
			sb.WriteString(string(word[start:end]))
			if id, ok := w.vocab[sb.String()]; ok {
				found = id
				break
			}
		}
		if found < 0 {
			return append(out[:n], piece{w.unk, whole})
		}
		out = append(out, piece{found, Span{from[start], from[end-1] + 1}})
		start = end
	}
	return out
}

// ids is the model input for text: [CLS], its first maxTokens word pieces,
// [SEP].
func (w *wordPiece) ids(text string) []int32 {
	ps := w.pieces(text)
	if len(ps) > w.maxTokens {
		ps = ps[:w.maxTokens]
	}
	ids := make([]int32, 0, len(ps)+2)
	ids = append(ids, w.cls)
	for _, p := range ps {
		ids = append(ids, p.id)
	}
	return append(ids, w.sep)
}

// isControl is the Rust tokenizers' is_control: any "other" category
// (Cc, Cf, Co, Cs, unassigned) except tab, newline and carriage return.
func isControl(r rune) bool {
	if r < 0x80 {
		return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7F
	}
	return unicode.Is(unicode.C, r) || !isAssigned(r)
}

func isAssigned(r rune) bool {
	for _, t := range unicode.Categories {
		if unicode.Is(t, r) {
			return true
		}
	}
	return false
}

// isWhitespace is the Unicode White_Space property (with tab, newline and
// carriage return), as in the Rust tokenizers.
func isWhitespace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || unicode.Is(unicode.White_Space, r)
}

// isPunct is BERT's punctuation: every ASCII non-alphanumeric printable
// (so "$", "+", "^", "`" count) and every Unicode P* category.
func isPunct(r rune) bool {
	if (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126) {
		return true
	}
	return unicode.IsPunct(r)
}

// isCJK is BERT's "Chinese character": the CJK Unified Ideographs blocks
// and their extensions and compatibility ideographs (not Hangul or kana).
func isCJK(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) ||
		(r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) ||
		(r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) ||
		(r >= 0x2F800 && r <= 0x2FA1F)
}
