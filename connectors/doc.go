// Package connectors is the worker runtime: what every connector (one
// package per source: twitter, web, discord, telegram, podcast) shares.
//
// A connector is a Source: it lists its Streams (a search query, a crawl
// seed, a channel, a feed), turns data requests from jobs.v1 into streams,
// and fetches the next Page of a stream from its cursor Position. A Worker
// runs a Source:
//
//   - it signs every event with the worker's key (connectors/identity) over
//     the schemas' canonical bytes;
//   - it writes each page's events, the stream's new cursor (on the
//     compacted topic connectors.cursors.v1) and, for a job, its status
//     (jobs.status.v1) in one Kafka transaction, so a cursor never advances
//     past events the broker does not have, and a page retried after a lost
//     broker is never seen twice;
//   - on start it reads its cursors back and resumes each stream where it
//     stopped;
//   - it takes jobs for its connector from jobs.v1, stamping their events'
//     correlation_id with the job ID;
//   - it backs off a failing stream with jitter, records responses it cannot
//     use (malformed JSON, an HTML error page) on connectors.errors.v1 with a
//     snippet, and stops with a clear error on rejected credentials.
//
// Client is the HTTP client connectors use: it honours rate-limit signals
// (Retry-After, X-RateLimit-* headers, retry_after in JSON bodies), retries
// 429 and 5xx with jittered backoff, and turns 401/403 into ErrAuth.
//
// A Refetcher is a Source that can fetch one record again from its
// envelope, for the validator's checks; its errors say whose fault a failed
// re-fetch is (ErrNotFound, ErrSourceFault, or neither), and
// ClassifyRefetch sorts the Client's answers into them.
//
// connectortest is the conformance suite every connector passes.
package connectors
