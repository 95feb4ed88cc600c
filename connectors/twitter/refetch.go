package twitter

import (
	"context"
	"fmt"
	"net/url"

	"google.golang.org/protobuf/proto"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

var _ connectors.Refetcher = (*Source)(nil)

// problemNotFound is the type of X's "no such resource" errors.
const problemNotFound = "https://api.twitter.com/2/problems/resource-not-found"

// Refetch implements connectors.Refetcher for raw.tweet/v1 records: it looks
// the post up again (GET /2/tweets?ids=<id>, with the fields and
// expansions searches and timelines ask for) and maps it as they do, the
// author, media and referenced posts folded in. The record's query (what
// returned the post to the worker) is carried over.
//
// Errors: a post the API reports in its errors array as not found
// (resource-not-found, "Not Found Error": deleted, or never posted), or an
// ID that is not a post ID, wraps connectors.ErrNotFound; a 5xx, a 429 the
// client gave up on, a network error or an unusable answer wraps
// connectors.ErrSourceFault; a refused token, a post the app may not see
// (a protected account's: "Authorization Error") and records of other types
// (trends, profiles) wrap neither.
func (s *Source) Refetch(ctx context.Context, env *schemas.Envelope) (proto.Message, error) {
	var rec fairstreampb.RawTweet
	if err := connectors.DecodeRecord(env, &rec); err != nil {
		return nil, fmt.Errorf("twitter: refetch: %w", err)
	}
	id := rec.GetId()
	if !userIDRE.MatchString(id) {
		return nil, fmt.Errorf("twitter: refetch: %w: %q is not a post ID", connectors.ErrNotFound, id)
	}
	q := url.Values{}
	q.Set("ids", id)
	q.Set("tweet.fields", tweetFields)
	q.Set("expansions", expansions)
	q.Set("user.fields", userFields)
	q.Set("media.fields", mediaFields)
	var r tweetsResponse
	resp, _, err := s.get(ctx, "/2/tweets", q, &r)
	if err != nil {
		return nil, fmt.Errorf("twitter: refetch post %s: %w", id, connectors.ClassifyRefetch(resp, s.redact(err)))
	}
	for i := range r.Data {
		if t := &r.Data[i]; t.ID == id {
			return t.raw(newIndex(&r.Includes), rec.GetQuery(), false), nil
		}
	}
	for _, e := range r.Errors {
		if e.Value != id && e.ResourceID != id || e.Parameter != "" && e.Parameter != "ids" && e.Parameter != "id" {
			continue // about an expansion: a referenced post, an author
		}
		if e.Type == problemNotFound || e.Title == "Not Found Error" {
			return nil, fmt.Errorf("twitter: refetch post %s: %w: %s", id, connectors.ErrNotFound, e.String())
		}
		return nil, fmt.Errorf("twitter: refetch post %s: the X API refused it: %s", id, e.String())
	}
	return nil, fmt.Errorf("twitter: refetch post %s: %w", id,
		connectors.ClassifyRefetch(resp, errorsOnly(resp, append(r.Errors, apiError{Detail: "the answer does not hold post " + id}))))
}
