package discord

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

var _ connectors.Refetcher = (*Source)(nil)

// Refetch implements connectors.Refetcher for raw.discord/v1 records: it
// reads the message again (GET /channels/{channel_id}/messages/{id}) and
// its channel (GET /channels/{channel_id}, for the guild and whether the
// channel is a thread, which REST messages do not carry), and maps it as
// Fetch does. Nothing is carried over from the record.
//
// Errors: a 404 (Unknown Message 10008, Unknown Channel 10003) or an ID
// that is not a snowflake wraps connectors.ErrNotFound; a 5xx, a 429 the
// client gave up on, a network error or an unusable answer wraps
// connectors.ErrSourceFault; a refused token (401), a channel the bot may
// not read (403 Missing Access, Missing Permissions) and records of other
// types wrap neither.
func (s *Source) Refetch(ctx context.Context, env *schemas.Envelope) (proto.Message, error) {
	var rec fairstreampb.RawDiscordMessage
	if err := connectors.DecodeRecord(env, &rec); err != nil {
		return nil, fmt.Errorf("discord: refetch: %w", err)
	}
	ch, okc := parseSnowflake(rec.GetChannelId())
	id, okm := parseSnowflake(rec.GetId())
	if !okc || !okm {
		return nil, fmt.Errorf("discord: refetch: %w: channel %q, message %q: not snowflakes", connectors.ErrNotFound, rec.GetChannelId(), rec.GetId())
	}
	channel, msgID := formatSnowflake(ch), formatSnowflake(id)
	var m apiMessage
	resp, err := s.get(ctx, "/channels/"+channel+"/messages/"+msgID, nil, &m)
	if err != nil {
		return nil, fmt.Errorf("discord: refetch message %s: %w", msgID, connectors.ClassifyRefetch(resp, err))
	}
	if m.ID != msgID {
		return nil, fmt.Errorf("discord: refetch message %s: %w", msgID,
			connectors.ClassifyRefetch(resp, unusable(resp, fmt.Errorf("the answer is message %q", m.ID))))
	}
	m.id = id
	var c apiChannel
	if resp, err := s.get(ctx, "/channels/"+channel, nil, &c); err != nil {
		return nil, fmt.Errorf("discord: refetch message %s: channel %s: %w", msgID, channel, connectors.ClassifyRefetch(resp, err))
	}
	thread := ""
	if isThread(c.Type) {
		thread = channel
	}
	evs := events([]apiMessage{m}, c.GuildID, thread, channel)
	return evs[0].Payload, nil
}
