package podcast

import (
	"bytes"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mmcdole/gofeed"
	ext "github.com/mmcdole/gofeed/extensions"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// episode is one feed item, mapped.
type episode struct {
	// key is the item's identity in the cursor: "guid:<GUID>", or, for a
	// feed without GUIDs, "enclosure:<URL>", "link:<URL>", then
	// "title:<title>|<published>".
	key string
	raw *fairstreampb.RawPodcastEpisode
	// duration is itunes:duration; zero when the feed does not say.
	duration  time.Duration
	published time.Time
}

// parseFeed parses an RSS, Atom (or JSON Feed) document.
func parseFeed(body []byte) (*gofeed.Feed, error) {
	p := gofeed.NewParser()
	// An image is the episode's or show's artwork, never the first <img>
	// of the show notes.
	p.RSSTranslator = &gofeed.DefaultRSSTranslator{DisableContentImageScan: true}
	return p.Parse(bytes.NewReader(body))
}

// episodes maps a feed's items, oldest first (items without a date keep
// their place before dated ones), each identity once.
func episodes(feedURL string, f *gofeed.Feed) []*episode {
	base, _ := url.Parse(feedURL)
	var out []*episode
	seen := map[string]bool{}
	for _, it := range f.Items {
		if it == nil {
			continue
		}
		ep := mapItem(feedURL, base, f, it)
		if seen[ep.key] {
			continue
		}
		seen[ep.key] = true
		out = append(out, ep)
	}
	// Feeds list newest first; emit oldest first.
	slices.Reverse(out)
	slices.SortStableFunc(out, func(a, b *episode) int { return a.published.Compare(b.published) })
	return out
}

func mapItem(feedURL string, base *url.URL, f *gofeed.Feed, it *gofeed.Item) *episode {
	raw := &fairstreampb.RawPodcastEpisode{
		FeedUrl:     feedURL,
		FeedTitle:   strings.TrimSpace(f.Title),
		Title:       strings.TrimSpace(it.Title),
		Description: strings.TrimSpace(it.Description),
		Link:        resolve(base, it.Link),
		Language:    strings.TrimSpace(f.Language),
	}
	if raw.Description == "" {
		raw.Description = strings.TrimSpace(it.Content)
	}
	ep := &episode{raw: raw}
	switch {
	case it.PublishedParsed != nil:
		ep.published = it.PublishedParsed.UTC()
	case it.UpdatedParsed != nil:
		ep.published = it.UpdatedParsed.UTC()
	}
	if !ep.published.IsZero() {
		raw.Published = timestamppb.New(ep.published)
	}
	if enc := pickEnclosure(it.Enclosures); enc != nil {
		n, _ := strconv.ParseInt(strings.TrimSpace(enc.Length), 10, 64)
		raw.Enclosure = &fairstreampb.PodcastEnclosure{Url: resolve(base, enc.URL), Type: strings.TrimSpace(enc.Type), Length: max(n, 0)}
	}

	fi, ii := f.ITunesExt, it.ITunesExt
	if fi == nil {
		fi = &ext.ITunesFeedExtension{}
	}
	if ii == nil {
		ii = &ext.ITunesItemExtension{}
	}
	if d, ok := parseDuration(ii.Duration); ok {
		ep.duration = d
		raw.DurationSeconds = int64(d / time.Second)
	}
	raw.ImageUrl = resolve(base, firstNonEmpty(ii.Image, extText(it.Extensions, "itunes", "image"), imageURL(it.Image),
		fi.Image, extText(f.Extensions, "itunes", "image"), imageURL(f.Image)))
	raw.Author = firstNonEmpty(ii.Author, personName(it.Authors), fi.Author, personName(f.Authors))
	raw.Season = int32(atoi(firstNonEmpty(ii.Season, podcastExt(it.Extensions, "season").Value)))
	raw.Episode = int32(atoi(firstNonEmpty(ii.Episode, podcastExt(it.Extensions, "episode").Value)))
	raw.Explicit = explicit(firstNonEmpty(ii.Explicit, fi.Explicit))
	raw.TranscriptUrl = resolve(base, transcript(it.Extensions))
	raw.Categories = categories(it, fi)

	switch guid := strings.TrimSpace(it.GUID); {
	case guid != "":
		ep.key, raw.Guid = "guid:"+guid, guid
	case raw.GetEnclosure().GetUrl() != "":
		ep.key, raw.Guid = "enclosure:"+raw.GetEnclosure().GetUrl(), raw.GetEnclosure().GetUrl()
	case raw.Link != "":
		ep.key, raw.Guid = "link:"+raw.Link, raw.Link
	default:
		id := raw.Title + "|" + strings.TrimSpace(it.Published)
		ep.key, raw.Guid = "title:"+id, id
	}
	return ep
}

// pickEnclosure prefers the first audio enclosure, then the first one.
func pickEnclosure(encs []*gofeed.Enclosure) *gofeed.Enclosure {
	var first *gofeed.Enclosure
	for _, e := range encs {
		if e == nil || strings.TrimSpace(e.URL) == "" {
			continue
		}
		if first == nil {
			first = e
		}
		if strings.HasPrefix(mediaType(e.Type), "audio/") {
			return e
		}
	}
	return first
}

// parseDuration reads itunes:duration: seconds ("3723", "3723.5") or
// [[HH:]MM:]SS ("1:02:03", "62:03").
func parseDuration(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	parts := strings.Split(s, ":")
	if len(parts) > 3 {
		return 0, false
	}
	var total float64
	for i, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || v < 0 || (i > 0 && v >= 60) {
			return 0, false
		}
		total = total*60 + v
	}
	return time.Duration(total * float64(time.Second)), true
}

