package annotate

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"

	"github.com/jonreiter/govader"
)

var (
	//go:embed data/stopwords_en.txt
	stopwordsEN string
	//go:embed data/gazetteer.tsv
	gazetteerTSV string
)

// gazEntry is one gazetteer name.
type gazEntry struct {
	typ       string // "person", "organization" or "place"
	canonical string
}

// model is the lexicon annotator's read-only data, built once: the VADER
// lexicon, the stopwords and the gazetteer. Nothing writes to it after
// loadModel, so it is shared by every goroutine.
type model struct {
	vader *govader.SentimentIntensityAnalyzer
	stop  map[string]struct{}
	// exact holds the all-capital names (NASA, U.S.), matched as written;
	// fold holds the others lower-cased, matched where every word is
	// capitalised.
	exact, fold map[string]gazEntry
	// maxWords is the most words of any gazetteer name.
	maxWords int
	given    map[string]struct{}
}

// defaultModel loads the embedded data on first use.
var defaultModel = sync.OnceValue(loadModel)

func loadModel() *model {
	m := &model{
		vader: govader.NewSentimentIntensityAnalyzer(),
		stop:  map[string]struct{}{},
		exact: map[string]gazEntry{},
		fold:  map[string]gazEntry{},
		given: map[string]struct{}{},
	}
	for line := range strings.Lines(stopwordsEN) {
		w := strings.TrimSpace(line)
		if w != "" && !strings.HasPrefix(w, "#") {
			m.stop[w] = struct{}{}
		}
	}
	for line := range strings.Lines(gazetteerTSV) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 2 || f[1] == "" {
			continue
		}
		if f[0] == "given" {
			m.given[f[1]] = struct{}{}
			continue
		}
		e := gazEntry{typ: f[0], canonical: f[1]}
		names := []string{f[1]}
		if len(f) > 2 && f[2] != "" {
			names = append(names, strings.Split(f[2], "|")...)
		}
		for _, n := range names {
			m.maxWords = max(m.maxWords, len(strings.Fields(n)))
			// The first entry for a name wins (Singapore is a country
			// before it is a city).
			if allCaps(n) {
				if _, dup := m.exact[n]; !dup {
					m.exact[n] = e
				}
			} else if k := strings.ToLower(n); m.fold[k] == (gazEntry{}) {
				m.fold[k] = e
			}
		}
	}
	return m
}

// allCaps reports whether s has an upper-case letter and no lower-case one.
func allCaps(s string) bool {
	upper := false
	for _, r := range s {
		if unicode.IsLower(r) {
			return false
		}
		if unicode.IsUpper(r) {
			upper = true
		}
	}
	return upper
}
