package schemas

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/oklog/ulid/v2"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// Envelope is the generated envelope type, re-exported for brevity.
type Envelope = fairstreampb.Envelope

// ErrInvalidEnvelope is wrapped by every validation failure.
var ErrInvalidEnvelope = errors.New("invalid envelope")

// Meta holds the envelope fields a producer chooses. Zero values get
// defaults in Wrap: a fresh ID, ingested = now, time = ingested.
type Meta struct {
	ID            string
	Source        string
	Worker        string
	Time          time.Time
	Ingested      time.Time
	Key           string
	CausationID   string
	CorrelationID string
}

// canonical is the payload encoding that content hashes and signatures cover:
// protobuf binary with fields in number order and map entries sorted.
var canonical = proto.MarshalOptions{Deterministic: true}

// MarshalPayload returns the canonical encoding of a payload.
func MarshalPayload(m proto.Message) ([]byte, error) {
	b, err := canonical.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	return b, nil
}

// ContentHash returns the SHA-256 of canonical payload bytes.
func ContentHash(payload []byte) []byte {
	h := sha256.Sum256(payload)
	return h[:]
}

// Wrap encodes m and returns an envelope carrying it, with its type and
// content hash set.
func (r *Registry) Wrap(m proto.Message, meta Meta) (*Envelope, error) {
	t, err := r.TypeOf(m)
	if err != nil {
		return nil, err
	}
	payload, err := MarshalPayload(m)
	if err != nil {
		return nil, err
	}
	if meta.Ingested.IsZero() {
		meta.Ingested = time.Now()
	}
	if meta.Time.IsZero() {
		meta.Time = meta.Ingested
	}
	if meta.ID == "" {
		meta.ID = NewID(meta.Time)
	}
	return &Envelope{
		Id:            meta.ID,
		Type:          t,
		Source:        meta.Source,
		Worker:        meta.Worker,
		Time:          timestamppb.New(meta.Time),
		Ingested:      timestamppb.New(meta.Ingested),
		Key:           meta.Key,
		ContentHash:   ContentHash(payload),
		CausationId:   meta.CausationID,
		CorrelationId: meta.CorrelationID,
		Payload:       payload,
	}, nil
}

// Decode validates env against the registry and returns its payload.
func (r *Registry) Decode(env *Envelope) (proto.Message, error) {
	if err := r.Validate(env); err != nil {
		return nil, err
	}
	m, _ := r.New(env.GetType()) // Validate checked the type
	if err := proto.Unmarshal(env.GetPayload(), m); err != nil {
		return nil, fmt.Errorf("%w: payload does not decode as %s: %v", ErrInvalidEnvelope, env.GetType(), err)
	}
	return m, nil
}

// DecodeInto validates env and decodes its payload into m, which must be of
// the envelope's type.
func (r *Registry) DecodeInto(env *Envelope, m proto.Message) error {
	if err := r.Validate(env); err != nil {
		return err
	}
	return r.decodeInto(env, m)
}

// DecodeIntoTrusted is DecodeInto without recomputing the content hash: for
// a consumer inside the bus, whose entry points (producers, the bridge, the
// validator) check hashes and signatures, and whose records Kafka's CRCs
// protect in between. Everything else is checked as Validate does.
func (r *Registry) DecodeIntoTrusted(env *Envelope, m proto.Message) error {
	if err := r.validateStructure(env); err != nil {
		return err
	}
	return r.decodeInto(env, m)
}

func (r *Registry) decodeInto(env *Envelope, m proto.Message) error {
	want, err := r.TypeOf(m)
	if err != nil {
		return err
	}
	if want != env.GetType() {
		return fmt.Errorf("%w: payload is %s, want %s", ErrInvalidEnvelope, env.GetType(), want)
	}
	if err := proto.Unmarshal(env.GetPayload(), m); err != nil {
		return fmt.Errorf("%w: payload does not decode as %s: %v", ErrInvalidEnvelope, env.GetType(), err)
	}
	return nil
}

// Validate checks what every envelope must satisfy: a ULID id, a registered
// type, an event time, and a content hash that matches the payload. It does
// not check the signature, which needs the worker's key.
func (r *Registry) Validate(env *Envelope) error {
	if err := r.validateStructure(env); err != nil {
		return err
	}
	if !bytes.Equal(env.GetContentHash(), ContentHash(env.GetPayload())) {
		return fmt.Errorf("%w: event %s: content_hash does not match the payload", ErrInvalidEnvelope, env.GetId())
	}
	return nil
}

