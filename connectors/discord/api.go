package discord

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// The REST API's JSON, as far as the connector reads it
// (https://discord.com/developers/docs/resources/message#message-object,
// https://discord.com/developers/docs/resources/channel#channel-object).

type apiUser struct {
	ID         string  `json:"id"`
	Username   string  `json:"username"`
	GlobalName *string `json:"global_name"`
	Bot        bool    `json:"bot"`
}

type apiMessage struct {
	ID              string          `json:"id"`
	ChannelID       string          `json:"channel_id"`
	GuildID         string          `json:"guild_id"` // gateway payloads only; REST leaves it out
	Author          apiUser         `json:"author"`
	Content         string          `json:"content"`
	Timestamp       string          `json:"timestamp"`
	EditedTimestamp *string         `json:"edited_timestamp"`
	Mentions        []apiUser       `json:"mentions"`
	Attachments     []apiAttachment `json:"attachments"`
	Embeds          []apiEmbed      `json:"embeds"`
	Reactions       []apiReaction   `json:"reactions"`
	Pinned          bool            `json:"pinned"`
	Type            int32           `json:"type"`
	Reference       *struct {
		MessageID string `json:"message_id"`
		ChannelID string `json:"channel_id"`
	} `json:"message_reference"`
	// Thread is the thread this message started.
	Thread *struct {
		ID string `json:"id"`
	} `json:"thread"`

	id uint64 // ID, parsed
}

type apiAttachment struct {
	ID          string `json:"id"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	URL         string `json:"url"`
	Width       *int32 `json:"width"`
	Height      *int32 `json:"height"`
}

type apiReaction struct {
	Count int32 `json:"count"`
	Emoji struct {
		ID   *string `json:"id"`
		Name *string `json:"name"`
	} `json:"emoji"`
}

type apiEmbed struct {
	Type        string `json:"type"`
	Title       string `json:"title"`
	Description string `json:"description"`
	URL         string `json:"url"`
}

// apiChannel is a channel or a thread.
type apiChannel struct {
	ID             string  `json:"id"`
	Type           int     `json:"type"`
	GuildID        string  `json:"guild_id"`
	ParentID       *string `json:"parent_id"`
	LastMessageID  *string `json:"last_message_id"`
	ThreadMetadata *struct {
		Archived         bool   `json:"archived"`
		ArchiveTimestamp string `json:"archive_timestamp"`
	} `json:"thread_metadata"`
}

// apiThreads is the body of the active and archived thread lists.
type apiThreads struct {
	Threads []apiChannel `json:"threads"`
	HasMore bool         `json:"has_more"`
}

// apiError is Discord's error body: {"message": "Unknown Channel", "code": 10003}.
type apiError struct {
	Message string `json:"message"`
	Code    int    `json:"code"`
}

// Channel types (https://discord.com/developers/docs/resources/channel#channel-object-channel-types).
const (
	typeAnnouncementThread = 10
	typePublicThread       = 11
	typePrivateThread      = 12
	typeForum              = 15
	typeMedia              = 16
)

func isThread(t int) bool {
	return t == typeAnnouncementThread || t == typePublicThread || t == typePrivateThread
}

// hasOwnMessages says whether a channel holds messages itself; forum and
// media channels hold only threads (their posts).
func hasOwnMessages(t int) bool { return t != typeForum && t != typeMedia }

// discordEpoch is the first second of 2015, where snowflake time starts.
const discordEpoch = 1420070400000

// parseSnowflake parses an ID; ok is false for anything but a positive
// decimal uint64.
func parseSnowflake(s string) (uint64, bool) {
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil && n > 0
}

func formatSnowflake(n uint64) string { return strconv.FormatUint(n, 10) }

// snowflakeTime is when a snowflake was made.
func snowflakeTime(n uint64) time.Time {
	return time.UnixMilli(int64(n>>22) + discordEpoch).UTC()
}

// parseTime reads an ISO8601 timestamp as Discord writes them
// ("2017-07-11T17:27:07.299000+00:00").
func parseTime(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// sortOldestFirst orders messages by ID: the API returns them newest first.
func sortOldestFirst(ms []apiMessage) {
	slices.SortFunc(ms, func(a, b apiMessage) int { return cmp.Compare(a.id, b.id) })
}

// emoji names a reaction's emoji: the character of a Unicode emoji, or
// "name:id" for a custom one (the form the reaction routes take), or the ID
// alone when the custom emoji's name is gone (deleted from its guild).
func emoji(r apiReaction) string {
	name, id := "", ""
	if r.Emoji.Name != nil {
		name = *r.Emoji.Name
	}
	if r.Emoji.ID != nil {
		id = *r.Emoji.ID
	}
	switch {
	case id == "":
		return name
	case name == "":
		return id
	}
	return name + ":" + id
}

func (u apiUser) raw() *fairstreampb.DiscordUser {
	out := &fairstreampb.DiscordUser{Id: u.ID, Username: u.Username, Bot: u.Bot}
	if u.GlobalName != nil {
		out.GlobalName = *u.GlobalName
	}
	return out
}

// raw maps a message. guild is the channel's guild (REST messages do not
// carry it); thread is the thread the message was read from, if any.
func (m *apiMessage) raw(guild, thread string) *fairstreampb.RawDiscordMessage {
	out := &fairstreampb.RawDiscordMessage{
		Id:        m.ID,
		ChannelId: m.ChannelID,
		GuildId:   cmp.Or(m.GuildID, guild),
		Author:    m.Author.raw(),
		Content:   m.Content,
		Timestamp: timestamppb.New(m.time()),
		ThreadId:  thread,
		Type:      m.Type,
		Pinned:    m.Pinned,
	}
	if m.Thread != nil && m.Thread.ID != "" {
		out.ThreadId = m.Thread.ID // the message started this thread
	}
	if m.EditedTimestamp != nil {
		if t, ok := parseTime(*m.EditedTimestamp); ok {
			out.EditedTimestamp = timestamppb.New(t)
		}
	}
	for _, u := range m.Mentions {
		out.Mentions = append(out.Mentions, u.raw())
	}
	for _, a := range m.Attachments {
		ra := &fairstreampb.DiscordAttachment{Id: a.ID, Filename: a.Filename, ContentType: a.ContentType, Size: a.Size, Url: a.URL}
		if a.Width != nil {
			ra.Width = *a.Width
		}
		if a.Height != nil {
			ra.Height = *a.Height
		}
		out.Attachments = append(out.Attachments, ra)
	}
	for _, r := range m.Reactions {
		out.Reactions = append(out.Reactions, &fairstreampb.DiscordReaction{Emoji: emoji(r), Count: r.Count})
	}
	for _, e := range m.Embeds {
		out.Embeds = append(out.Embeds, &fairstreampb.DiscordEmbed{Type: e.Type, Title: e.Title, Description: e.Description, Url: e.URL})
	}
	if m.Reference != nil {
		out.ReferencedMessageId = m.Reference.MessageID
	}
	return out
}

// time is when the message was sent: its timestamp, or else the time in
// its ID.
func (m *apiMessage) time() time.Time {
	if t, ok := parseTime(m.Timestamp); ok {
		return t
	}
	return snowflakeTime(m.id)
}
