package schemas_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/schemas"
	pb "github.com/fairstream/fairstream/schemas/fairstreampb"
)

func sampleMeta() schemas.Meta {
	return schemas.Meta{
		ID:            "01JPAY3S7MZ4Q1V2X3Y4Z5A6B7",
		Source:        "web",
		Worker:        "0xAbC0000000000000000000000000000000000001",
		Time:          sampleTime,
		Ingested:      sampleTime.Add(1500 * time.Millisecond),
		Key:           "example.org",
		CausationID:   "01JPAY3S7MZ4Q1V2X3Y4Z5A6B0",
		CorrelationID: "job-7 ✓",
	}
}

func TestRoundTrip(t *testing.T) {
	r := schemas.Builtin()
	for typ, m := range samples() {
		t.Run(typ, func(t *testing.T) {
			meta := sampleMeta()
			env, err := r.Wrap(m, meta)
			if err != nil {
				t.Fatal(err)
			}
			if env.GetType() != typ {
				t.Errorf("type = %q, want %q", env.GetType(), typ)
			}
			if h := sha256.Sum256(env.GetPayload()); !bytes.Equal(env.GetContentHash(), h[:]) {
				t.Error("content_hash is not the SHA-256 of the payload")
			}
			b, err := schemas.MarshalEnvelope(env)
			if err != nil {
				t.Fatal(err)
			}
			got, err := schemas.UnmarshalEnvelope(b)
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, env) {
				t.Fatalf("envelope changed on the wire:\n got %v\nwant %v", got, env)
			}
			for name, pair := range map[string][2]string{
				"id":             {got.GetId(), meta.ID},
				"source":         {got.GetSource(), meta.Source},
				"worker":         {got.GetWorker(), meta.Worker},
				"key":            {got.GetKey(), meta.Key},
				"causation_id":   {got.GetCausationId(), meta.CausationID},
				"correlation_id": {got.GetCorrelationId(), meta.CorrelationID},
			} {
				if pair[0] != pair[1] {
					t.Errorf("%s = %q, want %q", name, pair[0], pair[1])
				}
			}
			if !got.GetTime().AsTime().Equal(meta.Time) || !got.GetIngested().AsTime().Equal(meta.Ingested) {
				t.Errorf("times = %v, %v; want %v, %v", got.GetTime().AsTime(), got.GetIngested().AsTime(), meta.Time, meta.Ingested)
			}
			dec, err := r.Decode(got)
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(dec, m) {
				t.Errorf("payload changed:\n got %v\nwant %v", dec, m)
			}
			if dec.ProtoReflect().Type() != m.ProtoReflect().Type() {
				t.Errorf("Decode gave %T, want %T", dec, m)
			}
			into := m.ProtoReflect().New().Interface()
			if err := r.DecodeInto(got, into); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(into, m) {
				t.Errorf("DecodeInto: payload changed")
			}
		})
	}
}

