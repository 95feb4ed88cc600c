package validator

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// maxTextBytes caps the text hashed per record (a web page's body can be
// megabytes; its first 64 KiB identify it well enough).
const maxTextBytes = 64 << 10

// Content is what the validator compares between a worker's record and its
// own re-fetch: the record's text and its time at the source.
type Content struct {
	// Text is the record's text, as Extract gives it.
	Text string
	// Time is when the record was made at the source (zero when the
	// source does not say).
	Time time.Time
}

// Extract returns the text and source time of a raw payload:
//
//   - raw.tweet/v1: text; created_at
//   - raw.web/v1: the body with HTML tags, scripts and styles removed when
//     the content type is HTML; fetched_at
//   - raw.discord/v1: content; timestamp
//   - raw.telegram/v1: text, then caption; date
//   - raw.podcast/v1: title, then description; published
//
// ok is false for any other payload: such records are deduplicated on their
// payload bytes only.
func Extract(m any) (c Content, ok bool) {
	switch p := m.(type) {
	case *fairstreampb.RawTweet:
		return Content{Text: p.GetText(), Time: tsTime(p.GetCreatedAt())}, true
	case *fairstreampb.RawWebPage:
		body := p.GetBody()
		if len(body) > maxTextBytes {
			body = body[:maxTextBytes]
		}
		text := string(body)
		if ct := strings.ToLower(p.GetContentType()); ct == "" || strings.Contains(ct, "html") {
			text = stripHTML(text)
		}
		return Content{Text: text, Time: tsTime(p.GetFetchedAt())}, true
	case *fairstreampb.RawDiscordMessage:
		return Content{Text: p.GetContent(), Time: tsTime(p.GetTimestamp())}, true
	case *fairstreampb.RawTelegramMessage:
		return Content{Text: joinText(p.GetText(), p.GetCaption()), Time: tsTime(p.GetDate())}, true
	case *fairstreampb.RawPodcastEpisode:
		return Content{Text: joinText(p.GetTitle(), p.GetDescription()), Time: tsTime(p.GetPublished())}, true
	}
	return Content{}, false
}

type timestamp interface {
	AsTime() time.Time
	IsValid() bool
}

func tsTime(ts timestamp) time.Time {
	if ts == nil || !ts.IsValid() {
		return time.Time{}
	}
	t := ts.AsTime()
	if t.Unix() == 0 && t.Nanosecond() == 0 {
		return time.Time{}
	}
	return t
}

func joinText(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "\n" + b
}

// stripHTML removes tags, and the contents of script and style elements,
// leaving the text. It is not an HTML parser; it needs only to be
// deterministic and to leave the words.
func stripHTML(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for len(s) > 0 {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		b.WriteByte(' ')
		s = s[i:]
		lower := strings.ToLower(s[:min(len(s), 8)])
		for _, skip := range []string{"script", "style"} {
			if strings.HasPrefix(lower, "<"+skip) {
				if j := strings.Index(strings.ToLower(s), "</"+skip); j >= 0 {
					s = s[j:]
				} else {
					s = ""
				}
				break
			}
		}
		j := strings.IndexByte(s, '>')
		if j < 0 {
			break
		}
		s = s[j+1:]
	}
	return b.String()
}

// Normalize lower-cases text and keeps its words (runs of letters and
// digits) separated by single spaces: case, punctuation, emoji and spacing
// edits do not make a record new.
func Normalize(text string) string {
	return string(appendNormalized(make([]byte, 0, min(len(text), maxTextBytes)), text))
}

// wordByte maps an ASCII byte to itself lower-cased when it is a letter or a
// digit, to 0 otherwise.
var wordByte = func() (t [utf8.RuneSelf]byte) {
	for c := range t {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			t[c] = byte(c)
		case 'A' <= c && c <= 'Z':
			t[c] = byte(c) + 'a' - 'A'
		}
	}
	return t
}()

// appendNormalized appends Normalize(text) to dst.
func appendNormalized(dst []byte, text string) []byte {
	if len(text) > maxTextBytes {
		text = text[:maxTextBytes]
	}
	start := len(dst)
	space := false
	for i := 0; i < len(text); {
		if c := text[i]; c < utf8.RuneSelf { // ASCII: unicode.IsLetter and IsDigit agree with wordByte
			i++
			if w := wordByte[c]; w != 0 {
				if space && len(dst) > start {
					dst = append(dst, ' ')
				}
				space = false
				dst = append(dst, w)
			} else {
				space = true
			}
			continue
		}
		r, n := utf8.DecodeRuneInString(text[i:])
		i += n
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if space && len(dst) > start {
				dst = append(dst, ' ')
			}
			space = false
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
			continue
		}
		space = true
	}
	return dst
}

// fnv64 is FNV-1a, then a SplitMix64 finaliser so that every bit depends on
// every input byte (SimHash votes per bit).
func fnv64[T string | []byte](s T) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return mix64(h)
}

func mix64(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	z ^= z >> 31
	return z
}

// features appends the hashes of norm's words and word bigrams to dst and
// returns it with the number of words. These are the shingles MinHash runs
// over: a one-word edit of a 20-word text changes 3 of its 39.
func features[T string | []byte](norm T, dst []uint64) ([]uint64, int) {
	words := 0
	var prev uint64
	for len(norm) > 0 {
		i := 0
		for i < len(norm) && norm[i] != ' ' {
			i++
		}
		w := norm[:i]
		if i < len(norm) {
			norm = norm[i+1:]
		} else {
			norm = norm[:0]
		}
		h := fnv64(w)
		dst = append(dst, h)
		if words > 0 {
			dst = append(dst, mix64(prev*31^h))
		}
		words++
		prev = h
	}
	return dst, words
}
