package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"google.golang.org/protobuf/proto"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

var _ connectors.Refetcher = (*Source)(nil)

// Refetch implements connectors.Refetcher for raw.web/v1 records: it
// crawls the record's URL alone, as a crawl of one page seeded with it
// would (robots.txt and its Crawl-delay, the host's politeness delay, the
// crawler's own redirect handling with max_redirects, an unconditional
// GET), and maps the answer as the crawler does. fetched_at, depth,
// referrer and seed describe the worker's crawl, not the page: they are
// carried over from the record.
//
// Errors: a 404 or 410 answer, or a URL that is not an http(s) URL, wraps
// connectors.ErrNotFound, unless the record itself is such an answer (the
// crawler records 404 and 410 pages): a 404 then re-fetched as 404 or
// 410 is returned as a page. A 5xx, a 429 the client gave up on, a
// network error, an unusable answer (a binary body declared as HTML) or a
// robots.txt that stays unreachable wraps connectors.ErrSourceFault. A page
// the crawler would not record now (robots.txt disallows it, a redirect
// past max_redirects or to a URL robots.txt disallows, a 401 or 403, a
// noindex page) and records of other types wrap neither. Other statuses
// are returned as pages, as the crawler records them.
func (s *Source) Refetch(ctx context.Context, env *schemas.Envelope) (proto.Message, error) {
	var rec fairstreampb.RawWebPage
	if err := connectors.DecodeRecord(env, &rec); err != nil {
		return nil, fmt.Errorf("web: refetch: %w", err)
	}
	c, err := Canonical(rec.GetUrl(), false)
	if err != nil {
		return nil, fmt.Errorf("web: refetch: %w: %q is not a page's URL: %v", connectors.ErrNotFound, rec.GetUrl(), err)
	}
	u, _ := url.Parse(c)
	spec := crawlSpec{seed: c, seedURL: u, depth: 0, maxPages: 1}
	cs := newState(spec)
	st := connectors.Stream{ID: "refetch:" + c, Kind: KindCrawl}
	ev, requested, err := s.visit(ctx, st, spec, cs, 0)
	if err != nil {
		return nil, fmt.Errorf("web: refetch %s: %w", c, connectors.ClassifyRefetch(nil, err))
	}
	if ev == nil {
		if !requested {
			if s.cachedRobots(u.Host) == robotsDisallowAll {
				return nil, fmt.Errorf("web: refetch %s: %w: robots.txt is unreachable; the host is disallowed for now", c, connectors.ErrSourceFault)
			}
			return nil, fmt.Errorf("web: refetch %s: robots.txt disallows it", c)
		}
		return nil, fmt.Errorf("web: refetch %s: the crawler would not record it now: access refused (401, 403), a redirect past max_redirects or disallowed by robots.txt, or noindex; the source's log says which", c)
	}
	page := ev.Payload.(*fairstreampb.RawWebPage)
	if code := int(page.GetStatusCode()); code == http.StatusNotFound || code == http.StatusGone {
		if was := rec.GetStatusCode(); was != http.StatusNotFound && was != http.StatusGone {
			return nil, fmt.Errorf("web: refetch %s: %w: %s answered %d %s", c, connectors.ErrNotFound, page.GetFinalUrl(), code, http.StatusText(code))
		}
	}
	page.FetchedAt, page.Depth, page.Referrer, page.Seed = rec.GetFetchedAt(), rec.GetDepth(), rec.GetReferrer(), rec.GetSeed()
	return page, nil
}
