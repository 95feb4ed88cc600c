package discord

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Position keys of a channel stream. A channel's threads are followed
// inside the channel's stream (the runtime fixes a connector's streams when
// it starts, and threads come and go), each with its own cursor in
// "threads".
const (
	// posType and posGuild cache the channel's type and guild (REST messages
	// carry no guild ID), read once with GET /channels/{id}.
	posType  = "channel_type"
	posGuild = "guild_id"
	// posAfter is the newest message ID read in the channel.
	posAfter = "after"
	// posFloor is where a thread not seen before starts (a job's after);
	// absent: its first message.
	posFloor = "floor"
	// posThreads holds each thread's cursor, the newest message ID read in
	// it (pairs, see encodePairs).
	posThreads = "threads"
	// posQueue holds the threads that have messages past their cursor,
	// found by the last thread listing, each with the last_message_id the
	// listing gave (pairs). They are read one page per Fetch.
	posQueue = "queue"
	// posArchivedSince: the archived-thread walk stops at threads archived
	// before this time (RFC 3339), which earlier walks covered.
	posArchivedSince = "archived_since"
	// posArchivedBefore: where an unfinished walk of the archived threads
	// goes on (their list is paged by archive time, newest first); absent
	// when no walk is under way.
	posArchivedBefore = "archived_before"
	// posArchivedTop: the newest archive time the walk under way has seen;
	// it becomes archived_since when the walk ends.
	posArchivedTop = "archived_top"
)

// encodePairs writes a map of snowflake pairs (thread ID → message ID)
// compactly, so that a channel with thousands of threads keeps a cursor far
// below a Kafka record's size: sorted by key, each entry is the uvarint
// delta from the previous key, then the value as a zigzag varint delta from
// its key plus one (0 for a zero value); base64url, no padding. About 16
// bytes a thread.
func encodePairs(m map[uint64]uint64) string {
	if len(m) == 0 {
		return ""
	}
	buf := make([]byte, 0, len(m)*14)
	var prev uint64
	for _, k := range slices.Sorted(maps.Keys(m)) {
		buf = binary.AppendUvarint(buf, k-prev)
		prev = k
		v := m[k]
		if v == 0 {
			buf = binary.AppendUvarint(buf, 0)
			continue
		}
		d := int64(v) - int64(k)
		buf = binary.AppendUvarint(buf, uint64((d<<1)^(d>>63))+1)
	}
	return base64.RawURLEncoding.EncodeToString(buf)
}

var errPairs = errors.New("malformed pair list")

// decodePairs reads what encodePairs wrote.
func decodePairs(s string) (map[uint64]uint64, error) {
	out := map[uint64]uint64{}
	if s == "" {
		return out, nil
	}
	buf, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errPairs, err)
	}
	var k uint64
	for len(buf) > 0 {
		dk, n := binary.Uvarint(buf)
		if n <= 0 {
			return nil, errPairs
		}
		buf = buf[n:]
		zv, n := binary.Uvarint(buf)
		if n <= 0 {
			return nil, errPairs
		}
		buf = buf[n:]
		k += dk
		if zv == 0 {
			out[k] = 0
			continue
		}
		zv--
		d := int64(zv>>1) ^ -int64(zv&1)
		out[k] = uint64(int64(k) + d)
	}
	return out, nil
}
