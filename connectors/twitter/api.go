package twitter

import (
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// The X API v2's JSON, as far as the connector reads it
// (https://docs.x.com/x-api/fundamentals/data-dictionary).

// Fields and expansions asked for with every search and timeline page.
const (
	tweetFields = "attachments,author_id,conversation_id,created_at,entities,in_reply_to_user_id,lang,note_tweet,possibly_sensitive,public_metrics,referenced_tweets"
	// referenced_tweets.id.author_id also brings the referenced tweets'
	// authors, so that a quoted tweet carries its author too.
	expansions  = "author_id,attachments.media_keys,referenced_tweets.id,referenced_tweets.id.author_id"
	userFields  = "created_at,description,location,profile_image_url,public_metrics,verified"
	mediaFields = "alt_text,duration_ms,height,preview_image_url,url,width"
	trendFields = "trend_name,tweet_count"
)

// apiError is one entry of a response's errors array: a partial error in a
// 200 answer ({"value","detail","title","resource_type","parameter",
// "resource_id","type"}) or an invalid parameter in a 400 answer
// ({"parameters","message"}).
type apiError struct {
	Value        string              `json:"value"`
	Detail       string              `json:"detail"`
	Title        string              `json:"title"`
	ResourceType string              `json:"resource_type"`
	Parameter    string              `json:"parameter"`
	ResourceID   string              `json:"resource_id"`
	Type         string              `json:"type"`
	Message      string              `json:"message"`
	Parameters   map[string][]string `json:"parameters"`
}

func (e apiError) String() string {
	msg := e.Detail
	if msg == "" {
		msg = e.Message
	}
	if e.Title != "" {
		msg = e.Title + ": " + msg
	}
	return msg
}

// problem is a non-2xx answer's body.
type problem struct {
	Errors []apiError `json:"errors"`
	Title  string     `json:"title"`
	Detail string     `json:"detail"`
	Type   string     `json:"type"`
}

// invalidParam says whether an invalid-request answer names one of params.
func (p problem) invalidParam(params ...string) bool {
	for _, e := range p.Errors {
		for _, name := range params {
			if _, ok := e.Parameters[name]; ok || e.Parameter == name {
				return true
			}
		}
	}
	return false
}

type tweetsResponse struct {
	Data     []tweet    `json:"data"`
	Includes includes   `json:"includes"`
	Errors   []apiError `json:"errors"`
	Meta     *struct {
		NewestID    string `json:"newest_id"`
		OldestID    string `json:"oldest_id"`
		ResultCount int    `json:"result_count"`
		NextToken   string `json:"next_token"`
	} `json:"meta"`
}

type includes struct {
	Users  []user  `json:"users"`
	Media  []media `json:"media"`
	Tweets []tweet `json:"tweets"`
}

type usersResponse struct {
	Data   []user     `json:"data"`
	Errors []apiError `json:"errors"`
}

type trendsResponse struct {
	Data []struct {
		TrendName  string `json:"trend_name"`
		TweetCount *int64 `json:"tweet_count"`
	} `json:"data"`
	Errors []apiError `json:"errors"`
}

type tweet struct {
	ID                string        `json:"id"`
	Text              string        `json:"text"`
	AuthorID          string        `json:"author_id"`
	CreatedAt         string        `json:"created_at"`
	ConversationID    string        `json:"conversation_id"`
	Lang              string        `json:"lang"`
	InReplyToUserID   string        `json:"in_reply_to_user_id"`
	PossiblySensitive bool          `json:"possibly_sensitive"`
	ReferencedTweets  []reference   `json:"referenced_tweets"`
	Entities          *entities     `json:"entities"`
	PublicMetrics     *tweetMetrics `json:"public_metrics"`
	Attachments       *attachments  `json:"attachments"`
	NoteTweet         *noteTweet    `json:"note_tweet"`
}

type reference struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

type attachments struct {
	MediaKeys []string `json:"media_keys"`
}

// noteTweet is the whole text of a long post, whose text field holds only
// its start.
type noteTweet struct {
	Text     string    `json:"text"`
	Entities *entities `json:"entities"`
}

type entities struct {
	Hashtags []textEntity `json:"hashtags"`
	Cashtags []textEntity `json:"cashtags"`
	Mentions []struct {
		Start    int32  `json:"start"`
		End      int32  `json:"end"`
		Username string `json:"username"`
		ID       string `json:"id"`
	} `json:"mentions"`
	URLs []struct {
		Start       int32  `json:"start"`
		End         int32  `json:"end"`
		URL         string `json:"url"`
		ExpandedURL string `json:"expanded_url"`
		DisplayURL  string `json:"display_url"`
		UnwoundURL  string `json:"unwound_url"`
	} `json:"urls"`
}

type textEntity struct {
	Start int32  `json:"start"`
	End   int32  `json:"end"`
	Tag   string `json:"tag"`
}

type tweetMetrics struct {
	RetweetCount    int64 `json:"retweet_count"`
	ReplyCount      int64 `json:"reply_count"`
	LikeCount       int64 `json:"like_count"`
	QuoteCount      int64 `json:"quote_count"`
	BookmarkCount   int64 `json:"bookmark_count"`
	ImpressionCount int64 `json:"impression_count"`
}

type user struct {
	ID              string `json:"id"`
	Username        string `json:"username"`
	Name            string `json:"name"`
	Description     string `json:"description"`
	Verified        bool   `json:"verified"`
	CreatedAt       string `json:"created_at"`
	Location        string `json:"location"`
	ProfileImageURL string `json:"profile_image_url"`
	PublicMetrics   *struct {
		FollowersCount int64 `json:"followers_count"`
		FollowingCount int64 `json:"following_count"`
		TweetCount     int64 `json:"tweet_count"`
	} `json:"public_metrics"`
}

type media struct {
	MediaKey        string `json:"media_key"`
	Type            string `json:"type"`
	URL             string `json:"url"`
	PreviewImageURL string `json:"preview_image_url"`
	AltText         string `json:"alt_text"`
	Width           int32  `json:"width"`
	Height          int32  `json:"height"`
	DurationMS      int64  `json:"duration_ms"`
}

// parseAPITime reads the X API's timestamps ("2025-11-25T11:42:07.000Z");
// zero if absent or unreadable.
func parseAPITime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// index holds a page's expansions by ID.
type index struct {
	users  map[string]*user
	media  map[string]*media
	tweets map[string]*tweet
}

func newIndex(inc *includes) index {
	ix := index{users: map[string]*user{}, media: map[string]*media{}, tweets: map[string]*tweet{}}
	for i := range inc.Users {
		ix.users[inc.Users[i].ID] = &inc.Users[i]
	}
	for i := range inc.Media {
		ix.media[inc.Media[i].MediaKey] = &inc.Media[i]
	}
	for i := range inc.Tweets {
		ix.tweets[inc.Tweets[i].ID] = &inc.Tweets[i]
	}
	return ix
}

// raw maps a tweet, with its expansions folded in; nested says it is a
// referenced tweet, whose own references are not expanded.
func (t *tweet) raw(ix index, query string, nested bool) *fairstreampb.RawTweet {
	out := &fairstreampb.RawTweet{
		Id:                t.ID,
		Text:              t.Text,
		AuthorId:          t.AuthorID,
		CreatedAt:         ts(parseAPITime(t.CreatedAt)),
		ConversationId:    t.ConversationID,
		Lang:              t.Lang,
		InReplyToUserId:   t.InReplyToUserID,
		PossiblySensitive: t.PossiblySensitive,
		Query:             query,
	}
	ents := t.Entities
	if n := t.NoteTweet; n != nil && n.Text != "" {
		// A long post: its text field is cut; the note holds it whole, with
		// the entities that index into it.
		out.Text = n.Text
		ents = n.Entities
	}
	out.Entities = ents.raw()
	for _, r := range t.ReferencedTweets {
		out.ReferencedTweets = append(out.ReferencedTweets, &fairstreampb.TweetReference{Type: r.Type, Id: r.ID})
	}
	if m := t.PublicMetrics; m != nil {
		out.PublicMetrics = &fairstreampb.TweetMetrics{RetweetCount: m.RetweetCount, ReplyCount: m.ReplyCount, LikeCount: m.LikeCount,
			QuoteCount: m.QuoteCount, BookmarkCount: m.BookmarkCount, ImpressionCount: m.ImpressionCount}
	}
	if u := ix.users[t.AuthorID]; u != nil {
		out.Author = u.raw()
	}
	if t.Attachments != nil {
		for _, k := range t.Attachments.MediaKeys {
			if m := ix.media[k]; m != nil {
				out.Media = append(out.Media, m.raw())
			}
		}
	}
	if !nested {
		for _, r := range t.ReferencedTweets {
			if rt := ix.tweets[r.ID]; rt != nil && rt.ID != t.ID {
				out.Includes = append(out.Includes, rt.raw(ix, "", true))
			}
		}
	}
	return out
}

func (e *entities) raw() *fairstreampb.TweetEntities {
	if e == nil {
		return nil
	}
	out := &fairstreampb.TweetEntities{}
	for _, h := range e.Hashtags {
		out.Hashtags = append(out.Hashtags, &fairstreampb.TextEntity{Start: h.Start, End: h.End, Tag: h.Tag})
	}
	for _, c := range e.Cashtags {
		out.Cashtags = append(out.Cashtags, &fairstreampb.TextEntity{Start: c.Start, End: c.End, Tag: c.Tag})
	}
	for _, m := range e.Mentions {
		out.Mentions = append(out.Mentions, &fairstreampb.TextEntity{Start: m.Start, End: m.End, Tag: m.Username, Id: m.ID})
	}
	for _, u := range e.URLs {
		expanded := u.ExpandedURL
		if expanded == "" {
			expanded = u.UnwoundURL
		}
		out.Urls = append(out.Urls, &fairstreampb.UrlEntity{Start: u.Start, End: u.End, Url: u.URL, ExpandedUrl: expanded, DisplayUrl: u.DisplayURL})
	}
	return out
}

func (u *user) raw() *fairstreampb.TwitterUser {
	out := &fairstreampb.TwitterUser{
		Id:              u.ID,
		Username:        u.Username,
		Name:            u.Name,
		Description:     u.Description,
		Verified:        u.Verified,
		CreatedAt:       ts(parseAPITime(u.CreatedAt)),
		Location:        u.Location,
		ProfileImageUrl: u.ProfileImageURL,
	}
	if m := u.PublicMetrics; m != nil {
		out.FollowersCount, out.FollowingCount, out.TweetCount = m.FollowersCount, m.FollowingCount, m.TweetCount
	}
	return out
}

func (m *media) raw() *fairstreampb.TwitterMedia {
	return &fairstreampb.TwitterMedia{MediaKey: m.MediaKey, Type: m.Type, Url: m.URL, PreviewImageUrl: m.PreviewImageURL,
		AltText: m.AltText, Width: m.Width, Height: m.Height, DurationMs: m.DurationMS}
}

// parseTime reads a job's time bound (RFC 3339) and writes it the way the
// X API wants it (YYYY-MM-DDTHH:mm:ssZ).
func parseTime(s string) (string, error) {
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return "", err
	}
	return t.UTC().Format("2006-01-02T15:04:05Z"), nil
}
