package podcast

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// Cursor fields (connectors.Position) of a feed stream.
const (
	// posETag and posLastModified are the validators of the last feed
	// version whose episodes were all emitted; the next fetch sends them
	// (If-None-Match, If-Modified-Since) and a 304 is an empty page. While a
	// backlog remains they are absent, so the next fetch gets the whole
	// feed.
	posETag         = "etag"
	posLastModified = "last_modified"
	// posSeen lists the fingerprints of the episodes emitted, space
	// separated: see nextSeen for what is kept.
	posSeen = "seen"
)

// keepGone is how many emitted episodes that are no longer in the feed the
// cursor still remembers, most recent first: enough that a feed which
// briefly serves a shortened item list does not get its older episodes
// emitted again when they come back.
const keepGone = 256

// fingerprint is an episode identity's short, fixed-size form in the
// cursor: 72 bits of its SHA-256, base64url (12 characters).
func fingerprint(key string) string {
	sum := sha256.Sum256([]byte(key))
	return base64.RawURLEncoding.EncodeToString(sum[:9])
}

// nextSeen is the cursor's seen list after a fetch: every episode of the
// current feed that was emitted, before or now (in feed order), then up to
// keepGone emitted episodes that have fallen off the feed, most recent
// first. It is bounded by the feed's length: old items fall off feeds, and
// an item that reappears after more than keepGone others fell off is
// emitted again.
func nextSeen(prev []string, current []string, emitted map[string]bool) string {
	was := make(map[string]bool, len(prev))
	for _, fp := range prev {
		was[fp] = true
	}
	inFeed := make(map[string]bool, len(current))
	out := make([]string, 0, len(current)+min(len(prev), keepGone))
	for _, fp := range current {
		if inFeed[fp] {
			continue
		}
		inFeed[fp] = true
		if was[fp] || emitted[fp] {
			out = append(out, fp)
		}
	}
	gone := 0
	for _, fp := range prev {
		if !inFeed[fp] && gone < keepGone {
			out = append(out, fp)
			gone++
		}
	}
	return strings.Join(out, " ")
}
