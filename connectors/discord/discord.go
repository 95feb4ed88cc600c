// Package discord is the Discord connector: a bot reads the messages of the
// channels it is configured with (and of channels that data requests name)
// through the REST API, with the rate-limit-aware connectors.Client, and
// writes each message as a RawDiscordMessage on raw.discord.v1, keyed by
// its channel ID.
//
// A channel is read forward from its first message with
// GET /channels/{id}/messages?after={newest ID read}&limit={limit}; the API
// returns each page newest first, so the connector sorts it, keeps the
// newest ID as the cursor, and asks for the next page at once when a page
// was full. Once the channel is caught up, its public threads are listed
// (GET /guilds/{guild}/threads/active, filtered to the channel, and
// GET /channels/{id}/threads/archived/public, walked newest archive first,
// one page per listing, down to what earlier walks covered), and every
// thread with messages past its own cursor is read the same way, one page
// per fetch. A thread's messages carry its ID as channel_id (so they are
// keyed by it) and as thread_id; the parent channel's message that started
// a thread carries the thread's ID as thread_id.
// Forum and media channels, which hold only threads, are read through
// their threads. The threads' cursors live in the channel stream's
// position, compactly encoded (see cursor.go).
//
// A 401 stops the worker (the token is refused). A 403 (Missing Access,
// Missing Permissions) or 404 (Unknown Channel) concerns one channel: it is
// a *connectors.ResponseError carrying an *APIError, recorded on
// connectors.errors.v1 while the stream backs off, and the other channels
// go on.
//
// Attachments are recorded as metadata (file name, type, size, URL);
// nothing is downloaded. Without the Message Content privileged intent,
// Discord sends bots empty content, attachments and embeds for messages
// that do not mention them.
//
// Refetch reads one message again (GET /channels/{id}/messages/{id}) for
// the validator.
package discord

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// Name is the connector's name.
const Name = "discord"

// Topic is where its events go.
const Topic = "raw.discord.v1"

// Setting is the configuration key of the credentials.
const Setting = "connectors.discord.bot_token"

// JobKind is the data request kind the connector serves: read one channel
// (params channel_id; optional after, a message ID to start after, and
// include_threads, true or false).
const JobKind = "channel"

// Stream parameters.
const (
	paramChannel = "channel_id"
	paramAfter   = "after"
	paramThreads = "include_threads"
	// paramFinite marks a job's stream: done once caught up.
	paramFinite = "finite"
)

// userAgent is the form Discord asks clients to identify with
// ("DiscordBot ($url, $versionNumber)"); requests without it may be
// blocked.
const userAgent = "DiscordBot (https://github.com/fairstream/fairstream, 1) fairstream/1"

// walkOverlap makes each walk of the archived threads reach a little below
// the newest archive time the previous walk saw, so that a thread archived
// while the lists were read is not missed; threads listed twice cost a
// comparison, not a fetch.
const walkOverlap = 5 * time.Minute

// Config configures the connector.
type Config struct {
	// Enabled runs it in `fairstream dev`.
	Enabled bool `mapstructure:"enabled"`
	// BotToken is the bot's token, from the Bot page of the application in
	// the Discord Developer Portal (without the "Bot " prefix).
	BotToken string `mapstructure:"bot_token" secret:"true"`
	// APIURL is the REST API base, version included; tests point it at a
	// fixture server.
	APIURL string `mapstructure:"api_url"`
	// Channels are the IDs of the channels to follow.
	Channels []string `mapstructure:"channels"`
	// IncludeThreads follows the channels' public threads too.
	IncludeThreads bool `mapstructure:"include_threads"`
	// Limit is how many messages (and archived threads) one request asks
	// for, 1 to 100.
	Limit int `mapstructure:"limit"`
}

// DefaultConfig returns the defaults; the token must be set.
func DefaultConfig() Config {
	return Config{APIURL: "https://discord.com/api/v10", IncludeThreads: true, Limit: 100}
}

