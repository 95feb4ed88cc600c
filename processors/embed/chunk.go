package embed

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"
	"unicode"
	"unicode/utf8"
)

// Span is a token's place in a text, in code points, end exclusive.
type Span struct{ Start, End int }

// Tokenizer splits text into the model's tokens, giving where each token
// came from; the chunker counts tokens with it so that a chunk fits the
// model.
type Tokenizer interface {
	TokenSpans(text string) []Span
}

// Segment is a part of a document's text that chunks never cross: a
// speaker's turn in a transcript, or the whole text of any other document.
// Start and End are code-point offsets into the text.
type Segment struct {
	Start, End int
	Speaker    string
	// From and To are the time range the segment covers (a transcript's
	// segment times); zero when unknown.
	From, To time.Time
}

// Piece is one chunk cut by Chunk: where it lies in the text, its tokens,
// and its segment's speaker and time range.
type Piece struct {
	Index      int
	Start, End int // code points into the text, end exclusive
	Tokens     int
	Text       string
	Speaker    string
	From, To   time.Time
}

// ChunkConfig sizes the chunks, in tokens (the model's, without [CLS] and
// [SEP]).
type ChunkConfig struct {
	Size    int
	Overlap int
}

// Chunk cuts text into token-aware chunks of at most cfg.Size tokens, each
// overlapping the one before by about cfg.Overlap tokens, inside each
// segment and never across segments. A chunk ends at a word boundary where
// one lies in its last quarter, so words are rarely split. Segments are
// used in order; an empty segments list means the whole text.
func Chunk(tok Tokenizer, text string, segments []Segment, cfg ChunkConfig) []Piece {
	runes := []rune(text)
	if len(segments) == 0 {
		segments = []Segment{{Start: 0, End: len(runes)}}
	}
	var out []Piece
	for _, seg := range segments {
		s, e := max(seg.Start, 0), min(seg.End, len(runes))
		if s >= e {
			continue
		}
		segText := string(runes[s:e])
		spans := tok.TokenSpans(segText)
		for _, c := range cut(spans, []rune(segText), cfg) {
			start, end := s+spans[c[0]].Start, s+spans[c[1]-1].End
			body := string(runes[start:end])
			out = append(out, Piece{Index: len(out), Start: start, End: end, Tokens: c[1] - c[0], Text: body,
				Speaker: seg.Speaker, From: seg.From, To: seg.To})
		}
	}
	return out
}

// cut returns [first, last) token index ranges of the chunks of one
// segment.
func cut(spans []Span, runes []rune, cfg ChunkConfig) [][2]int {
	n := len(spans)
	if n == 0 {
		return nil
	}
	size := max(cfg.Size, 1)
	overlap := min(max(cfg.Overlap, 0), size/2)
	// boundary reports whether a chunk may end after token i: the next
	// token starts after a gap (whitespace or punctuation), not inside the
	// same word.
	boundary := func(i int) bool {
		if i+1 >= n {
			return true
		}
		a, b := spans[i].End, spans[i+1].Start
		if b > a {
			return true
		}
		return !isWordRune(runes[a-1]) || !isWordRune(runes[b])
	}
	var out [][2]int
	for first := 0; first < n; {
		last := min(first+size, n)
		if last < n {
			// Pull the end back to a word boundary in the chunk's last
			// quarter, if there is one.
			for k := last; k > first+size*3/4; k-- {
				if boundary(k - 1) {
					last = k
					break
				}
			}
		}
		out = append(out, [2]int{first, last})
		if last == n {
			break
		}
		next := max(last-overlap, first+1)
		// Start the next chunk at a word's start too.
		for next < last && next > first+1 && !boundary(next-1) {
			next--
		}
		first = next
	}
	return out
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// ChunkID is a chunk's deterministic ID: the first 128 bits, in hex, of
// the SHA-256 of the document ID, the chunk's position and the SHA-256 of
// its text. A replay gives the same IDs, so stores upsert rather than
// duplicate; an edited chunk gets a new ID.
func ChunkID(documentID string, index int, text string) string {
	th := sha256.Sum256([]byte(text))
	h := sha256.New()
	h.Write([]byte(documentID))
	h.Write([]byte{0})
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(index))
	h.Write(b[:])
	h.Write(th[:])
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// runeLen is the number of code points in s.
func runeLen(s string) int { return utf8.RuneCountInString(s) }

// WordTokenizer counts words and punctuation marks as tokens: the
// chunker's tokenizer for a model whose tokenizer is not at hand (an
// OpenAI-compatible endpoint). Subword tokenizers make more tokens than
// words, so size such chunks with a margin.
type WordTokenizer struct{}

// TokenSpans implements Tokenizer.
func (WordTokenizer) TokenSpans(text string) []Span {
	var out []Span
	runes := []rune(text)
	for i := 0; i < len(runes); {
		switch r := runes[i]; {
		case unicode.IsSpace(r):
			i++
		case isWordRune(r):
			j := i
			for j < len(runes) && isWordRune(runes[j]) {
				j++
			}
			out = append(out, Span{i, j})
			i = j
		default:
			out = append(out, Span{i, i + 1})
			i++
		}
	}
	return out
}
