package structure

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// TelegramMessage structures one message or channel post from the Telegram
// Bot API (a [fairstreampb.RawTelegramMessage]). It returns (nil, nil) for
// a message with neither text nor media (a service message), an error
// wrapping ErrUnprocessable for one without a chat or message ID, and a
// plain error for an invalid cfg.
func TelegramMessage(cfg Config, src Source, m *fairstreampb.RawTelegramMessage) (*fairstreampb.Document, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("structure: invalid config: %w", err)
	}
	if m == nil {
		return nil, unprocessable("no message")
	}
	doc := newDocument("telegram", src)
	// A message has text, or media with a caption; the entities are those
	// of whichever it has.
	text := valid(m.GetText())
	if text == "" {
		text = valid(m.GetCaption())
	}
	setText(cfg, doc, text)
	doc.Media = telegramMedia(m.GetMedia())
	if empty(doc) {
		return nil, nil
	}
	chat := m.GetChat()
	if chat.GetId() == 0 || m.GetMessageId() <= 0 {
		return nil, unprocessable("message %d in chat %d: not IDs", m.GetMessageId(), chat.GetId())
	}
	chatID := strconv.FormatInt(chat.GetId(), 10)
	doc.SourceId = chatID + "/" + strconv.FormatInt(m.GetMessageId(), 10)
	doc.Id = "telegram:" + doc.SourceId
	if u := valid(chat.GetUsername()); isTelegramUsername(u) {
		doc.Url = "https://t.me/" + u + "/" + strconv.FormatInt(m.GetMessageId(), 10)
	}
	// The sender's language_code is the language of their app, not of the
	// message: the language is detected from the text.
	doc.Language, doc.LanguageConfidence = messageLanguage(doc.Text, "")
	if from := m.GetFrom(); from != nil && !(from.GetIsBot() && from.GetUsername() == "GroupAnonymousBot") {
		name := strings.TrimSpace(valid(from.GetFirstName()) + " " + valid(from.GetLastName()))
		doc.Authors = authorList(person(name, from.GetUsername()))
	} else {
		// A channel post, or an anonymous group admin, speaks for the chat.
		doc.Authors = authorList(person(chat.GetTitle(), chat.GetUsername()))
	}
	doc.Published = timestamp(m.GetDate())

	links := newLinkSet(cfg.MaxLinks)
	var hashtags, mentions tagSet
	if ents := m.GetEntities(); len(ents) > 0 {
		units := utf16.Encode([]rune(text))
		for _, e := range byStart(ents, (*fairstreampb.TelegramEntity).GetOffset) {
			switch e.GetType() {
			case "hashtag", "mention", "url", "text_link":
			default:
				continue
			}
			if e.GetLength() > maxSpanUnits {
				continue
			}
			part, ok := utf16Span(units, e.GetOffset(), e.GetLength())
			if !ok {
				continue
			}
			switch e.GetType() {
			case "hashtag":
				hashtags.add(strings.TrimLeft(part, "#＃"))
			case "mention":
				mentions.add(strings.TrimLeft(part, "@＠"))
			case "url":
				u := strings.TrimSpace(part)
				if !hasPrefixFold(u, "http://") && !hasPrefixFold(u, "https://") {
					u = "http://" + u // as Telegram opens a link without a scheme
				}
				links.add(nil, u, "", "")
			case "text_link":
				links.add(nil, e.GetUrl(), part, "")
			}
		}
	} else {
		links.addText(text)
		for _, h := range textHashtags(text) {
			hashtags.add(h)
		}
		for _, u := range textMentions(text) {
			mentions.add(u)
		}
	}
	doc.Links, doc.Hashtags, doc.Mentions = links.links, hashtags.tags, mentions.tags
	if r := m.GetReplyToMessageId(); r > 0 {
		doc.ParentId = chatID + "/" + strconv.FormatInt(r, 10)
	}
	if th := m.GetMessageThreadId(); th > 0 {
		doc.ThreadId = chatID + "/" + strconv.FormatInt(th, 10)
	}
	return doc, nil
}

// utf16Span returns the text of units[offset:offset+length], the span of a
// Bot API entity; ok is false when the span is not inside the text. A span
// that cuts a surrogate pair gives U+FFFD for the half it holds.
func utf16Span(units []uint16, offset, length int32) (string, bool) {
	start, end := int64(offset), int64(offset)+int64(length)
	if start < 0 || length <= 0 || end > int64(len(units)) {
		return "", false
	}
	return string(utf16.Decode(units[start:end])), true
}

// isTelegramUsername reports whether s is a public chat's username, which
// makes a t.me link: 4 to 32 letters, digits and underscores, from a letter.
func isTelegramUsername(s string) bool {
	if len(s) < 4 || len(s) > 32 || !('a' <= s[0] && s[0] <= 'z' || 'A' <= s[0] && s[0] <= 'Z') {
		return false
	}
	for _, r := range s {
		if !isMentionRune(r) {
			return false
		}
	}
	return true
}

// telegramMedia maps the message's files; the Bot API gives a file ID, not
// a URL (downloading needs the bot's token), so the file ID stands in the
// MediaRef's url.
func telegramMedia(ms []*fairstreampb.TelegramMedia) []*fairstreampb.MediaRef {
	var out []*fairstreampb.MediaRef
	for _, m := range ms {
		if len(out) >= maxMedia {
			break
		}
		if m == nil || m.GetFileId() == "" && m.GetFileUniqueId() == "" {
			continue
		}
		mt := cleanMIME(m.GetMimeType())
		if mt == "" && m.GetFileName() != "" {
			mt = mimeFromURL(valid(m.GetFileName()))
		}
		var kind string
		switch m.GetType() {
		case "photo":
			kind = mediaImage
			if mt == "" {
				mt = "image/jpeg" // the Bot API serves every photo size as JPEG
			}
		case "sticker":
			kind = mediaKind(mt, mediaImage) // a video sticker is video/webm
		case "video", "animation", "video_note":
			kind = mediaVideo
		case "audio", "voice":
			kind = mediaAudio
		default:
			kind = mediaKind(mt, mediaFile) // a document: a file, unless it is an image, video or audio file
		}
		id := m.GetFileId()
		if id == "" {
			id = m.GetFileUniqueId()
		}
		out = append(out, &fairstreampb.MediaRef{Type: kind, Url: clip(valid(id), maxFieldBytes), MimeType: mt})
	}
	return out
}
