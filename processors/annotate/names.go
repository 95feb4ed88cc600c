package annotate

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// token is a word of the text for name finding, in byte offsets.
type token struct {
	start, end int
	// joined: only spaces (no line break, no punctuation) separate it from
	// the previous token, so the two can be one name.
	joined bool
	// capital: it starts with an upper-case letter; caps: it has no
	// lower-case letter.
	capital, caps bool
	// covered: it lies in a pattern entity (a hashtag, URL, ...).
	covered bool
}

// connectors may stand lower-case inside a name ("Bank of England").
var connectors = map[string]bool{"of": true, "de": true, "der": true, "von": true, "van": true, "the": true,
	"and": true, "la": true, "le": true, "di": true, "da": true, "del": true, "du": true, "al": true, "bin": true}

// titles before a capitalised span make it a person, and are left out of it.
var titles = map[string]bool{"Mr": true, "Mr.": true, "Mrs": true, "Mrs.": true, "Ms": true, "Ms.": true, "Dr": true, "Dr.": true,
	"Prof": true, "Prof.": true, "President": true, "Senator": true, "Sen.": true, "Rep.": true, "Governor": true, "Minister": true,
	"Chancellor": true, "King": true, "Queen": true, "Prince": true, "Princess": true, "Sir": true, "Dame": true, "Judge": true,
	"General": true, "Pope": true, "CEO": true, "Mayor": true}

// The last word of a capitalised span that tells its type.
var (
	orgSuffixes = map[string]bool{"Inc": true, "Inc.": true, "Corp": true, "Corp.": true, "Corporation": true, "Ltd": true,
		"Ltd.": true, "LLC": true, "GmbH": true, "AG": true, "SA": true, "PLC": true, "Co.": true, "Company": true, "Group": true,
		"Foundation": true, "University": true, "Institute": true, "Association": true, "Bank": true, "Labs": true,
		"Council": true, "Ministry": true, "Party": true, "Agency": true, "Commission": true, "Committee": true,
		"Network": true, "Protocol": true, "DAO": true, "Club": true, "Society": true, "Department": true, "Press": true,
		"Times": true, "News": true, "Technologies": true, "Systems": true, "Capital": true, "Ventures": true}
	placeSuffixes = map[string]bool{"City": true, "County": true, "Province": true, "River": true, "Lake": true,
		"Mountain": true, "Mountains": true, "Island": true, "Islands": true, "Valley": true, "Bay": true, "Street": true,
		"Avenue": true, "Square": true, "Park": true, "Republic": true, "Kingdom": true, "Coast": true, "Sea": true,
		"Ocean": true, "Airport": true, "Station": true, "Bridge": true, "Beach": true}
)

