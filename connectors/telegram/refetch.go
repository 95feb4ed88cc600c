package telegram

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

var _ connectors.Refetcher = (*Source)(nil)

// Refetch implements connectors.Refetcher, but cannot re-fetch: the Bot API
// has no method that returns one message by its chat and message ID (a bot
// sees a message once, in getUpdates, and getUpdates confirms what it
// returned), so raw.telegram/v1 records stay unverifiable. It sends no
// request and returns an error wrapping connectors.ErrNotRefetchable, never
// ErrNotFound or ErrSourceFault: the validator counts such a record neither
// for nor against its worker. A record of another type is refused the same
// way.
func (s *Source) Refetch(_ context.Context, env *schemas.Envelope) (proto.Message, error) {
	var rec fairstreampb.RawTelegramMessage
	if err := connectors.DecodeRecord(env, &rec); err != nil {
		return nil, fmt.Errorf("telegram: refetch: %w", err)
	}
	return nil, fmt.Errorf("telegram: refetch message %d of chat %d: %w: the Bot API cannot fetch one message by ID; records stay unverifiable",
		rec.GetMessageId(), rec.GetChat().GetId(), connectors.ErrNotRefetchable)
}