func TestWrapDefaults(t *testing.T) {
	r := schemas.Builtin()
	env, err := r.Wrap(&pb.RawWebPage{Url: "https://example.org/"}, schemas.Meta{Source: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ulid.ParseStrict(env.GetId()); err != nil {
		t.Errorf("default id %q: %v", env.GetId(), err)
	}
	if env.GetIngested() == nil || env.GetIngested().AsTime().Year() < 2025 {
		t.Errorf("default ingested = %v, want now", env.GetIngested())
	}
	if !proto.Equal(env.GetTime(), env.GetIngested()) {
		t.Errorf("default time %v != ingested %v", env.GetTime(), env.GetIngested())
	}
	id := ulid.MustParse(env.GetId())
	if got, want := id.Time(), ulid.Timestamp(env.GetTime().AsTime()); got != want {
		t.Errorf("default id time = %d, want the event time %d", got, want)
	}
	if err := r.Validate(env); err != nil {
		t.Errorf("Validate(Wrap(...)) = %v", err)
	}
	if _, err := r.Wrap(&pb.Link{}, schemas.Meta{}); !errors.Is(err, schemas.ErrUnknownType) {
		t.Errorf("Wrap(Link) = %v, want ErrUnknownType", err)
	}
	if _, err := r.Wrap(nil, schemas.Meta{}); !errors.Is(err, schemas.ErrUnknownType) {
		t.Errorf("Wrap(nil) = %v, want ErrUnknownType", err)
	}
	// An event time a ULID cannot hold does not panic.
	if _, err := r.Wrap(&pb.RawWebPage{}, schemas.Meta{Time: time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC)}); err != nil {
		t.Errorf("Wrap with a 1969 event time: %v", err)
	}
}

func validEnvelope(t *testing.T) *schemas.Envelope {
	t.Helper()
	env, err := schemas.Builtin().Wrap(samples()["raw.web/v1"], sampleMeta())
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestValidate(t *testing.T) {
	r := schemas.Builtin()
	if err := r.Validate(validEnvelope(t)); err != nil {
		t.Fatalf("Validate(valid) = %v", err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*schemas.Envelope)
		want   string
	}{
		{"empty id", func(e *schemas.Envelope) { e.Id = "" }, "not a ULID"},
		{"bad ulid", func(e *schemas.Envelope) { e.Id = "01JPAY3S7MZ4Q1V2X3Y4Z5A6BU" }, "not a ULID"}, // U is not Crockford
		{"short ulid", func(e *schemas.Envelope) { e.Id = "01JPAY3S7MZ4Q1V2X3Y4Z5A6B" }, "not a ULID"},
		{"uuid", func(e *schemas.Envelope) { e.Id = "1b4e28ba-2fa1-11d2-883f-0016d3cca427" }, "not a ULID"},
		{"ulid overflow", func(e *schemas.Envelope) { e.Id = "81JPAY3S7MZ4Q1V2X3Y4Z5A6B7" }, "not a ULID"},
		{"missing time", func(e *schemas.Envelope) { e.Time = nil }, "no time"},
		{"unnormalised time", func(e *schemas.Envelope) { e.Time = &timestamppb.Timestamp{Seconds: 1, Nanos: -1} }, "time"},
		{"time beyond canonical range", func(e *schemas.Envelope) {
			e.Time = timestamppb.New(time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC))
		}, "1678 to 2262"},
		{"unregistered type", func(e *schemas.Envelope) { e.Type = "raw.fax/v1" }, "unknown event type"},
		{"unknown version", func(e *schemas.Envelope) { e.Type = "raw.web/v2" }, "raw.web/v1"},
		{"tampered payload", func(e *schemas.Envelope) { e.Payload = append(e.Payload, 0x50, 0x01) }, "content_hash"},
		{"tampered hash", func(e *schemas.Envelope) { e.ContentHash[0] ^= 1 }, "content_hash"},
		{"missing hash", func(e *schemas.Envelope) { e.ContentHash = nil }, "content_hash"},
	} {
		env := validEnvelope(t)
		tc.mutate(env)
		err := r.Validate(env)
		if !errors.Is(err, schemas.ErrInvalidEnvelope) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate = %v, want ErrInvalidEnvelope mentioning %q", tc.name, err, tc.want)
		}
		if _, err := r.Decode(env); !errors.Is(err, schemas.ErrInvalidEnvelope) {
			t.Errorf("%s: Decode = %v, want ErrInvalidEnvelope", tc.name, err)
		}
		if _, err := r.EnvelopeToJSON(env); !errors.Is(err, schemas.ErrInvalidEnvelope) {
			t.Errorf("%s: EnvelopeToJSON = %v, want ErrInvalidEnvelope", tc.name, err)
		}
	}
	if err := r.Validate(nil); !errors.Is(err, schemas.ErrInvalidEnvelope) {
		t.Errorf("Validate(nil) = %v", err)
	}
	// Times at the edges of the canonical range are valid.
	for _, tm := range []time.Time{time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2261, 12, 31, 0, 0, 0, 999999999, time.UTC), time.Unix(0, 0)} {
		env := validEnvelope(t)
		env.Time = timestamppb.New(tm)
		if err := r.Validate(env); err != nil {
			t.Errorf("Validate with time %v = %v", tm, err)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	r := schemas.Builtin()
	// A payload whose hash matches but which is not the named message.
	env := validEnvelope(t)
	env.Payload = []byte{0x0a, 0x05, 'a'} // field 1, length 5, truncated
	env.ContentHash = schemas.ContentHash(env.Payload)
	if _, err := r.Decode(env); !errors.Is(err, schemas.ErrInvalidEnvelope) || !strings.Contains(err.Error(), "does not decode") {
		t.Errorf("Decode(truncated payload) = %v", err)
	}
	if err := r.DecodeInto(env, &pb.RawWebPage{}); !errors.Is(err, schemas.ErrInvalidEnvelope) {
		t.Errorf("DecodeInto(truncated payload) = %v", err)
	}
	// DecodeInto a message of another type.
	env = validEnvelope(t)
	err := r.DecodeInto(env, &pb.RawTweet{})
	if !errors.Is(err, schemas.ErrInvalidEnvelope) || !strings.Contains(err.Error(), "raw.tweet/v1") {
		t.Errorf("DecodeInto(RawTweet) of a raw.web/v1 = %v", err)
	}
	if err := r.DecodeInto(env, &pb.Link{}); !errors.Is(err, schemas.ErrUnknownType) {
		t.Errorf("DecodeInto(Link) = %v, want ErrUnknownType", err)
	}
	env.Id = "nope"
	if err := r.DecodeInto(env, &pb.RawWebPage{}); !errors.Is(err, schemas.ErrInvalidEnvelope) {
		t.Errorf("DecodeInto(invalid) = %v", err)
	}
}

func TestUnmarshalEnvelopeRejects(t *testing.T) {
	for name, b := range map[string][]byte{
		"nil":            nil,
		"empty":          {},
		"garbage":        []byte("this is not a protobuf envelope \xff\xfe"),
		"truncated":      {0x0a, 0x1a, '0', '1'},
		"bad wire type":  {0x0f},
		"only unknown":   {0xf8, 0x01, 0x01}, // field 31 varint 1
		"only source":    {0x1a, 0x03, 'w', 'e', 'b'},
		"invalid utf8":   {0x0a, 0x02, 0xff, 0xfe},
		"json":           []byte(`{"id":"01JPAY3S7MZ4Q1V2X3Y4Z5A6B7","type":"raw.web/v1"}`),
		"truncated wire": mustMarshalEnvelope(t)[:20],
	} {
		env, err := schemas.UnmarshalEnvelope(b)
		if !errors.Is(err, schemas.ErrInvalidEnvelope) {
			t.Errorf("%s: UnmarshalEnvelope = %v, %v; want ErrInvalidEnvelope", name, env, err)
		}
	}
}

func mustMarshalEnvelope(t *testing.T) []byte {
	b, err := schemas.MarshalEnvelope(validEnvelope(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMarshalPayloadDeterministic(t *testing.T) {
	m := &pb.RawWebPage{Url: "https://example.org/", Headers: map[string]string{}}
	for i := range 64 {
		m.Headers[fmt.Sprintf("x-header-%02d", i)] = fmt.Sprintf("värde %d", i)
	}
	first, err := schemas.MarshalPayload(m)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		// A fresh copy each time, so that map iteration starts afresh.
		b, err := schemas.MarshalPayload(proto.Clone(m))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, first) {
			t.Fatalf("encoding %d differs from the first", i)
		}
	}
	// Deterministic means map entries are sorted by key.
	var keys []string
	dec := &pb.RawWebPage{}
	if err := proto.Unmarshal(first, dec); err != nil {
		t.Fatal(err)
	}
	for i := range 64 {
		keys = append(keys, fmt.Sprintf("x-header-%02d", i))
	}
	last := -1
	for _, k := range keys {
		at := bytes.Index(first, []byte(k))
		if at < last {
			t.Fatalf("map entry %q is not in key order", k)
		}
		last = at
	}
	if got := schemas.ContentHash(first); len(got) != sha256.Size {
		t.Errorf("ContentHash is %d bytes", len(got))
	}
}

func TestMarshalPayloadError(t *testing.T) {
	// Invalid UTF-8 in a proto3 string cannot be encoded.
	_, err := schemas.MarshalPayload(&pb.RawWebPage{Url: "\xff"})
	if err == nil || !strings.Contains(err.Error(), "fairstream.v1.RawWebPage") {
		t.Errorf("MarshalPayload(invalid UTF-8) = %v", err)
	}
	if _, err := schemas.Builtin().Wrap(&pb.RawWebPage{Url: "\xff"}, schemas.Meta{}); err == nil {
		t.Error("Wrap(invalid UTF-8) succeeded")
	}
	if _, err := schemas.MarshalEnvelope(&schemas.Envelope{Id: "\xff"}); err == nil {
		t.Error("MarshalEnvelope(invalid UTF-8) succeeded")
	}
}

func TestDeriveID(t *testing.T) {
	parent := "01JPAY3S7MZ4Q1V2X3Y4Z5A6B7"
	tm := time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)
	id := schemas.DeriveID(parent, "structure", 0, tm)
	if again := schemas.DeriveID(parent, "structure", 0, tm); again != id {
		t.Errorf("DeriveID is not deterministic: %s, %s", id, again)
	}
	u, err := ulid.ParseStrict(id)
	if err != nil {
		t.Fatalf("DeriveID = %q: %v", id, err)
	}
	if got, want := u.Time(), uint64(tm.UnixMilli()); got != want {
		t.Errorf("time part = %d, want %d", got, want)
	}
	seen := map[string]string{id: "base"}
	for name, other := range map[string]string{
		"index":      schemas.DeriveID(parent, "structure", 1, tm),
		"index -1":   schemas.DeriveID(parent, "structure", -1, tm),
		"stage":      schemas.DeriveID(parent, "annotate", 0, tm),
		"parent":     schemas.DeriveID("01JPAY3S7MZ4Q1V2X3Y4Z5A6B8", "structure", 0, tm),
		"boundary":   schemas.DeriveID(parent+"s", "tructure", 0, tm),
		"empty":      schemas.DeriveID("", "", 0, tm),
		"other time": schemas.DeriveID(parent, "structure", 0, tm.Add(time.Millisecond)),
	} {
		if prev, ok := seen[other]; ok {
			t.Errorf("DeriveID for %s equals the one for %s: %s", name, prev, other)
		}
		seen[other] = name
		if _, err := ulid.ParseStrict(other); err != nil {
			t.Errorf("%s: %q is not a ULID: %v", name, other, err)
		}
	}
	// Only the time part depends on t.
	a := ulid.MustParse(id)
	b := ulid.MustParse(schemas.DeriveID(parent, "structure", 0, tm.Add(time.Hour)))
	if !bytes.Equal(a.Entropy(), b.Entropy()) {
		t.Error("the random part of DeriveID depends on t")
	}
	// Times a ULID cannot hold give time 0 and keep the hash part.
	for _, bad := range []time.Time{time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC), time.Date(10890, 1, 1, 0, 0, 0, 0, time.UTC), {}} {
		u := ulid.MustParseStrict(schemas.DeriveID(parent, "structure", 0, bad))
		if u.Time() != 0 || !bytes.Equal(u.Entropy(), a.Entropy()) {
			t.Errorf("DeriveID at %v = time %d, want 0 and the same hash part", bad, u.Time())
		}
	}
}