// validateStructure is Validate but the content hash.
func (r *Registry) validateStructure(env *Envelope) error {
	if env == nil {
		return fmt.Errorf("%w: nil", ErrInvalidEnvelope)
	}
	if _, err := ulid.ParseStrict(env.GetId()); err != nil {
		return fmt.Errorf("%w: id %q is not a ULID: %v", ErrInvalidEnvelope, env.GetId(), err)
	}
	if _, err := r.Lookup(env.GetType()); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidEnvelope, err)
	}
	if env.GetTime() == nil {
		return fmt.Errorf("%w: event %s has no time", ErrInvalidEnvelope, env.GetId())
	}
	if err := checkCanonicalTime(env.GetTime()); err != nil {
		return fmt.Errorf("%w: event %s: %v", ErrInvalidEnvelope, env.GetId(), err)
	}
	return nil
}

// canonicalTag starts the canonical bytes, so that a signature over them
// cannot be replayed as a signature over anything else.
const canonicalTag = "fairstream/envelope/v1\n"

// CanonicalBytes returns the bytes a worker's signature covers: a fixed tag,
// then id, type, source, worker, time (Unix nanoseconds, 8 bytes big-endian),
// key, content_hash, causation_id and correlation_id, each but time prefixed
// by its length as a uvarint. The payload is covered through content_hash;
// ingested (set by the bus) and the signature itself are not covered.
func CanonicalBytes(env *Envelope) []byte {
	b := make([]byte, 0, 160+len(env.GetKey()))
	b = append(b, canonicalTag...)
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	str(env.GetId())
	str(env.GetType())
	str(env.GetSource())
	str(env.GetWorker())
	var nanos int64
	if t := env.GetTime(); t != nil {
		nanos = t.GetSeconds()*1e9 + int64(t.GetNanos())
	}
	b = binary.BigEndian.AppendUint64(b, uint64(nanos))
	str(env.GetKey())
	b = binary.AppendUvarint(b, uint64(len(env.GetContentHash())))
	b = append(b, env.GetContentHash()...)
	str(env.GetCausationId())
	str(env.GetCorrelationId())
	return b
}

// checkCanonicalTime rejects an event time that CanonicalBytes cannot encode
// one-to-one: a timestamp that is not normalised (nanos outside [0, 1e9)),
// or one whose Unix nanoseconds overflow an int64 (before 1678 or after 2262).
// Otherwise two different times would share canonical bytes, and a signed
// event could be re-dated without breaking its signature.
func checkCanonicalTime(ts *timestamppb.Timestamp) error {
	if err := ts.CheckValid(); err != nil {
		return fmt.Errorf("time: %w", err)
	}
	const maxSeconds = math.MaxInt64/int64(time.Second) - 1 // so that seconds*1e9 + nanos fits
	if s := ts.GetSeconds(); s < -maxSeconds || s > maxSeconds {
		return fmt.Errorf("time %s is outside the years 1678 to 2262 that canonical bytes can hold", ts.AsTime().Format(time.RFC3339))
	}
	return nil
}

// NewID returns a new ULID for an event at time t, monotonic within the
// process (the ulid package's locked default entropy). A time a ULID cannot
// hold (before 1970 or after 10889) gives a ULID with time 0.
func NewID(t time.Time) string {
	ms := ulidTime(t)
	id, err := ulid.New(ms, ulid.DefaultEntropy())
	if err != nil {
		// The monotonic entropy overflowed within this millisecond: fall
		// back to fresh randomness rather than panic.
		id = ulid.MustNew(ms, rand.Reader)
	}
	return id.String()
}

// ulidTime returns t in Unix milliseconds, or 0 where a ULID cannot hold it.
func ulidTime(t time.Time) uint64 {
	if t.Before(time.UnixMilli(0)) || t.After(ulid.Time(ulid.MaxTime())) {
		return 0
	}
	return ulid.Timestamp(t)
}

// DeriveID returns the ID of the index-th event a stage derives from the
// event parent. It is a ULID whose time is t and whose randomness is a hash
// of (parent, stage, index), so a replay mints the same IDs.
func DeriveID(parent, stage string, index int, t time.Time) string {
	// parent, a NUL, stage, then index as 8 bytes, hashed in one call: this
	// runs for every output of every stage.
	var stack [128]byte
	buf := append(stack[:0], parent...)
	buf = append(buf, 0)
	buf = append(buf, stage...)
	buf = binary.BigEndian.AppendUint64(buf, uint64(index))
	sum := sha256.Sum256(buf)
	var id ulid.ULID
	_ = id.SetTime(ulidTime(t)) // before 1970 or after 10889: time 0, keep the hash part
	copy(id[6:], sum[:])
	return id.String()
}

// extensionFromUnknown reads a length-delimited field from raw unknown bytes.
func extensionFromUnknown(raw []byte, num protowire.Number) string {
	for len(raw) > 0 {
		n, typ, l := protowire.ConsumeTag(raw)
		if l < 0 {
			return ""
		}
		raw = raw[l:]
		if n == num && typ == protowire.BytesType {
			v, l := protowire.ConsumeBytes(raw)
			if l < 0 {
				return ""
			}
			return string(v)
		}
		l = protowire.ConsumeFieldValue(n, typ, raw)
		if l < 0 {
			return ""
		}
		raw = raw[l:]
	}
	return ""
}
