// Package telegram is the Telegram connector: the Bot API's getUpdates,
// long-polled with an offset cursor, covering messages and channel posts in
// the chats the bot belongs to. Media is recorded as metadata only (file
// IDs, sizes, types); nothing is downloaded.
//
// A bot sees only the chats it is a member of; getUpdates confirms updates
// below the offset it is called with, so one bot token feeds one stream,
// and data requests (jobs) are not served. Nor can Refetch fetch one
// message again for the validator: the Bot API has no such method, so
// Telegram records stay unverifiable.
package telegram

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// Name is the connector's name.
const Name = "telegram"

// Topic is where its events go.
const Topic = "raw.telegram.v1"

// Config configures the connector.
type Config struct {
	// Enabled runs it in `fairstream dev`.
	Enabled bool `mapstructure:"enabled"`
	// BotToken is the token @BotFather gives ("123456:ABC-DEF...").
	BotToken string `mapstructure:"bot_token" secret:"true"`
	// APIURL is the Bot API server; point it at a local Bot API server or
	// a fixture server in tests.
	APIURL string `mapstructure:"api_url"`
	// Limit is the updates asked per call (1 to 100).
	Limit int `mapstructure:"limit"`
}

// DefaultConfig returns the defaults; the token must be set.
func DefaultConfig() Config {
	return Config{APIURL: "https://api.telegram.org", Limit: 100}
}

var tokenRE = regexp.MustCompile(`^\d+:[A-Za-z0-9_-]{20,}$`)

// Validate reports invalid settings, naming their keys. An empty token is
// valid for a disabled connector.
func (c Config) Validate() error {
	var errs []error
	if c.Enabled || c.BotToken != "" {
		if !tokenRE.MatchString(c.BotToken) {
			errs = append(errs, errors.New("bot_token: not a Telegram bot token (<bot id>:<secret>, from @BotFather); set FAIRSTREAM_CONNECTORS_TELEGRAM_BOT_TOKEN"))
		}
	}
	if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("api_url: %q is not an http(s) URL", c.APIURL))
	}
	if c.Limit < 1 || c.Limit > 100 {
		errs = append(errs, fmt.Errorf("limit: must be between 1 and 100, got %d", c.Limit))
	}
	return errors.Join(errs...)
}

// Source is the Telegram connector.
type Source struct {
	cfg    Config
	client *connectors.Client
}

var _ connectors.Source = (*Source)(nil)

// New returns the connector; it refuses a configuration without a valid
// token.
func New(cfg Config, client *connectors.Client) (*Source, error) {
	cfg.Enabled = true
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("telegram: %w", connectors.PrefixSetting("connectors.telegram.", err))
	}
	return &Source{cfg: cfg, client: client}, nil
}

// Name implements connectors.Source.
func (s *Source) Name() string { return Name }

// Streams implements connectors.Source: the bot's one update stream.
func (s *Source) Streams() []connectors.Stream {
	return []connectors.Stream{{ID: "updates", Kind: "updates"}}
}

// StreamForJob implements connectors.Source: a bot cannot follow chats it
// is not in, and its one update stream already covers the ones it is in.
func (s *Source) StreamForJob(job *fairstreampb.Job) (connectors.Stream, error) {
	return connectors.Stream{}, fmt.Errorf("%w: a Telegram bot reads the chats it belongs to through one update stream; add the bot to the chat instead", connectors.ErrUnsupportedJob)
}

// Fetch implements connectors.Source: one getUpdates call from the offset.
func (s *Source) Fetch(ctx context.Context, st connectors.Stream, cur connectors.Position) (connectors.Page, error) {
	q := url.Values{}
	q.Set("limit", strconv.Itoa(s.cfg.Limit))
	q.Set("timeout", "0")
	q.Set("allowed_updates", `["message","edited_message","channel_post","edited_channel_post"]`)
	if off := cur["offset"]; off != "" {
		q.Set("offset", off)
	}
	u := strings.TrimRight(s.cfg.APIURL, "/") + "/bot" + s.cfg.BotToken + "/getUpdates?" + q.Encode()
	var resp apiResponse
	_, err := s.client.GetJSON(ctx, connectors.Request{URL: u, Setting: "connectors.telegram.bot_token"}, &resp)
	if err != nil {
		return connectors.Page{}, redact(err, s.cfg.BotToken)
	}
	if !resp.OK {
		return connectors.Page{}, redact(&connectors.ResponseError{URL: u, StatusCode: resp.ErrorCode, ContentType: "application/json",
			Snippet: resp.Description, Err: fmt.Errorf("telegram Bot API error %d: %s", resp.ErrorCode, resp.Description)}, s.cfg.BotToken)
	}
	page := connectors.Page{Next: cur.Clone(), More: len(resp.Result) >= s.cfg.Limit}
	for _, up := range resp.Result {
		if next := strconv.FormatInt(up.UpdateID+1, 10); up.UpdateID+1 > atoi(page.Next["offset"]) {
			page.Next["offset"] = next
		}
		m, channel := up.message()
		if m == nil {
			continue // an update kind not asked for
		}
		msg := m.raw(up.UpdateID, channel)
		page.Events = append(page.Events, connectors.Event{
			Topic:   Topic,
			Key:     strconv.FormatInt(msg.GetChat().GetId(), 10),
			Time:    time.Unix(m.Date, 0),
			Payload: msg,
		})
	}
	return page, nil
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// redact removes the bot token, which the Bot API puts in every URL, from
// errors that will be logged and recorded.
func redact(err error, token string) error {
	if token == "" || !strings.Contains(err.Error(), token) {
		return err
	}
	var re *connectors.ResponseError
	if errors.As(err, &re) {
		c := *re
		c.URL = strings.ReplaceAll(c.URL, token, "<bot_token>")
		return &c
	}
	return redactedError{err, token}
}

type redactedError struct {
	err   error
	token string
}

func (e redactedError) Error() string {
	return strings.ReplaceAll(e.err.Error(), e.token, "<bot_token>")
}
func (e redactedError) Unwrap() error { return e.err }
