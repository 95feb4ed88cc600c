package podcast

import (
	"context"
	"fmt"
	"net/http"

	"google.golang.org/protobuf/proto"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

var _ connectors.Refetcher = (*Source)(nil)

// feedAccept is the Accept header of feed requests.
const feedAccept = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"

// Refetch implements connectors.Refetcher for raw.podcast/v1 records: it
// fetches the record's feed_url again (unconditionally) and maps the item
// whose identity is the record's guid (the item's GUID, or, in a feed
// without GUIDs, the enclosure URL, link or title the connector used) as
// Fetch does. No audio is downloaded: audio_uri, audio_sha256 and
// skipped_reason, which describe the worker's download, are left empty.
// Nothing is carried over from the record.
//
// Errors: a feed that answers 404 or 410, a feed that no longer lists the
// episode, or a feed URL that is not an http(s) URL wraps
// connectors.ErrNotFound; a 5xx, a 429 the client gave up on, a network
// error or a body that is not a feed wraps connectors.ErrSourceFault; a
// feed that refuses access (401, 403: wraps connectors.ErrAuth) and records
// of other types wrap neither.
func (s *Source) Refetch(ctx context.Context, env *schemas.Envelope) (proto.Message, error) {
	var rec fairstreampb.RawPodcastEpisode
	if err := connectors.DecodeRecord(env, &rec); err != nil {
		return nil, fmt.Errorf("podcast: refetch: %w", err)
	}
	feedURL, guid := rec.GetFeedUrl(), rec.GetGuid()
	if err := checkFeedURL(feedURL); err != nil {
		return nil, fmt.Errorf("podcast: refetch: %w: %w", connectors.ErrNotFound, err)
	}
	if guid == "" {
		return nil, fmt.Errorf("podcast: refetch: %w: an episode of %s without a guid", connectors.ErrNotFound, feedURL)
	}
	h := http.Header{}
	h.Set("Accept", feedAccept)
	resp, err := s.client.Do(ctx, connectors.Request{URL: feedURL, Header: h})
	if err := connectors.ClassifyRefetch(resp, err); err != nil {
		return nil, fmt.Errorf("podcast: refetch %q of %s: %w", guid, feedURL, err)
	}
	ct := resp.Header.Get("Content-Type")
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		err := &connectors.ResponseError{URL: feedURL, StatusCode: resp.StatusCode, ContentType: ct,
			Snippet: connectors.Snippet(resp.Body, 512), Err: fmt.Errorf("status %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))}
		return nil, fmt.Errorf("podcast: refetch %q of %s: %w", guid, feedURL, connectors.ClassifyRefetch(resp, err))
	}
	feed, err := parseFeed(resp.Body)
	if err != nil {
		err := &connectors.ResponseError{URL: feedURL, StatusCode: resp.StatusCode, ContentType: ct,
			Snippet: connectors.Snippet(resp.Body, 512), Err: fmt.Errorf("not an RSS or Atom feed: %w", err)}
		return nil, fmt.Errorf("podcast: refetch %q of %s: %w", guid, feedURL, connectors.ClassifyRefetch(resp, err))
	}
	for _, ep := range episodes(feedURL, feed) {
		if ep.raw.GetGuid() == guid {
			return ep.raw, nil
		}
	}
	return nil, fmt.Errorf("podcast: refetch: %w: %s lists no episode %q", connectors.ErrNotFound, feedURL, guid)
}
