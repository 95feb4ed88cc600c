package streams

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Position is where a Consumer starts reading.
type Position struct {
	latest bool
	at     time.Time
}

// Earliest starts at the oldest record kept.
var Earliest = Position{}

// Latest starts after the newest record.
var Latest = Position{latest: true}

// At starts at the first record written at or after t.
func At(t time.Time) Position { return Position{at: t} }

// ParsePosition parses "earliest", "latest" or an RFC 3339 time.
func ParsePosition(s string) (Position, error) {
	switch strings.ToLower(s) {
	case "earliest", "":
		return Earliest, nil
	case "latest":
		return Latest, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return Position{}, fmt.Errorf("position %q: want earliest, latest or an RFC 3339 time such as 2026-01-02T15:04:05Z", s)
	}
	return At(t), nil
}

func (p Position) offset() kgo.Offset {
	switch {
	case p.latest:
		return kgo.NewOffset().AtEnd()
	case !p.at.IsZero():
		return kgo.NewOffset().AfterMilli(p.at.UnixMilli())
	}
	return kgo.NewOffset().AtStart()
}

// ConsumerOptions say what a Consumer reads and how.
type ConsumerOptions struct {
	Topics []string
	From   Position
	// Group, if set, consumes as that consumer group, committing what
	// Poll returned; From applies only where the group has no offset.
	Group string
	// ReadUncommitted also returns records of open and aborted
	// transactions; the default reads only committed records.
	ReadUncommitted bool
}

// Consumer reads records of catalog topics.
type Consumer struct {
	cl   *kgo.Client
	once sync.Once
}

// NewConsumer returns a consumer; an unknown topic is an error naming the
// topics the catalog declares.
func NewConsumer(cfg Config, role string, co ConsumerOptions, opts ...Option) (*Consumer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(co.Topics) == 0 {
		return nil, errors.New("consumer: no topics")
	}
	o := newOptions(opts)
	for _, t := range co.Topics {
		if _, err := o.catalog.Lookup(t); err != nil {
			return nil, err
		}
	}
	kopts, err := cfg.clientOpts(role, o)
	if err != nil {
		return nil, err
	}
	iso := kgo.ReadCommitted()
	if co.ReadUncommitted {
		iso = kgo.ReadUncommitted()
	}
	kopts = append(kopts,
		kgo.ConsumeTopics(co.Topics...),
		kgo.ConsumeResetOffset(co.From.offset()),
		kgo.FetchIsolationLevel(iso),
	)
	if co.Group != "" {
		kopts = append(kopts, kgo.ConsumerGroup(co.Group))
	}
	cl, err := kgo.NewClient(append(kopts, o.kgoOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka consumer: %w", err)
	}
	return &Consumer{cl: cl}, nil
}

// Client returns the underlying franz-go client.
func (c *Consumer) Client() *kgo.Client { return c.cl }

// Poll waits for records until ctx ends. Errors the client retries on its
// own are returned alongside the records; ctx's error is returned alone.
func (c *Consumer) Poll(ctx context.Context) ([]*kgo.Record, error) {
	fetches := c.cl.PollFetches(ctx)
	if ctx.Err() != nil {
		return fetches.Records(), ctx.Err()
	}
	if fetches.IsClientClosed() {
		return nil, ErrClosed
	}
	var errs []error
	for _, fe := range fetches.Errors() {
		errs = append(errs, fmt.Errorf("fetch %s[%d]: %w", fe.Topic, fe.Partition, fe.Err))
	}
	return fetches.Records(), errors.Join(errs...)
}

// Close commits a group's polled offsets, leaves the group and closes the
// client. It is safe to call more than once.
func (c *Consumer) Close() { c.once.Do(c.cl.Close) }
