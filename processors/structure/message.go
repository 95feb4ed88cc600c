package structure

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// Limits on what a message yields and on the work it causes, so that no
// hostile message grows the Document past reason or stalls the stage.
const (
	maxTags      = 100  // hashtags, and mentions, per item
	maxTagBytes  = 140  // one hashtag or mention
	maxIDBytes   = 128  // a source ID used in a document ID
	maxEntities  = 1000 // entities read per item, in the order of their start
	maxSpanUnits = 8192 // the longest entity span read, in UTF-16 code units
)

// sourceConfidence is the confidence given to a language the source itself
// labels the item with (a tweet's lang, a podcast feed's language): it is
// taken as given.
const sourceConfidence = 1.0

// Media types of a MediaRef, the same for every source.
const (
	mediaImage = "image"
	mediaVideo = "video"
	mediaAudio = "audio"
	mediaFile  = "file"
)

// newDocument starts a Document from source with the raw event's lineage.
func newDocument(source string, src Source) *fairstreampb.Document {
	return &fairstreampb.Document{
		Source: source,
		Lineage: &fairstreampb.Lineage{
			EventId:      valid(src.EventID),
			EventType:    valid(src.EventType),
			Worker:       valid(src.Worker),
			ContentHash:  append([]byte(nil), src.ContentHash...),
			Stage:        Name,
			StageVersion: Version,
		},
	}
}

