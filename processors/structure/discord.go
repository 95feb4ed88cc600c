package structure

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// DiscordMessage structures one message from the Discord REST API (a
// [fairstreampb.RawDiscordMessage]). It returns (nil, nil) for a message
// with neither text nor attachments (a join notice, a pin), an error
// wrapping ErrUnprocessable for one without a usable channel or message ID,
// and a plain error for an invalid cfg.
func DiscordMessage(cfg Config, src Source, m *fairstreampb.RawDiscordMessage) (*fairstreampb.Document, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("structure: invalid config: %w", err)
	}
	if m == nil {
		return nil, unprocessable("no message")
	}
	doc := newDocument("discord", src)
	users := map[string]string{}
	for _, u := range m.GetMentions() {
		if id, name := u.GetId(), valid(u.GetUsername()); id != "" && name != "" {
			if _, ok := users[id]; !ok {
				users[id] = name
			}
		}
	}
	text, contentMentions := renderDiscord(valid(m.GetContent()), users)
	if strings.TrimSpace(text) == "" {
		// A bot's or webhook's message may carry all it says in embeds.
		var parts []string
		for _, e := range m.GetEmbeds() {
			if s := strings.TrimSpace(strings.Join(authorList(strings.TrimSpace(valid(e.GetTitle())), strings.TrimSpace(valid(e.GetDescription()))), "\n")); s != "" {
				parts = append(parts, s)
			}
		}
		text = strings.Join(parts, "\n\n")
	}
	setText(cfg, doc, text)
	doc.Media = discordMedia(m)
	if empty(doc) {
		return nil, nil
	}
	id, channel := m.GetId(), m.GetChannelId()
	if !validID(id) || !validID(channel) {
		return nil, unprocessable("message id %q in channel %q: not IDs", valid(id), valid(channel))
	}
	doc.Id = "discord:" + channel + "/" + id
	doc.SourceId = id
	if guild := m.GetGuildId(); digits(guild) && digits(channel) && digits(id) {
		doc.Url = "https://discord.com/channels/" + guild + "/" + channel + "/" + id
	}
	doc.Language, doc.LanguageConfidence = messageLanguage(doc.Text, "")
	author := m.GetAuthor()
	doc.Authors = authorList(person(author.GetGlobalName(), author.GetUsername()))
	doc.Published = timestamp(m.GetTimestamp())

	links := newLinkSet(cfg.MaxLinks)
	links.addText(text)
	for _, e := range m.GetEmbeds() {
		links.add(nil, e.GetUrl(), e.GetTitle(), "")
	}
	doc.Links = links.links
	var hashtags, mentions tagSet
	for _, h := range textHashtags(text) {
		hashtags.add(h)
	}
	for _, u := range contentMentions {
		mentions.add(u)
	}
	for _, u := range m.GetMentions() {
		mentions.add(u.GetUsername())
	}
	doc.Hashtags, doc.Mentions = hashtags.tags, mentions.tags
	if ref := m.GetReferencedMessageId(); validID(ref) {
		doc.ParentId = ref
	}
	if th := m.GetThreadId(); validID(th) {
		doc.ThreadId = th
	}
	for _, e := range m.GetEmbeds() {
		if d := clip(normalizeSpace(valid(e.GetDescription())), maxFieldBytes); d != "" {
			doc.Description = d
			break
		}
	}
	return doc, nil
}

// discordMarkup matches the markup of Discord content that renders as
// something else: user mentions (<@id>, <@!id>), custom emoji (<:name:id>,
// <a:name:id>) and links kept from embedding (<https://...>).
var discordMarkup = regexp.MustCompile(`<(@!?|a?:[A-Za-z0-9_~]{1,64}:)([0-9]{1,20})>|<(https?://[^\s<>]+)>`)

// renderDiscord renders content as Discord shows it: a user mention as
// "@username" where the message's mentions name the user (else it is left
// as it is), a custom emoji as ":name:", a link without its angle brackets.
// It also returns the mentioned users in order, by username, or by ID where
// the mentions do not name them.
func renderDiscord(content string, users map[string]string) (string, []string) {
	var mentioned []string
	text := discordMarkup.ReplaceAllStringFunc(content, func(s string) string {
		sm := discordMarkup.FindStringSubmatch(s)
		switch {
		case sm[3] != "":
			return sm[3]
		case strings.HasPrefix(sm[1], "@"):
			if name, ok := users[sm[2]]; ok {
				mentioned = append(mentioned, name)
				return "@" + name
			}
			mentioned = append(mentioned, sm[2])
			return s
		default:
			name := strings.TrimPrefix(sm[1], "a")
			return name
		}
	})
	return text, mentioned
}

// discordMedia maps attachments, by their content type (else their file
// name), and image and video embeds.
func discordMedia(m *fairstreampb.RawDiscordMessage) []*fairstreampb.MediaRef {
	var out []*fairstreampb.MediaRef
	seen := map[string]bool{}
	add := func(ref *fairstreampb.MediaRef) {
		if len(out) >= maxMedia || ref.Url == "" || seen[ref.Url] {
			return
		}
		seen[ref.Url] = true
		out = append(out, ref)
	}
	for _, a := range m.GetAttachments() {
		u := resolve(nil, valid(a.GetUrl()))
		mt := cleanMIME(a.GetContentType())
		if mt == "" {
			mt = mimeFromURL(valid(a.GetFilename()))
		}
		add(&fairstreampb.MediaRef{Type: mediaKind(mt, mediaFile), Url: u, MimeType: mt})
	}
	for _, e := range m.GetEmbeds() {
		var kind string
		switch e.GetType() {
		case "image":
			kind = mediaImage
		case "gifv", "video":
			kind = mediaVideo
		default:
			continue
		}
		u := resolve(nil, valid(e.GetUrl()))
		add(&fairstreampb.MediaRef{Type: kind, Url: u, MimeType: mimeFromURL(u)})
	}
	return out
}
