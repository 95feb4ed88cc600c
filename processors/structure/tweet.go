package structure

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// Tweet structures one post from the X API v2 (a [fairstreampb.RawTweet]).
// It returns (nil, nil) for a post with neither text nor media, an error
// wrapping ErrUnprocessable for one without a usable ID, and a plain error
// for an invalid cfg.
func Tweet(cfg Config, src Source, t *fairstreampb.RawTweet) (*fairstreampb.Document, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("structure: invalid config: %w", err)
	}
	if t == nil {
		return nil, unprocessable("no tweet")
	}
	doc := newDocument("twitter", src)
	ents := t.GetEntities()
	text := expandTweetText(valid(t.GetText()), ents.GetUrls())
	setText(cfg, doc, text)
	doc.Media = tweetMedia(t.GetMedia())
	if empty(doc) {
		return nil, nil
	}
	id := t.GetId()
	if !validID(id) {
		return nil, unprocessable("tweet id %q is not an ID", valid(id))
	}
	author := t.GetAuthor()
	username := valid(author.GetUsername())
	doc.Id = "twitter:" + id
	doc.SourceId = id
	switch {
	case !digits(id):
	case isXUsername(username):
		doc.Url = "https://x.com/" + username + "/status/" + id
	default:
		doc.Url = "https://x.com/i/status/" + id
	}
	doc.Language, doc.LanguageConfidence = messageLanguage(doc.Text, t.GetLang())
	doc.Authors = authorList(person(author.GetName(), username))
	doc.Published = timestamp(t.GetCreatedAt())

	links := newLinkSet(cfg.MaxLinks)
	var hashtags, mentions tagSet
	if ents != nil {
		for _, u := range byStart(ents.GetUrls(), (*fairstreampb.UrlEntity).GetStart) {
			target := u.GetExpandedUrl()
			if parseHTTPURL(target) == nil {
				target = u.GetUrl()
			}
			links.add(nil, target, u.GetDisplayUrl(), "")
		}
		for _, h := range byStart(ents.GetHashtags(), (*fairstreampb.TextEntity).GetStart) {
			hashtags.add(strings.TrimLeft(h.GetTag(), "#＃"))
		}
		for _, m := range byStart(ents.GetMentions(), (*fairstreampb.TextEntity).GetStart) {
			mentions.add(strings.TrimLeft(m.GetTag(), "@＠"))
		}
	} else {
		links.addText(text)
		for _, h := range textHashtags(text) {
			hashtags.add(h)
		}
		for _, m := range textMentions(text) {
			mentions.add(m)
		}
	}
	doc.Links, doc.Hashtags, doc.Mentions = links.links, hashtags.tags, mentions.tags

	for _, ref := range t.GetReferencedTweets() {
		if ref.GetType() == "replied_to" && validID(ref.GetId()) {
			doc.ParentId = ref.GetId()
			break
		}
	}
	if c := t.GetConversationId(); validID(c) {
		doc.ThreadId = c
	}
	return doc, nil
}

// isXUsername reports whether s can be an X handle in a URL.
func isXUsername(s string) bool {
	if s == "" || len(s) > 50 {
		return false
	}
	for _, r := range s {
		if !isMentionRune(r) {
			return false
		}
	}
	return true
}

// byStart returns the first maxEntities entities in the order of their
// start, stably.
func byStart[E any](ents []E, start func(E) int32) []E {
	out := slices.Clone(ents)
	slices.SortStableFunc(out, func(a, b E) int { return cmp.Compare(start(a), start(b)) })
	return out[:min(len(out), maxEntities)]
}

// expandTweetText replaces the t.co links of a tweet's text by the URLs they
// stand for, where the URL entities give them, and undoes the escaping of
// '&', '<' and '>' that the X API applies to text. An entity is placed by
// its code-point span when the text there is its t.co URL, and otherwise
// where that URL first stands in the text as a whole word, since the API's
// offsets are not reliable around escaped characters.
func expandTweetText(text string, ents []*fairstreampb.UrlEntity) string {
	type repl struct {
		start, end int // byte offsets in text
		with       string
	}
	var reps []repl
	var offsets []int // offsets[i] is the byte offset of code point i
	for i := range text {
		offsets = append(offsets, i)
	}
	offsets = append(offsets, len(text))
	taken := func(start, end int) bool {
		for _, r := range reps {
			if start < r.end && r.start < end {
				return true
			}
		}
		return false
	}
	for _, e := range byStart(ents, (*fairstreampb.UrlEntity).GetStart) {
		short, long := valid(e.GetUrl()), valid(cleanHref(e.GetExpandedUrl()))
		if parseHTTPURL(short) == nil || parseHTTPURL(long) == nil {
			continue
		}
		s, en := int(e.GetStart()), int(e.GetEnd())
		if 0 <= s && s < en && en < len(offsets) {
			bs, be := offsets[s], offsets[en]
			if text[bs:be] == short && !taken(bs, be) {
				reps = append(reps, repl{bs, be, long})
				continue
			}
		}
		for from := 0; from < len(text); {
			i := strings.Index(text[from:], short)
			if i < 0 {
				break
			}
			bs, be := from+i, from+i+len(short)
			from = be
			if r, _ := utf8.DecodeRuneInString(text[be:]); be < len(text) && isURLRune(r) && r != '.' && r != ',' {
				continue // a longer URL of which short is the start
			}
			if !taken(bs, be) {
				reps = append(reps, repl{bs, be, long})
				break
			}
		}
	}
	slices.SortFunc(reps, func(a, b repl) int { return cmp.Compare(a.start, b.start) })
	var b strings.Builder
	last := 0
	for _, r := range reps {
		b.WriteString(unescapeX(text[last:r.start]))
		b.WriteString(r.with)
		last = r.end
	}
	b.WriteString(unescapeX(text[last:]))
	return b.String()
}

var xUnescaper = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">")

// unescapeX undoes the X API's escaping of text: "&amp;", "&lt;", "&gt;".
func unescapeX(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	return xUnescaper.Replace(s)
}

// tweetMedia maps the expanded attachments: photos to images, videos and
// animated GIFs to videos. A video the API gives no URL for is referred to
// by its preview image's URL.
func tweetMedia(ms []*fairstreampb.TwitterMedia) []*fairstreampb.MediaRef {
	var out []*fairstreampb.MediaRef
	for _, m := range ms {
		if len(out) >= maxMedia {
			break
		}
		if m == nil {
			continue
		}
		var kind string
		switch m.GetType() {
		case "photo":
			kind = mediaImage
		case "video", "animated_gif":
			kind = mediaVideo
		default:
			kind = mediaKind(mimeFromURL(m.GetUrl()), mediaImage)
		}
		ref := &fairstreampb.MediaRef{Type: kind, AltText: clip(normalizeSpace(valid(m.GetAltText())), maxFieldBytes)}
		if u := resolve(nil, valid(m.GetUrl())); u != "" {
			ref.Url, ref.MimeType = u, mimeFromURL(u)
		} else if kind == mediaVideo {
			ref.Url = resolve(nil, valid(m.GetPreviewImageUrl()))
		}
		if ref.Url == "" && m.GetMediaKey() == "" {
			continue
		}
		out = append(out, ref)
	}
	return out
}
