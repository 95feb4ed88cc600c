package embed

import (
	"strings"
	"testing"
	"time"
	"unicode"
)

// wordPieces tokenizes like WordPiece in shape: words and punctuation are
// tokens, and a word longer than 4 letters continues in pieces of 4 (so
// that a chunk could end inside a word).
type wordPieces struct{}

func (wordPieces) TokenSpans(text string) []Span {
	var out []Span
	runes := []rune(text)
	for i := 0; i < len(runes); {
		r := runes[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case isWordRune(r):
			j := i
			for j < len(runes) && isWordRune(runes[j]) {
				j++
			}
			for k := i; k < j; k += 4 {
				out = append(out, Span{k, min(k+4, j)})
			}
			i = j
		default:
			out = append(out, Span{i, i + 1})
			i++
		}
	}
	return out
}

func TestChunkCoversTextWithOverlap(t *testing.T) {
	var b strings.Builder
	for i := range 200 {
		b.WriteString("Sentence number ")
		b.WriteString(strings.Repeat("x", i%7+1))
		b.WriteString(" talks about décentralised données. ")
	}
	text := b.String()
	cfg := ChunkConfig{Size: 40, Overlap: 10}
	pieces := Chunk(wordPieces{}, text, nil, cfg)
	if len(pieces) < 10 {
		t.Fatalf("%d chunks for %d characters", len(pieces), len(text))
	}
	runes := []rune(text)
	for i, p := range pieces {
		if p.Index != i || p.Tokens > cfg.Size || p.Tokens == 0 {
			t.Fatalf("chunk %d: index %d, %d tokens (size %d)", i, p.Index, p.Tokens, cfg.Size)
		}
		if got := string(runes[p.Start:p.End]); got != p.Text {
			t.Fatalf("chunk %d: offsets [%d,%d) give %q, text %q", i, p.Start, p.End, got, p.Text)
		}
		// Chunks start and end on word boundaries.
		if p.Start > 0 && isWordRune(runes[p.Start-1]) && isWordRune(runes[p.Start]) {
			t.Errorf("chunk %d starts inside a word: %q", i, string(runes[max(p.Start-5, 0):p.Start+5]))
		}
		if p.End < len(runes) && isWordRune(runes[p.End-1]) && isWordRune(runes[p.End]) {
			t.Errorf("chunk %d ends inside a word: %q", i, string(runes[p.End-5:min(p.End+5, len(runes))]))
		}
		if i > 0 {
			prev := pieces[i-1]
			if p.Start >= prev.End {
				t.Errorf("chunk %d starts at %d, after the previous end %d: no overlap", i, p.Start, prev.End)
			}
			if p.Start <= prev.Start {
				t.Errorf("chunk %d does not advance: start %d, previous %d", i, p.Start, prev.Start)
			}
		}
	}
	if pieces[0].Start != 0 || pieces[len(pieces)-1].End != runeLen(strings.TrimRight(text, " ")) {
		t.Errorf("chunks cover [%d,%d) of %d characters", pieces[0].Start, pieces[len(pieces)-1].End, len(runes))
	}
}

func TestChunkNeverCrossesSegments(t *testing.T) {
	text := "Ada: welcome to the show about fair data. Grace: thanks, glad to be here today. Ada: so what is fair?"
	segs := []Segment{
		{Start: 0, End: 41, Speaker: "Ada", From: time.Unix(0, 0), To: time.Unix(10, 0)},
		{Start: 42, End: 79, Speaker: "Grace", From: time.Unix(10, 0), To: time.Unix(20, 0)},
		{Start: 80, End: len([]rune(text)), Speaker: "Ada", From: time.Unix(20, 0), To: time.Unix(25, 0)},
	}
	pieces := Chunk(wordPieces{}, text, segs, ChunkConfig{Size: 6, Overlap: 2})
	if len(pieces) < 4 {
		t.Fatalf("%d chunks", len(pieces))
	}
	for _, p := range pieces {
		var in *Segment
		for i := range segs {
			if p.Start >= segs[i].Start && p.End <= segs[i].End {
				in = &segs[i]
			}
		}
		if in == nil {
			t.Fatalf("chunk %q [%d,%d) crosses a speaker turn", p.Text, p.Start, p.End)
		}
		if p.Speaker != in.Speaker || !p.From.Equal(in.From) || !p.To.Equal(in.To) {
			t.Errorf("chunk %q: speaker %q %v–%v, want its segment's %q", p.Text, p.Speaker, p.From, p.To, in.Speaker)
		}
	}
}

func TestChunkEdgeCases(t *testing.T) {
	if got := Chunk(wordPieces{}, "", nil, ChunkConfig{Size: 8, Overlap: 2}); len(got) != 0 {
		t.Errorf("empty text: %d chunks", len(got))
	}
	if got := Chunk(wordPieces{}, "   \n\t ", nil, ChunkConfig{Size: 8, Overlap: 2}); len(got) != 0 {
		t.Errorf("blank text: %d chunks", len(got))
	}
	// One word longer than a chunk is still cut (inside the word: there is
	// no boundary to use).
	long := strings.Repeat("a", 100)
	got := Chunk(wordPieces{}, long, nil, ChunkConfig{Size: 5, Overlap: 1})
	if len(got) < 5 || got[len(got)-1].End != 100 {
		t.Errorf("a 100-letter word: %d chunks, last ends at %d", len(got), got[len(got)-1].End)
	}
	// Mixed scripts and emoji keep valid offsets.
	text := "日本語 テキスト 🎉 and English words, Ünïcödé too"
	for _, p := range Chunk(wordPieces{}, text, nil, ChunkConfig{Size: 3, Overlap: 1}) {
		if string([]rune(text)[p.Start:p.End]) != p.Text {
			t.Fatalf("offsets of %q are wrong", p.Text)
		}
	}
	// Segments out of range are clipped, empty ones skipped.
	got = Chunk(wordPieces{}, "short text", []Segment{{Start: 5, End: 500}, {Start: 3, End: 3}}, ChunkConfig{Size: 8})
	if len(got) != 1 || got[0].Text != "text" {
		t.Errorf("clipped segment: %+v", got)
	}
}

func TestChunkID(t *testing.T) {
	a := ChunkID("twitter:1", 0, "hello")
	if len(a) != 32 || a != ChunkID("twitter:1", 0, "hello") {
		t.Fatalf("ChunkID not deterministic or not 32 hex: %q", a)
	}
	for _, b := range []string{ChunkID("twitter:2", 0, "hello"), ChunkID("twitter:1", 1, "hello"), ChunkID("twitter:1", 0, "hello!")} {
		if b == a {
			t.Errorf("distinct chunks share the ID %s", a)
		}
	}
}