// valid returns s with every run of invalid UTF-8 replaced by U+FFFD.
// Payloads decoded from the bus are valid already; values built in code may
// not be.
func valid(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// setText puts the item's text in doc: line endings and blank lines
// normalised as for plain text, cut at cfg.MaxTextBytes.
func setText(cfg Config, doc *fairstreampb.Document, text string) {
	doc.Text, doc.TextTruncated = truncateUTF8(normalizePlain(text, cfg.MaxTextBytes), cfg.MaxTextBytes)
}

// empty reports whether doc has neither text nor media nor a title: an item
// with nothing at all, which the stage skips.
func empty(doc *fairstreampb.Document) bool {
	return doc.GetText() == "" && doc.GetTitle() == "" && len(doc.GetMedia()) == 0
}

// messageLanguage returns the item's language: the one the source labels it
// with when that is a known language, else the one detected from the text
// without its links and mentions.
func messageLanguage(text, labelled string) (string, float64) {
	if code := sourceLanguage(labelled); code != "" {
		return code, sourceConfidence
	}
	return detectLanguage(prose(text))
}

// sourceLanguage turns a source's language label ("en", "en-us", "pt_BR",
// "in", "deu") into an ISO 639-1 code; labels that name no language, such as
// X's "und", "zxx" or "qme", give "".
func sourceLanguage(tag string) string {
	tag = strings.ToLower(strings.TrimSpace(tag))
	primary, _, _ := strings.Cut(strings.ReplaceAll(tag, "_", "-"), "-")
	if len(primary) == 2 {
		// Taken as is where it is a two-letter code: language.Parse would turn
		// "tl" into "fil", which has none.
		switch primary {
		case "in":
			return "id"
		case "iw":
			return "he"
		case "ji":
			return "yi"
		}
		if _, err := language.ParseBase(primary); err != nil {
			return ""
		}
		return primary
	}
	return declaredLanguage(tag)
}

// prose returns text without its URLs and @mentions, for language detection.
func prose(text string) string {
	var b strings.Builder
	last := 0
	for _, sp := range findURLs(text) {
		b.WriteString(text[last:sp.start])
		b.WriteByte(' ')
		last = sp.end
	}
	b.WriteString(text[last:])
	s := b.String()
	b.Reset()
	last = 0
	for _, sp := range findSigils(s, isMentionSigil, isMentionRune) {
		b.WriteString(s[last:sp.start])
		b.WriteByte(' ')
		last = sp.end
	}
	b.WriteString(s[last:])
	return b.String()
}

// person formats one author: "Display Name (@username)", or whichever of
// the two the source gives.
func person(display, username string) string {
	display = clip(normalizeSpace(valid(display)), maxFieldBytes)
	username = clip(strings.TrimPrefix(normalizeSpace(valid(username)), "@"), maxTagBytes)
	switch {
	case username == "":
		return display
	case display == "" || display == username:
		return "@" + username
	}
	return display + " (@" + username + ")"
}

// authorList returns the non-empty names as a list.
func authorList(names ...string) []string {
	var out []string
	for _, n := range names {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// timestamp returns a copy of ts, or nil when ts is unset or out of range.
func timestamp(ts *timestamppb.Timestamp) *timestamppb.Timestamp {
	if ts == nil || ts.CheckValid() != nil {
		return nil
	}
	return &timestamppb.Timestamp{Seconds: ts.GetSeconds(), Nanos: ts.GetNanos()}
}

// validID reports whether s can stand in a document ID: 1 to maxIDBytes
// letters, digits, '-', '_' or '.'.
func validID(s string) bool {
	if s == "" || len(s) > maxIDBytes {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// digits reports whether s is a non-empty string of ASCII digits (a
// snowflake ID).
func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// hashID is the first 128 bits of the SHA-256 of the parts, each ended by a
// newline (no URL or GUID holds a raw newline), in hex.
func hashID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

func unprocessable(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnprocessable}, args...)...)
}

// linkSet collects links: absolute http(s) URLs, normalised, each once, in
// the order first seen, at most max.
type linkSet struct {
	max   int
	links []*fairstreampb.Link
	index map[string]int
}

func newLinkSet(max int) *linkSet { return &linkSet{max: max, index: map[string]int{}} }

// add adds raw, resolved against base (which may be nil). A URL seen before
// keeps its place and gains text it lacked.
func (s *linkSet) add(base *url.URL, raw, text, rel string) {
	if len(s.links) >= s.max {
		return
	}
	u := resolve(base, valid(raw))
	if u == "" {
		return
	}
	text = clip(normalizeSpace(valid(text)), maxFieldBytes)
	if i, ok := s.index[u]; ok {
		if s.links[i].Text == "" {
			s.links[i].Text = text
		}
		return
	}
	s.index[u] = len(s.links)
	s.links = append(s.links, &fairstreampb.Link{Url: u, Text: text, Rel: rel})
}

// addText adds the http(s) URLs found in text.
func (s *linkSet) addText(text string) {
	for _, sp := range findURLs(text) {
		s.add(nil, text[sp.start:sp.end], "", "")
	}
}

// tagSet collects hashtags or mentions, each once (ignoring case, as the
// sources do), in the order first seen, at most maxTags.
type tagSet struct {
	tags []string
	seen map[string]bool
}

func (s *tagSet) add(tag string) {
	tag = clip(strings.TrimSpace(valid(tag)), maxTagBytes)
	if tag == "" || len(s.tags) >= maxTags {
		return
	}
	key := strings.ToLower(tag)
	if s.seen[key] {
		return
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	s.seen[key] = true
	s.tags = append(s.tags, tag)
}

// span is a byte range [start, end) of a string.
type span struct{ start, end int }

// findURLs returns the spans of the http(s) URLs in s: from "http://" or
// "https://" at the start of a word to the next space, quote or angle
// bracket, without the punctuation that ends a sentence or an unbalanced
// closing bracket.
func findURLs(s string) []span {
	var out []span
	for i := 0; i < len(s); {
		j := indexFold(s[i:], "http")
		if j < 0 {
			break
		}
		start := i + j
		i = start + 4
		rest := s[i:]
		switch {
		case hasPrefixFold(rest, "://"):
			i += 3
		case hasPrefixFold(rest, "s://"):
			i += 4
		default:
			continue
		}
		// A URL starts a word, but Chinese and Japanese put no space
		// before one.
		if start > 0 {
			if c := s[start-1]; 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
				continue
			}
		}
		end := i
		for end < len(s) {
			r, size := utf8.DecodeRuneInString(s[end:])
			if r == utf8.RuneError && size <= 1 || !isURLRune(r) {
				break
			}
			end += size
		}
		end = trimURLEnd(s, start, end)
		if end > i {
			out = append(out, span{start, end})
		}
		i = max(end, i)
	}
	return out
}

// isURLRune reports whether r may be part of a URL found in text: not a
// space, control, quote, angle bracket or backtick, nor punctuation of a
// non-Latin script (such as "。" or "،"), which ends a URL in running text.
func isURLRune(r rune) bool {
	switch {
	case unicode.IsSpace(r), unicode.IsControl(r):
		return false
	case r == '<' || r == '>' || r == '"' || r == '`' || r == '\'' || r == '|' || r == '\\' || r == '{' || r == '}':
		return false
	case r > 0x7f && (unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.Is(unicode.Zs, r)):
		return false
	}
	return true
}

// trimURLEnd drops trailing sentence punctuation and markdown markers, and
// closing brackets that open nowhere in the URL.
func trimURLEnd(s string, start, end int) int {
	for end > start {
		c := s[end-1]
		switch c {
		case '.', ',', ':', ';', '!', '?', '*', '_', '~':
			end--
			continue
		case ')', ']':
			open := byte('(')
			if c == ']' {
				open = '['
			}
			u := s[start:end]
			if strings.Count(u, string(open)) < strings.Count(u, string(c)) {
				end--
				continue
			}
		}
		break
	}
	return end
}

// indexFold is strings.Index for an ASCII-lower-case needle, ignoring the
// case of ASCII letters in s.
func indexFold(s, needle string) int {
	for i := 0; i+len(needle) <= len(s); i++ {
		if hasPrefixFold(s[i:], needle) {
			return i
		}
	}
	return -1
}

func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// blankURLs replaces the URLs in s with spaces, so that "#fragment" and
// "/@user" inside them are not taken for tags.
func blankURLs(s string) string {
	spans := findURLs(s)
	if len(spans) == 0 {
		return s
	}
	b := []byte(s)
	for _, sp := range spans {
		for i := sp.start; i < sp.end; i++ {
			b[i] = ' '
		}
	}
	return string(b)
}

func isHashSigil(r rune) bool    { return r == '#' || r == '＃' }
func isMentionSigil(r rune) bool { return r == '@' || r == '＠' }

// isHashtagRune: letters, combining marks, digits and '_' of any script,
// and the zero-width joiners some scripts need.
func isHashtagRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r) || r == '_' || r == '\u200c' || r == '\u200d'
}