// explicit reads itunes:explicit ("true", "yes", "explicit"; "false",
// "no", "clean").
func explicit(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "explicit":
		return true
	}
	return false
}

// podcastNamespace says whether an extension prefix is the Podcasting 2.0
// namespace: gofeed keys extensions by the prefix the feed declares,
// "podcast" by convention, or by the URI when none is declared.
func podcastNamespace(prefix string) bool {
	return prefix == "podcast" || strings.Contains(prefix, "podcastindex.org/namespace") || strings.Contains(prefix, "Podcastindex-org/podcast-namespace")
}

func podcastElems(exts ext.Extensions, name string) []ext.Extension {
	var out []ext.Extension
	for prefix, m := range exts {
		if podcastNamespace(prefix) {
			out = append(out, m[name]...)
		}
	}
	return out
}

func podcastExt(exts ext.Extensions, name string) ext.Extension {
	if es := podcastElems(exts, name); len(es) > 0 {
		return es[0]
	}
	return ext.Extension{}
}

// transcriptPreference ranks podcast:transcript types: timed formats
// first, then plain text, then HTML.
var transcriptPreference = []string{"application/json", "text/vtt", "application/x-subrip", "application/srt", "text/srt", "text/plain", "text/html"}

// transcript picks the item's podcast:transcript link, preferring a timed
// format when there are several.
func transcript(exts ext.Extensions) string {
	best, rank := "", len(transcriptPreference)+1
	for _, e := range podcastElems(exts, "transcript") {
		u := strings.TrimSpace(e.Attrs["url"])
		if u == "" {
			continue
		}
		r := slices.Index(transcriptPreference, mediaType(e.Attrs["type"]))
		if r < 0 {
			r = len(transcriptPreference)
		}
		if r < rank {
			best, rank = u, r
		}
	}
	return best
}

// categories lists the item's categories (with itunes:keywords, as gofeed
// merges them), then the show's iTunes categories and subcategories; each
// once.
func categories(it *gofeed.Item, fi *ext.ITunesFeedExtension) []string {
	var out []string
	add := func(c string) {
		if c = strings.TrimSpace(c); c != "" && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	for _, c := range it.Categories {
		add(c)
	}
	for _, c := range fi.Categories {
		if c == nil {
			continue
		}
		add(c.Text)
		if c.Subcategory != nil {
			add(c.Subcategory.Text)
		}
	}
	return out
}

// extText reads an extension element's text, or its href attribute
// (itunes:image is <itunes:image href="…"/>, sometimes written as text).
func extText(exts ext.Extensions, prefix, name string) string {
	for _, e := range exts[prefix][name] {
		if v := strings.TrimSpace(e.Attrs["href"]); v != "" {
			return v
		}
		if v := strings.TrimSpace(e.Value); v != "" {
			return v
		}
	}
	return ""
}

func imageURL(i *gofeed.Image) string {
	if i == nil {
		return ""
	}
	return i.URL
}

func personName(ps []*gofeed.Person) string {
	for _, p := range ps {
		if p == nil {
			continue
		}
		if n := strings.TrimSpace(p.Name); n != "" {
			return n
		}
		if e := strings.TrimSpace(p.Email); e != "" {
			return e
		}
	}
	return ""
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

// resolve makes a feed's relative URL absolute.
func resolve(base *url.URL, ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" || base == nil {
		return ref
	}
	u, err := url.Parse(ref)
	if err != nil || u.IsAbs() {
		return ref
	}
	return base.ResolveReference(u).String()
}

func atoi(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