func TestNewID(t *testing.T) {
	tm := time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)
	seen := map[string]bool{}
	prev := ""
	for range 1000 {
		id := schemas.NewID(tm)
		u, err := ulid.ParseStrict(id)
		if err != nil {
			t.Fatal(err)
		}
		if u.Time() != uint64(tm.UnixMilli()) {
			t.Fatalf("time part = %d, want %d", u.Time(), tm.UnixMilli())
		}
		if seen[id] || id <= prev {
			t.Fatalf("NewID is not unique and increasing within a millisecond: %s after %s", id, prev)
		}
		seen[id] = true
		prev = id
	}
	for _, bad := range []time.Time{time.Unix(-1, 0), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(10890, 1, 1, 0, 0, 0, 0, time.UTC)} {
		u, err := ulid.ParseStrict(schemas.NewID(bad))
		if err != nil || u.Time() != 0 {
			t.Errorf("NewID(%v) = time %d, %v; want time 0", bad, u.Time(), err)
		}
	}
}

func TestDecodeIntoTrusted(t *testing.T) {
	r := schemas.Builtin()
	env := validEnvelope(t)
	env.ContentHash = append([]byte{}, env.ContentHash...)
	env.ContentHash[0] ^= 1
	if err := r.DecodeInto(env, new(pb.RawWebPage)); err == nil {
		t.Fatal("DecodeInto accepted a content hash that does not match")
	}
	m, err := r.New(env.GetType())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.DecodeIntoTrusted(env, m); err != nil {
		t.Fatalf("DecodeIntoTrusted: %v", err)
	}
	// It still checks everything else.
	env.Id = "not-a-ulid"
	if err := r.DecodeIntoTrusted(env, m); !errors.Is(err, schemas.ErrInvalidEnvelope) {
		t.Fatalf("DecodeIntoTrusted of a bad id: %v", err)
	}
}
