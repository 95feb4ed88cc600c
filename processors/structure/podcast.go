package structure

import (
	"fmt"
	"html"
	"net/url"
	"strings"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// PodcastEpisode structures one episode found in a podcast feed (a
// [fairstreampb.RawPodcastEpisode]) from its metadata: the title, the show
// notes as text, the enclosure and artwork as media. It returns (nil, nil)
// for an episode with no title, no description and no media, an error
// wrapping ErrUnprocessable for one without an absolute http(s) feed URL or
// any identity (GUID, enclosure URL or link), and a plain error for an
// invalid cfg.
func PodcastEpisode(cfg Config, src Source, e *fairstreampb.RawPodcastEpisode) (*fairstreampb.Document, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("structure: invalid config: %w", err)
	}
	if e == nil {
		return nil, unprocessable("no episode")
	}
	doc := newDocument("podcast", src)
	feed := parseHTTPURL(valid(e.GetFeedUrl()))
	link := parseHTTPURL(valid(e.GetLink()))
	base := link
	if base == nil {
		base = feed
	}
	links := newLinkSet(cfg.MaxLinks)
	doc.Title = clip(normalizeSpace(html.UnescapeString(valid(e.GetTitle()))), maxFieldBytes)
	text := showNotes(cfg, valid(e.GetDescription()), base, links)
	setText(cfg, doc, text)
	doc.Media = podcastMedia(e, base)
	if empty(doc) {
		return nil, nil
	}
	if feed == nil {
		return nil, unprocessable("no absolute http(s) feed URL (feed_url %q)", valid(e.GetFeedUrl()))
	}
	feedURL := normalizeURL(feed)
	guid := strings.TrimSpace(valid(e.GetGuid()))
	if guid == "" {
		guid = strings.TrimSpace(valid(e.GetEnclosure().GetUrl()))
	}
	if guid == "" {
		guid = strings.TrimSpace(valid(e.GetLink()))
	}
	if guid == "" {
		return nil, unprocessable("episode of %s has no guid, enclosure URL or link", feedURL)
	}
	doc.Id = "podcast:" + hashID(feedURL, guid)
	doc.SourceId = guid
	if link != nil {
		doc.Url = normalizeURL(link)
	}
	// The feed's declared language is the language of the audio; without
	// one, it is detected from the title and show notes.
	doc.Language, doc.LanguageConfidence = messageLanguage(doc.Title+"\n\n"+doc.Text, e.GetLanguage())
	doc.Authors = authorList(clip(normalizeSpace(html.UnescapeString(valid(e.GetAuthor()))), maxFieldBytes))
	doc.Published = timestamp(e.GetPublished())

	links.addText(text)
	links.add(base, valid(e.GetTranscriptUrl()), "", "transcript")
	doc.Links = links.links
	var hashtags, mentions tagSet
	for _, h := range textHashtags(text) {
		hashtags.add(h)
	}
	for _, m := range textMentions(text) {
		mentions.add(m)
	}
	doc.Hashtags, doc.Mentions = hashtags.tags, mentions.tags
	doc.ThreadId = feedURL
	doc.Description = firstParagraph(doc.Text)
	return doc, nil
}

// showNotes returns an episode description as text: HTML (as feeds carry it
// in CDATA) rendered to its visible text, with its links added to links;
// plain text with its entities decoded and its line breaks kept. Its links
// go to ls.
func showNotes(cfg Config, desc string, base *url.URL, ls *linkSet) string {
	if !looksHTML(desc) {
		return normalizePlain(html.UnescapeString(desc), cfg.MaxTextBytes)
	}
	root := parseHTML(desc)
	for _, l := range links(root, base, cfg.MaxLinks) {
		ls.add(nil, l.GetUrl(), l.GetText(), l.GetRel())
	}
	return renderText(root, false, cfg.MaxTextBytes)
}

// looksHTML reports whether s holds a tag: '<' then a letter, '/' or '!'.
func looksHTML(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] != '<' {
			continue
		}
		c := s[i+1]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '/' || c == '!' {
			return true
		}
	}
	return false
}

// podcastMedia returns the enclosure (audio unless its type says video) and
// the episode's artwork.
func podcastMedia(e *fairstreampb.RawPodcastEpisode, base *url.URL) []*fairstreampb.MediaRef {
	var out []*fairstreampb.MediaRef
	if enc := e.GetEnclosure(); enc != nil {
		if u := resolve(base, valid(enc.GetUrl())); u != "" {
			mt := cleanMIME(enc.GetType())
			if mt == "" {
				mt = mimeFromURL(u)
			}
			out = append(out, &fairstreampb.MediaRef{Type: mediaKind(mt, mediaAudio), Url: u, MimeType: mt})
		}
	}
	if u := resolve(base, valid(e.GetImageUrl())); u != "" {
		out = append(out, &fairstreampb.MediaRef{Type: mediaImage, Url: u, MimeType: imageMIME(u)})
	}
	return out
}