// nameTokens splits text into words — letters, digits and marks, with
// inner apostrophes, hyphens and dots (O'Brien, Mercedes-Benz, U.S.) — and
// marks those inside pattern spans.
func nameTokens(text string, patterns []span) []token {
	var toks []token
	p := 0 // next pattern span
	prevEnd := -1
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		if !isWordRune(r) {
			i += n
			continue
		}
		start := i
		caps := true
		capital := unicode.IsUpper(r)
		for i < len(text) {
			r, n := utf8.DecodeRuneInString(text[i:])
			if isWordRune(r) {
				if unicode.IsLower(r) {
					caps = false
				}
				i += n
				continue
			}
			if (r == '\'' || r == '’' || r == '-' || r == '.') && i+n < len(text) {
				if r2, _ := utf8.DecodeRuneInString(text[i+n:]); unicode.IsLetter(r2) {
					i += n
					continue
				}
			}
			// U.S. keeps its last dot.
			if r == '.' && strings.IndexByte(text[start:i], '.') >= 0 {
				i += n
			}
			break
		}
		t := token{start: start, end: i, capital: capital, caps: caps}
		if prevEnd >= 0 {
			gap := text[prevEnd:start]
			t.joined = gap != "" && strings.Trim(gap, " ") == "" ||
				gap == ". " && titles[text[toks[len(toks)-1].start:prevEnd]] // Dr. Jane Goodall
		}
		for p < len(patterns) && patterns[p].end <= start {
			p++
		}
		t.covered = p < len(patterns) && patterns[p].start < i
		if t.covered {
			t.joined = false
		}
		toks = append(toks, t)
		prevEnd = i
	}
	return toks
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// findNames finds persons, organisations and places: first gazetteer
// names, the longest at each word, where every word is capitalised (or,
// for an all-capital name, as written); then other spans of two or more
// capitalised words, typed by a title before them, a given name at their
// start, or an organisation or place word at their end. Spans that tell
// nothing of their type are left out.
func findNames(m *model, text string, patterns []span) []span {
	toks := nameTokens(text, patterns)
	var out []span
	word := func(k int) string { return text[toks[k].start:toks[k].end] }
	for i := 0; i < len(toks); {
		if toks[i].covered || !toks[i].capital {
			i++
			continue
		}
		// A run of capitalised words.
		j := i + 1
		for j < len(toks) && toks[j].joined && !toks[j].covered {
			w := word(j)
			if toks[j].capital && !(toks[j].caps && len(w) > 4) {
				j++
				continue
			}
			if connectors[w] && j+1 < len(toks) && toks[j+1].joined && toks[j+1].capital {
				j++
				continue
			}
			break
		}
		// Gazetteer: the longest name starting here, unless it is followed
		// by one organisation or place word ("Kansas City", "Texas
		// University"), which makes the name with it the entity.
		if n, e := gazetteerAt(m, text, toks, i); n > 0 && !(j == i+n+1 && toks[j-1].capital && (orgSuffixes[word(j-1)] || placeSuffixes[word(j-1)])) {
			out = append(out, span{start: toks[i].start, end: toks[i+n-1].end, typ: e.typ, value: e.canonical, method: MethodGazetteer})
			i += n
			continue
		}
		// A gazetteer name inside the run ends it.
		for k := i + 1; k < j; k++ {
			if n, _ := gazetteerAt(m, text, toks, k); n > 0 {
				j = k
				break
			}
		}
		s, e := i, j
		typ := ""
		for s < e {
			w := word(s)
			if titles[w] {
				typ = TypePerson
				s++
				continue
			}
			if _, stop := m.stop[strings.ToLower(w)]; stop {
				s++
				continue
			}
			break
		}
		for e > s && connectors[word(e-1)] {
			e--
		}
		if e-s >= 2 || (e-s == 1 && typ == TypePerson) {
			if typ == "" {
				if _, ok := m.given[word(s)]; ok {
					typ = TypePerson
				} else if orgSuffixes[word(e-1)] {
					typ = TypeOrganization
				} else if placeSuffixes[word(e-1)] {
					typ = TypePlace
				}
			}
			if typ != "" && (toks[s].capital && !allShouted(text, toks[s:e])) {
				out = append(out, span{start: toks[s].start, end: toks[e-1].end, typ: typ, value: normalSpaces(text[toks[s].start:toks[e-1].end]), method: MethodHeuristic})
			}
		}
		i = j
	}
	return out
}

// gazetteerAt returns how many tokens from i make the longest gazetteer
// name, and its entry; 0 when none.
func gazetteerAt(m *model, text string, toks []token, i int) (int, gazEntry) {
	if toks[i].covered || !toks[i].capital {
		return 0, gazEntry{}
	}
	var buf [64]byte
	for n := min(m.maxWords, len(toks)-i); n >= 1; n-- {
		last := i + n - 1
		ok := true
		for k := i + 1; k <= last; k++ {
			if !toks[k].joined || toks[k].covered {
				ok = false
				break
			}
		}
		if !ok || !toks[last].capital {
			continue
		}
		// The key: the words joined by single spaces.
		key := buf[:0]
		for k := i; k <= last; k++ {
			if k > i {
				key = append(key, ' ')
			}
			key = append(key, text[toks[k].start:toks[k].end]...)
		}
		if e, ok := m.exact[string(key)]; ok {
			return n, e
		}
		allCapital := true
		for k := i; k <= last; k++ {
			if !toks[k].capital && !connectors[text[toks[k].start:toks[k].end]] {
				allCapital = false
				break
			}
		}
		if !allCapital {
			continue
		}
		if e, ok := m.fold[lowerKey(key)]; ok {
			// An all-capital word of the text matches a mixed-case
			// name only if it is short ("IMF" is not "Imf"); "BERLIN" in
			// shouting is left out.
			if n == 1 && toks[i].caps && len(key) > 1 {
				continue
			}
			return n, e
		}
	}
	return 0, gazEntry{}
}

// lowerKey lower-cases key in place when it is ASCII, and through
// strings.ToLower otherwise.
func lowerKey(key []byte) string {
	for k, c := range key {
		if c >= utf8.RuneSelf {
			return strings.ToLower(string(key))
		}
		if c >= 'A' && c <= 'Z' {
			key[k] = c + 'a' - 'A'
		}
	}
	return string(key)
}

// allShouted reports whether every token is all capitals of two or more
// letters: a shouted phrase, not a name.
func allShouted(text string, toks []token) bool {
	for _, t := range toks {
		if !t.caps || t.end-t.start < 2 {
			return false
		}
	}
	return true
}

// normalSpaces collapses runs of spaces to one.
func normalSpaces(s string) string {
	if !strings.Contains(s, "  ") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}