// tokenRE is the shape of a bot token: the bot's ID in base64, a
// timestamp, an HMAC, separated by dots.
var tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{18,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{25,}$`)

// Validate reports invalid settings, naming their keys. An empty token is
// valid for a disabled connector.
func (c Config) Validate() error {
	var errs []error
	if c.Enabled || c.BotToken != "" {
		switch {
		case c.BotToken == "":
			errs = append(errs, errors.New("bot_token: missing; set FAIRSTREAM_CONNECTORS_DISCORD_BOT_TOKEN to the token from the Bot page of your application in the Discord Developer Portal"))
		case strings.HasPrefix(c.BotToken, "Bot "):
			errs = append(errs, errors.New(`bot_token: give the token alone, without the "Bot " prefix`))
		case !tokenRE.MatchString(c.BotToken):
			errs = append(errs, errors.New("bot_token: not a Discord bot token (three dot-separated base64 parts, from the Bot page of your application in the Discord Developer Portal)"))
		}
	}
	if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("api_url: %q is not an http(s) URL", c.APIURL))
	}
	seen := map[string]bool{}
	for i, ch := range c.Channels {
		if _, ok := parseSnowflake(ch); !ok {
			errs = append(errs, fmt.Errorf("channels[%d]: %q is not a channel ID (a snowflake: right-click the channel with Developer Mode on, Copy Channel ID)", i, ch))
		} else if seen[ch] {
			errs = append(errs, fmt.Errorf("channels[%d]: %s is listed twice", i, ch))
		}
		seen[ch] = true
	}
	if c.Limit < 1 || c.Limit > 100 {
		errs = append(errs, fmt.Errorf("limit: must be between 1 and 100, got %d", c.Limit))
	}
	return errors.Join(errs...)
}

// Source is the Discord connector. It keeps no state between fetches (all
// of it is in the streams' positions), so it is safe for concurrent use.
type Source struct {
	cfg    Config
	base   string
	client *connectors.Client
}

var _ connectors.Source = (*Source)(nil)

// New returns the connector; it refuses a configuration without a valid
// token.
func New(cfg Config, client *connectors.Client) (*Source, error) {
	cfg.Enabled = true
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("discord: %w", connectors.PrefixSetting("connectors.discord.", err))
	}
	if client == nil {
		return nil, errors.New("discord: no HTTP client")
	}
	return &Source{cfg: cfg, base: strings.TrimRight(cfg.APIURL, "/"), client: client}, nil
}

// Name implements connectors.Source.
func (s *Source) Name() string { return Name }

// Streams implements connectors.Source: one stream per configured channel,
// "channel:<id>", which covers the channel's threads too.
func (s *Source) Streams() []connectors.Stream {
	out := make([]connectors.Stream, 0, len(s.cfg.Channels))
	for _, ch := range s.cfg.Channels {
		out = append(out, connectors.Stream{ID: "channel:" + ch, Kind: JobKind,
			Params: map[string]string{paramChannel: ch, paramThreads: strconv.FormatBool(s.cfg.IncludeThreads)}})
	}
	return out
}

// StreamForJob implements connectors.Source: a "channel" job reads one
// channel (a thread's ID reads that thread) from its first message, or
// from after the message ID in param after, until it is caught up.
func (s *Source) StreamForJob(job *fairstreampb.Job) (connectors.Stream, error) {
	if job.GetKind() != JobKind {
		return connectors.Stream{}, fmt.Errorf("%w: discord serves kind %q (params channel_id, after, include_threads), not %q",
			connectors.ErrUnsupportedJob, JobKind, job.GetKind())
	}
	p := job.GetParams()
	ch := p[paramChannel]
	if _, ok := parseSnowflake(ch); !ok {
		return connectors.Stream{}, fmt.Errorf("%w: param channel_id %q is not a Discord channel ID", connectors.ErrUnsupportedJob, ch)
	}
	params := map[string]string{paramChannel: ch, paramThreads: strconv.FormatBool(s.cfg.IncludeThreads), paramFinite: "true"}
	if a, ok := p[paramAfter]; ok {
		if _, ok := parseSnowflake(a); !ok {
			return connectors.Stream{}, fmt.Errorf("%w: param after %q is not a message ID", connectors.ErrUnsupportedJob, a)
		}
		params[paramAfter] = a
	}
	if v, ok := p[paramThreads]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return connectors.Stream{}, fmt.Errorf("%w: param include_threads %q is not true or false", connectors.ErrUnsupportedJob, v)
		}
		params[paramThreads] = strconv.FormatBool(b)
	}
	return connectors.Stream{ID: "channel:" + ch, Kind: JobKind, Params: params}, nil
}

// Fetch implements connectors.Source. Each call reads one page: of the
// next queued thread if any, else of the channel; when the channel is
// caught up, it lists the threads and queues those with new messages.
func (s *Source) Fetch(ctx context.Context, st connectors.Stream, cur connectors.Position) (connectors.Page, error) {
	ch := st.Params[paramChannel]
	if _, ok := parseSnowflake(ch); !ok {
		return connectors.Page{}, fmt.Errorf("discord stream %s: channel_id %q is not a snowflake", st.ID, ch)
	}
	next := cur.Clone()
	if _, ok := next[posType]; !ok {
		var c apiChannel
		if _, err := s.get(ctx, "/channels/"+ch, nil, &c); err != nil {
			return connectors.Page{}, err
		}
		next[posType] = strconv.Itoa(c.Type)
		next[posGuild] = c.GuildID
		if a, ok := parseSnowflake(st.Params[paramAfter]); ok {
			next[posAfter] = formatSnowflake(a)
			next[posFloor] = formatSnowflake(a)
			next[posArchivedSince] = snowflakeTime(a).Format(time.RFC3339Nano)
		}
	}
	ctype, err := strconv.Atoi(next[posType])
	if err != nil {
		return connectors.Page{}, fmt.Errorf("discord stream %s: cursor %s %q: %w", st.ID, posType, next[posType], err)
	}
	guild := next[posGuild]
	threads, err := decodePairs(next[posThreads])
	if err != nil {
		return connectors.Page{}, fmt.Errorf("discord stream %s: cursor %s: %w", st.ID, posThreads, err)
	}
	queue, err := decodePairs(next[posQueue])
	if err != nil {
		return connectors.Page{}, fmt.Errorf("discord stream %s: cursor %s: %w", st.ID, posQueue, err)
	}
	page := connectors.Page{Next: next}
	finish := func(more bool) (connectors.Page, error) {
		setOrDelete(next, posThreads, encodePairs(threads))
		setOrDelete(next, posQueue, encodePairs(queue))
		page.More = more || next[posArchivedBefore] != ""
		page.Done = st.Params[paramFinite] == "true" && !page.More
		return page, nil
	}

	// A queued thread first.
	if len(queue) > 0 {
		tid := slices.Min(slices.Collect(maps.Keys(queue)))
		t := formatSnowflake(tid)
		msgs, full, err := s.messages(ctx, t, threads[tid])
		if err != nil {
			var ae *APIError
			if !errors.As(err, &ae) || (ae.Status != http.StatusNotFound && ae.Status != http.StatusForbidden) {
				return connectors.Page{}, err
			}
			// Deleted since it was listed (404: forgotten), or closed to
			// the bot (403: listed and tried again next poll). Skipping it
			// keeps the other threads going.
			delete(queue, tid)
			if ae.Status == http.StatusNotFound {
				delete(threads, tid)
			}
			return finish(len(queue) > 0)
		}
		page.Events = events(msgs, guild, t, t)
		threads[tid] = max(threads[tid], newest(msgs))
		if !full {
			// Read up to what the listing showed, even if that message was
			// deleted since: the thread is no longer behind.
			threads[tid] = max(threads[tid], queue[tid])
			delete(queue, tid)
		}
		return finish(full || len(queue) > 0)
	}

	// The channel itself.
	if hasOwnMessages(ctype) {
		after, _ := parseSnowflake(next[posAfter])
		msgs, full, err := s.messages(ctx, ch, after)
		if err != nil {
			return connectors.Page{}, err
		}
		thread := ""
		if isThread(ctype) {
			thread = ch // a job may name a thread
		}
		page.Events = events(msgs, guild, thread, ch)
		if n := newest(msgs); n > after {
			next[posAfter] = formatSnowflake(n)
		}
		if full {
			return finish(true)
		}
	}

	// Caught up: list the threads.
	if st.Params[paramThreads] != "true" || isThread(ctype) || guild == "" {
		return finish(false)
	}
	l, err := s.listThreads(ctx, ch, guild, next)
	if err != nil {
		if len(page.Events) > 0 {
			// Keep the channel's page; the listing is tried again at once
			// and, failing again, reported.
			return finish(true)
		}
		return connectors.Page{}, err
	}
	floor, _ := parseSnowflake(next[posFloor])
	for tid, last := range l.found {
		c, seen := threads[tid]
		if !seen {
			c = floor
		}
		if last > c {
			queue[tid] = last
			threads[tid] = c
		}
	}
	setOrDelete(next, posArchivedSince, l.since)
	setOrDelete(next, posArchivedBefore, l.before)
	setOrDelete(next, posArchivedTop, l.top)
	return finish(len(queue) > 0)
}

// messages reads one page of a channel's messages after the given ID,
// oldest first; full says the page was full, so more may follow.
func (s *Source) messages(ctx context.Context, channel string, after uint64) ([]apiMessage, bool, error) {
	q := url.Values{}
	q.Set("after", formatSnowflake(after)) // 0: from the first message
	q.Set("limit", strconv.Itoa(s.cfg.Limit))
	var msgs []apiMessage
	resp, err := s.get(ctx, "/channels/"+channel+"/messages", q, &msgs)
	if err != nil {
		return nil, false, err
	}
	n := len(msgs)
	kept := msgs[:0]
	for _, m := range msgs {
		id, ok := parseSnowflake(m.ID)
		if !ok {
			return nil, false, unusable(resp, fmt.Errorf("message ID %q is not a snowflake", m.ID))
		}
		if id <= after {
			continue // not asked for: never write a message twice
		}
		m.id = id
		kept = append(kept, m)
	}
	sortOldestFirst(kept)
	// A full page may have more behind it; one that brought nothing new
	// cannot move the cursor, so asking again would not help.
	return kept, n >= s.cfg.Limit && len(kept) > 0, nil
}

// listing is what one thread listing found: thread → last_message_id, and
// the archived walk's new state.
type listing struct {
	found              map[uint64]uint64
	since, before, top string
}

// listThreads lists the channel's active public threads and one page of its
// archived public threads, going on with the walk under way in pos.
func (s *Source) listThreads(ctx context.Context, ch, guild string, pos connectors.Position) (listing, error) {
	l := listing{found: map[uint64]uint64{}}
	add := func(t apiChannel) {
		if t.ParentID == nil || *t.ParentID != ch || (t.Type != typePublicThread && t.Type != typeAnnouncementThread) {
			return // another channel's, or private
		}
		id, ok := parseSnowflake(t.ID)
		if !ok || t.LastMessageID == nil {
			return
		}
		if last, ok := parseSnowflake(*t.LastMessageID); ok {
			l.found[id] = last
		}
	}
	var active apiThreads
	if _, err := s.get(ctx, "/guilds/"+guild+"/threads/active", nil, &active); err != nil {
		return l, err
	}
	for _, t := range active.Threads {
		add(t)
	}

	q := url.Values{}
	if b := pos[posArchivedBefore]; b != "" {
		q.Set("before", b)
	}
	q.Set("limit", strconv.Itoa(s.cfg.Limit))
	var arch apiThreads
	resp, err := s.get(ctx, "/channels/"+ch+"/threads/archived/public", q, &arch)
	if err != nil {
		return l, err
	}
	since, _ := parseTime(pos[posArchivedSince])
	top, _ := parseTime(pos[posArchivedTop])
	ended := !arch.HasMore || len(arch.Threads) == 0
	oldest := ""
	for _, t := range arch.Threads {
		var raw string
		if t.ThreadMetadata != nil {
			raw = t.ThreadMetadata.ArchiveTimestamp
		}
		at, ok := parseTime(raw)
		if !ok {
			return l, unusable(resp, fmt.Errorf("thread %s: archive_timestamp %q is not a time", t.ID, raw))
		}
		if !since.IsZero() && at.Before(since) {
			ended = true // newest first: the rest were covered by earlier walks
			break
		}
		add(t)
		if at.After(top) {
			top = at
		}
		oldest = raw
	}
	l.since = pos[posArchivedSince]
	if ended {
		if !top.IsZero() {
			if n := top.Add(-walkOverlap); n.After(since) {
				l.since = n.UTC().Format(time.RFC3339Nano)
			}
		}
		return l, nil
	}
	l.before, l.top = oldest, top.UTC().Format(time.RFC3339Nano)
	return l, nil
}

// get sends an authenticated GET and decodes the JSON body into v.
func (s *Source) get(ctx context.Context, path string, q url.Values, v any) (*connectors.Response, error) {
	u := s.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	h := http.Header{}
	h.Set("Authorization", "Bot "+s.cfg.BotToken)
	h.Set("User-Agent", userAgent)
	h.Set("Accept", "application/json")
	resp, err := s.client.GetJSON(ctx, connectors.Request{URL: u, Header: h, Setting: Setting}, v)
	if err != nil {
		return resp, describe(err, u)
	}
	return resp, nil
}

// events maps messages read from channel (thread, if it is a thread).
func events(msgs []apiMessage, guild, thread, channel string) []connectors.Event {
	out := make([]connectors.Event, 0, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		raw := m.raw(guild, thread)
		if raw.ChannelId == "" {
			raw.ChannelId = channel
		}
		out = append(out, connectors.Event{Topic: Topic, Key: raw.ChannelId, Time: m.time(), Payload: raw})
	}
	return out
}

// newest is the highest message ID of msgs, 0 for none.
func newest(msgs []apiMessage) uint64 {
	var n uint64
	for _, m := range msgs {
		n = max(n, m.id)
	}
	return n
}

func setOrDelete(p connectors.Position, k, v string) {
	if v == "" {
		delete(p, k)
		return
	}
	p[k] = v
}
