package annotate

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Entity types.
const (
	TypeHashtag      = "hashtag"
	TypeMention      = "mention"
	TypeCashtag      = "cashtag"
	TypeURL          = "url"
	TypeEmail        = "email"
	TypePerson       = "person"
	TypeOrganization = "organization"
	TypePlace        = "place"
)

// Entity methods.
const (
	MethodPattern   = "pattern"
	MethodGazetteer = "gazetteer"
	MethodHeuristic = "heuristic"
)

// span is an entity found in the text, in byte offsets.
type span struct {
	start, end int
	typ, value string
	method     string
}

// findPatterns finds URLs, emails, hashtags, mentions and cashtags, which
// never overlap: a tag inside a URL or an email is part of it.
func findPatterns(text string) []span {
	var out []span
	// A cheap test first: most of the text has none of the sigils.
	if !strings.ContainsAny(text, "#@$:.") {
		return nil
	}
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case (c == 'h' || c == 'H' || c == 'w' || c == 'W') && wordStart(text, i):
			if end := urlEnd(text, i); end > i {
				out = append(out, span{start: i, end: end, typ: TypeURL, value: text[i:end], method: MethodPattern})
				i = end
				continue
			}
		case c == '@':
			if s, ok := email(text, i); ok {
				// The local part was skipped over as plain text: drop a
				// tag found inside it.
				for len(out) > 0 && out[len(out)-1].end > s.start {
					out = out[:len(out)-1]
				}
				out = append(out, s)
				i = s.end
				continue
			}
			if wordStart(text, i) {
				j := i + 1
				for j < len(text) && j-i <= 15 && isHandleByte(text[j]) {
					j++
				}
				if j > i+1 && (j >= len(text) || !isHandleByte(text[j])) {
					out = append(out, span{start: i, end: j, typ: TypeMention, value: strings.ToLower(text[i+1 : j]), method: MethodPattern})
					i = j
					continue
				}
			}
		case c == '#' && wordStart(text, i):
			j, letter := i+1, false
			for j < len(text) {
				r, n := utf8.DecodeRuneInString(text[j:])
				if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) {
					break
				}
				letter = letter || unicode.IsLetter(r)
				j += n
			}
			if letter {
				out = append(out, span{start: i, end: j, typ: TypeHashtag, value: strings.ToLower(text[i+1 : j]), method: MethodPattern})
				i = j
				continue
			}
		case c == '$' && wordStart(text, i):
			if end := cashtagEnd(text, i); end > i {
				out = append(out, span{start: i, end: end, typ: TypeCashtag, value: strings.ToLower(text[i+1 : end]), method: MethodPattern})
				i = end
				continue
			}
		}
		_, n := utf8.DecodeRuneInString(text[i:])
		i += n
	}
	return out
}

// wordStart reports whether byte i starts a word: the text's start, or
// after a character that is not a letter, digit, mark or one of _ & / - .
func wordStart(text string, i int) bool {
	if i == 0 {
		return true
	}
	r, _ := utf8.DecodeLastRuneInString(text[:i])
	return !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || strings.ContainsRune("_&/-.@#$", r))
}

func isHandleByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// urlEnd returns the end of an http(s):// or www. URL starting at i, or i.
// A URL runs to the next space or character that cannot be in one, less
// trailing punctuation (and a closing parenthesis it does not open).
func urlEnd(text string, i int) int {
	rest := text[i:]
	var j int
	switch {
	case hasPrefixFold(rest, "https://"):
		j = i + len("https://")
	case hasPrefixFold(rest, "http://"):
		j = i + len("http://")
	case hasPrefixFold(rest, "www."):
		j = i + len("www.")
	default:
		return i
	}
	host := j
	for j < len(text) {
		r, n := utf8.DecodeRuneInString(text[j:])
		if unicode.IsSpace(r) || r == '<' || r == '>' || r == '"' || r == '`' || r == '{' || r == '}' || r == '|' || r == '\\' || r == '^' || r == utf8.RuneError || !unicode.IsPrint(r) {
			break
		}
		j += n
	}
	for j > host {
		c := text[j-1]
		if strings.IndexByte(".,;:!?'*", c) >= 0 {
			j--
			continue
		}
		if c == ')' && strings.Count(text[i:j], "(") < strings.Count(text[i:j], ")") {
			j--
			continue
		}
		break
	}
	if j == host || !strings.ContainsAny(text[host:j], ".:") && !strings.HasPrefix(strings.ToLower(text[host:j]), "localhost") {
		return i
	}
	return j
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// email returns the email address whose '@' is at byte at: a local part of
// ASCII letters, digits and . _ % + -, and a domain of labels of ASCII
// letters, digits and - ending in a top-level domain of two or more letters.
func email(text string, at int) (span, bool) {
	start := at
	for start > 0 && isLocalByte(text[start-1]) {
		start--
	}
	for start < at && text[start] == '.' {
		start++
	}
	if start == at {
		return span{}, false
	}
	end, lastDot := at+1, -1
	for end < len(text) {
		c := text[end]
		if c == '.' {
			if end+1 >= len(text) || !isDomainByte(text[end+1]) || text[end-1] == '.' {
				break
			}
			lastDot = end
		} else if !isDomainByte(c) {
			break
		}
		end++
	}
	if lastDot < 0 || lastDot == at+1 {
		return span{}, false
	}
	tld := text[lastDot+1 : end]
	if len(tld) < 2 {
		return span{}, false
	}
	for k := 0; k < len(tld); k++ {
		if !(tld[k] >= 'a' && tld[k] <= 'z' || tld[k] >= 'A' && tld[k] <= 'Z') {
			return span{}, false
		}
	}
	return span{start: start, end: end, typ: TypeEmail, value: strings.ToLower(text[start:end]), method: MethodPattern}, true
}

func isLocalByte(c byte) bool {
	return isHandleByte(c) || c == '.' || c == '%' || c == '+' || c == '-'
}

func isDomainByte(c byte) bool { return isHandleByte(c) && c != '_' || c == '-' }

// cashtagEnd returns the end of a cashtag at i ('$' then one to six ASCII
// letters, optionally "." or "_" and one or two more, as in $BRK.B), or i:
// "$5" and "$ETH2" are not cashtags.
func cashtagEnd(text string, i int) int {
	j := i + 1
	for j < len(text) && j-i <= 6 && isASCIILetter(text[j]) {
		j++
	}
	if j == i+1 {
		return i
	}
	if j+1 < len(text) && (text[j] == '.' || text[j] == '_') && isASCIILetter(text[j+1]) {
		k := j + 1
		for k < len(text) && k-j <= 2 && isASCIILetter(text[k]) {
			k++
		}
		if k >= len(text) || !isWordByte(text[k]) {
			return k
		}
	}
	if j < len(text) && isWordByte(text[j]) {
		return i
	}
	return j
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// isWordByte reports whether c continues a word: an ASCII letter, digit or
// '_', or any byte of a non-ASCII character (conservatively).
func isWordByte(c byte) bool { return isHandleByte(c) || c >= utf8.RuneSelf }
