package telegram

import (
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// The Bot API's JSON, as far as the connector reads it
// (https://core.telegram.org/bots/api#getting-updates).

type apiResponse struct {
	OK          bool     `json:"ok"`
	Result      []update `json:"result"`
	ErrorCode   int      `json:"error_code"`
	Description string   `json:"description"`
}

type update struct {
	UpdateID          int64    `json:"update_id"`
	Message           *message `json:"message"`
	EditedMessage     *message `json:"edited_message"`
	ChannelPost       *message `json:"channel_post"`
	EditedChannelPost *message `json:"edited_channel_post"`
}

// message returns the update's message and whether it is a channel post.
func (u update) message() (*message, bool) {
	switch {
	case u.Message != nil:
		return u.Message, false
	case u.EditedMessage != nil:
		return u.EditedMessage, false
	case u.ChannelPost != nil:
		return u.ChannelPost, true
	case u.EditedChannelPost != nil:
		return u.EditedChannelPost, true
	}
	return nil, false
}

type message struct {
	MessageID       int64    `json:"message_id"`
	MessageThreadID int64    `json:"message_thread_id"`
	From            *user    `json:"from"`
	SenderChat      *chat    `json:"sender_chat"`
	Chat            chat     `json:"chat"`
	Date            int64    `json:"date"`
	EditDate        int64    `json:"edit_date"`
	Text            string   `json:"text"`
	Caption         string   `json:"caption"`
	Entities        []entity `json:"entities"`
	CaptionEntities []entity `json:"caption_entities"`
	ReplyTo         *struct {
		MessageID int64 `json:"message_id"`
	} `json:"reply_to_message"`
	ForwardOrigin *struct {
		Type            string `json:"type"`
		SenderUser      *user  `json:"sender_user"`
		SenderUserName  string `json:"sender_user_name"`
		Chat            *chat  `json:"chat"`
		SenderChat      *chat  `json:"sender_chat"`
		AuthorSignature string `json:"author_signature"`
	} `json:"forward_origin"`
	Photo     []media `json:"photo"`
	Video     *media  `json:"video"`
	Audio     *media  `json:"audio"`
	Voice     *media  `json:"voice"`
	Document  *media  `json:"document"`
	Animation *media  `json:"animation"`
	Sticker   *media  `json:"sticker"`
}

type user struct {
	ID           int64  `json:"id"`
	IsBot        bool   `json:"is_bot"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name"`
	Username     string `json:"username"`
	LanguageCode string `json:"language_code"`
}

type chat struct {
	ID       int64  `json:"id"`
	Type     string `json:"type"`
	Title    string `json:"title"`
	Username string `json:"username"`
}

type entity struct {
	Type   string `json:"type"`
	Offset int32  `json:"offset"`
	Length int32  `json:"length"`
	URL    string `json:"url"`
}

type media struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	MimeType     string `json:"mime_type"`
	FileSize     int64  `json:"file_size"`
	Width        int32  `json:"width"`
	Height       int32  `json:"height"`
	Duration     int32  `json:"duration"`
	FileName     string `json:"file_name"`
}

func (m *message) raw(updateID int64, channel bool) *fairstreampb.RawTelegramMessage {
	out := &fairstreampb.RawTelegramMessage{
		UpdateId:        updateID,
		MessageId:       m.MessageID,
		Chat:            &fairstreampb.TelegramChat{Id: m.Chat.ID, Type: m.Chat.Type, Title: m.Chat.Title, Username: m.Chat.Username},
		Date:            timestamppb.New(time.Unix(m.Date, 0)),
		Text:            m.Text,
		Caption:         m.Caption,
		MessageThreadId: m.MessageThreadID,
		ChannelPost:     channel,
	}
	if m.From != nil {
		out.From = &fairstreampb.TelegramUser{Id: m.From.ID, IsBot: m.From.IsBot, FirstName: m.From.FirstName,
			LastName: m.From.LastName, Username: m.From.Username, LanguageCode: m.From.LanguageCode}
	}
	if m.EditDate != 0 {
		out.EditDate = timestamppb.New(time.Unix(m.EditDate, 0))
	}
	for _, e := range append(append([]entity{}, m.Entities...), m.CaptionEntities...) {
		out.Entities = append(out.Entities, &fairstreampb.TelegramEntity{Type: e.Type, Offset: e.Offset, Length: e.Length, Url: e.URL})
	}
	if m.ReplyTo != nil {
		out.ReplyToMessageId = m.ReplyTo.MessageID
	}
	if o := m.ForwardOrigin; o != nil {
		switch {
		case o.SenderUser != nil:
			out.ForwardFrom = "user:" + itoa(o.SenderUser.ID)
		case o.Chat != nil:
			out.ForwardFrom = "chat:" + itoa(o.Chat.ID)
		case o.SenderChat != nil:
			out.ForwardFrom = "chat:" + itoa(o.SenderChat.ID)
		case o.SenderUserName != "":
			out.ForwardFrom = "hidden:" + o.SenderUserName
		}
	}
	if n := len(m.Photo); n > 0 {
		out.Media = append(out.Media, m.Photo[n-1].raw("photo")) // the largest size
	}
	for _, x := range []struct {
		kind string
		m    *media
	}{{"video", m.Video}, {"audio", m.Audio}, {"voice", m.Voice}, {"document", m.Document}, {"animation", m.Animation}, {"sticker", m.Sticker}} {
		if x.m != nil {
			out.Media = append(out.Media, x.m.raw(x.kind))
		}
	}
	return out
}

func (m media) raw(kind string) *fairstreampb.TelegramMedia {
	return &fairstreampb.TelegramMedia{Type: kind, FileId: m.FileID, FileUniqueId: m.FileUniqueID, MimeType: m.MimeType,
		FileSize: m.FileSize, Width: m.Width, Height: m.Height, Duration: m.Duration, FileName: m.FileName}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