// isMentionRune: the characters of X and Telegram usernames.
func isMentionRune(r rune) bool {
	return r < utf8.RuneSelf && (r == '_' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z')
}

// findSigils returns the spans of the words that start with a sigil (such
// as '#') at the start of a word and go on with word runes: "#tag" in
// "a #tag", not in "a#tag", "&#39;" or "##".
func findSigils(s string, sigil, word func(rune) bool) []span {
	var out []span
	prev := ' '
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !sigil(r) || isHashtagRune(prev) || prev == '&' || sigil(prev) || prev == '/' {
			prev = r
			i += size
			continue
		}
		end := i + size
		for end < len(s) {
			c, n := utf8.DecodeRuneInString(s[end:])
			if !word(c) {
				break
			}
			end += n
		}
		if end > i+size {
			out = append(out, span{i, end})
		}
		prev, _ = utf8.DecodeLastRuneInString(s[:end])
		i = end
	}
	return out
}

// textHashtags returns the hashtags in text, without their '#': a hashtag
// must hold a letter, so "#1" is not one.
func textHashtags(text string) []string {
	var out []string
	s := blankURLs(text)
	for _, sp := range findSigils(s, isHashSigil, isHashtagRune) {
		_, size := utf8.DecodeRuneInString(s[sp.start:])
		tag := s[sp.start+size : sp.end]
		if strings.IndexFunc(tag, unicode.IsLetter) >= 0 {
			out = append(out, tag)
		}
	}
	return out
}

// textMentions returns the @usernames in text, without their '@'; an email
// address is not a mention.
func textMentions(text string) []string {
	var out []string
	s := blankURLs(text)
	for _, sp := range findSigils(s, isMentionSigil, isMentionRune) {
		_, size := utf8.DecodeRuneInString(s[sp.start:])
		out = append(out, s[sp.start+size:sp.end])
	}
	return out
}

// mediaKind returns the MediaRef type for a MIME type, or def when the MIME
// type says nothing.
func mediaKind(mimeType, def string) string {
	switch {
	case strings.HasPrefix(mimeType, "image/"):
		return mediaImage
	case strings.HasPrefix(mimeType, "video/"):
		return mediaVideo
	case strings.HasPrefix(mimeType, "audio/"):
		return mediaAudio
	}
	return def
}

// cleanMIME returns a MIME type lower-cased, without parameters, or "" when
// it is not type/subtype.
func cleanMIME(s string) string {
	s, _, _ = strings.Cut(s, ";")
	s = strings.ToLower(strings.TrimSpace(valid(s)))
	t, sub, ok := strings.Cut(s, "/")
	if !ok || t == "" || sub == "" || strings.ContainsAny(s, " \t\"") || len(s) > 127 {
		return ""
	}
	return s
}

// mimeFromURL guesses a media type from the extension of a URL's path (or a
// file name), from a fixed table: mime.TypeByExtension reads the host's
// files, which would make the output depend on the machine.
func mimeFromURL(u string) string {
	p := u
	if pu, err := url.Parse(u); err == nil && pu.Path != "" {
		p = pu.Path
	}
	switch strings.ToLower(path.Ext(p)) {
	case ".mp3":
		return "audio/mpeg"
	case ".m4a":
		return "audio/mp4"
	case ".aac":
		return "audio/aac"
	case ".ogg", ".oga", ".opus":
		return "audio/ogg"
	case ".wav":
		return "audio/wav"
	case ".flac":
		return "audio/flac"
	case ".mp4", ".m4v":
		return "video/mp4"
	case ".mov":
		return "video/quicktime"
	case ".webm":
		return "video/webm"
	case ".pdf":
		return "application/pdf"
	}
	return imageExtMIME(path.Ext(p))
}

// firstParagraph returns text up to its first blank line, cut to
// maxFieldBytes.
func firstParagraph(text string) string {
	p, _, _ := strings.Cut(text, "\n\n")
	return clip(normalizeSpace(p), maxFieldBytes)
}
