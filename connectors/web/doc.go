// Package web is the web connector: a polite breadth-first crawler that
// writes every page it fetches, raw, to raw.web.v1 as a RawWebPage keyed by
// its canonical URL. Main-text extraction happens downstream (the structure
// processor); the crawler keeps bodies as received.
//
// # Streams
//
// Each configured seed (connectors.web.seeds) is a stream "seed:<URL>"; a
// data request of kind "crawl" (params seed, and optionally depth and
// max_pages) is a job stream. A stream crawls breadth-first from its seed,
// within the seed's host and the configured allowed_hosts, to max_depth
// links from the seed and at most max_pages URLs. One Fetch requests one
// URL and returns at most one event, with More set while URLs are queued.
//
// The crawl's state is the stream's cursor, one entry "crawl" holding
// compact JSON (flate-compressed and base64-encoded after "z:" once over
// 2 KiB): every URL the crawl admitted in discovery (breadth-first) order
// with its depth, referrer, validators (ETag, Last-Modified), last status
// and a short hash of the last body kept, plus the index of the next URL to
// fetch. The list is the frontier and the visited set at once, and it never
// holds more than max_pages URLs (2000 URLs take about 60 KB), so the
// cursor stays bounded. A restarted worker resumes where the crawl stopped,
// without fetching a page twice; a cursor it cannot read restarts the
// crawl.
//
// A finished job stream is Done. A finished seed crawl is crawled again
// (after recrawl_interval, at the worker's next poll) over the URLs it
// knows, with conditional GETs (If-None-Match, If-Modified-Since): a 304, or
// a page whose status and kept body did not change, produces no event; a
// changed page produces one, and its new links join the crawl.
//
// # Politeness
//
// robots.txt is fetched per host and cached for robots_ttl, and obeyed for
// the user agent's product token (github.com/temoto/robotstxt: longest
// matching group, Allow/Disallow with wildcards), Crawl-delay included. As
// RFC 9309 says, a 4xx robots.txt (401 and 403 included) allows everything;
// a robots.txt that stays unreachable (network errors, 5xx) disallows the
// host. Requests to one host are serialised, and spaced by host_delay or
// the host's Crawl-delay, whichever is longer; a wait over 5s is
// handed back to the worker as a connectors.RateLimitError, so that it
// fetches other streams meanwhile. Meta robots (name="robots" or the
// agent's own name) and X-Robots-Tag are always honoured: nofollow keeps a
// page's links out of the crawl, noindex keeps the page out of the topic
// (its links are still followed). Links come from <a href> and <area href>
// (not rel="nofollow"), resolved against <base href>, http and https only.
//
// # URLs
//
// Canonical URLs (Canonical) have a lower-case scheme and host (IDNA
// hosts in ASCII form), no user info, no default port, no fragment, dot
// segments resolved, percent-encodings upper-cased with unreserved
// characters decoded, and "/" for an empty path. The trailing slash is kept
// as it is: /a and /a/ can be different resources. With sort_query the
// query's parameters are sorted; an empty query is dropped. The crawl
// deduplicates by canonical URL, redirect targets included.
//
// # Responses
//
//   - 2xx text/html, application/xhtml+xml and text/plain bodies are kept,
//     cut at max_body_bytes (RawWebPage.truncated); links are read from HTML,
//     decoded from its charset (Content-Type, BOM, <meta>, then sniffing;
//     an unknown label falls back to sniffing).
//   - Any other content type (images, PDFs, archives) is recorded without
//     body: status, content type, validators and headers only.
//   - Other statuses (404, 410, ...) are recorded without body. 401 and 403
//     pages are skipped (no event; they do not stop the worker), 304 gives
//     no event, 429 and 5xx are retried by connectors.Client.
//   - Redirects are followed by the crawler itself, at most max_redirects,
//     each hop checked against the allowed hosts and robots.txt: the event
//     is keyed by the requested URL and carries final_url. A redirect of the
//     seed to another host (example.org to www.example.org) admits that
//     host. This needs a client that hands 3xx back (NoRedirects): with one
//     that follows redirects itself, final_url is the requested URL.
//
// A response the crawler cannot use is a *connectors.ResponseError, recorded
// by the worker on connectors.errors.v1 with a snippet of the body: a
// robots.txt that is an HTML page (an error page or soft 404 served with
// 200), or a body declared as HTML or text that is binary. The URL is
// tried once more after the worker's backoff; a second unusable answer
// drops the page from the crawl, or, for robots.txt, counts as no
// robots.txt (allow all) until robots_ttl ends. A page that keeps failing
// (network errors, 5xx after the client's retries) is dropped after its
// second failed fetch too.
//
// Refetch crawls one recorded page's URL again, alone, for the validator.
package web
