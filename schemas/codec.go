package schemas

import (
	"crypto/sha256"
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The envelope is encoded and decoded for every record a stage reads and
// writes, so it has a direct codec: the same bytes as deterministic
// protobuf, without reflection and with one buffer per record. It handles
// what the generated Envelope holds today; an envelope carrying fields this
// build does not know falls back to the generic protobuf code, so nothing
// newer is lost. codec_test.go checks it against proto.Marshal/Unmarshal,
// and fuzzes both.

// Envelope field numbers (envelope.proto).
const (
	fieldID            = 1
	fieldType          = 2
	fieldSource        = 3
	fieldWorker        = 4
	fieldTime          = 5
	fieldIngested      = 6
	fieldKey           = 7
	fieldContentHash   = 8
	fieldSignature     = 9
	fieldCausationID   = 10
	fieldCorrelationID = 11
	fieldPayload       = 12
)

// MarshalEnvelope returns the wire encoding of an envelope (a Kafka record
// value): deterministic protobuf, fields in number order.
func MarshalEnvelope(env *Envelope) ([]byte, error) {
	if !fastEncodable(env) {
		b, err := canonical.Marshal(env)
		if err != nil {
			return nil, fmt.Errorf("encode envelope: %w", err)
		}
		return b, nil
	}
	b := make([]byte, 0, headerSize(env)+bytesFieldSize(fieldPayload, len(env.GetPayload())))
	b, _ = appendHeader(b, env, env.GetContentHash())
	return appendBytesField(b, fieldPayload, env.GetPayload()), nil
}

// SealEnvelope encodes payload m canonically inside env and returns the
// record value. It sets env.Payload and env.ContentHash (both aliasing the
// returned bytes) and is equivalent to, but cheaper than, MarshalPayload,
// ContentHash and MarshalEnvelope in turn: the payload is encoded in place
// and hashed there.
func SealEnvelope(env *Envelope, m proto.Message) ([]byte, error) {
	if !fastEncodable(env) {
		payload, err := MarshalPayload(m)
		if err != nil {
			return nil, err
		}
		env.Payload, env.ContentHash = payload, ContentHash(payload)
		return MarshalEnvelope(env)
	}
	size := canonical.Size(m)
	env.ContentHash = zeroHash[:] // sized for headerSize; filled below
	b := make([]byte, 0, headerSize(env)+bytesFieldSize(fieldPayload, size))
	b, hashAt := appendHeader(b, env, env.ContentHash)
	b = protowire.AppendTag(b, fieldPayload, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(size))
	start := len(b)
	b, err := proto.MarshalOptions{Deterministic: true, UseCachedSize: true}.MarshalAppend(b, m)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	if len(b)-start != size {
		return nil, fmt.Errorf("encode %s: size changed while encoding (the message was modified concurrently)", m.ProtoReflect().Descriptor().FullName())
	}
	sum := sha256.Sum256(b[start:])
	copy(b[hashAt:], sum[:])
	env.ContentHash = b[hashAt : hashAt+sha256.Size : hashAt+sha256.Size]
	env.Payload = b[start:len(b):len(b)]
	return b, nil
}

// zeroHash fills the content hash's slot until the payload is hashed.
var zeroHash [sha256.Size]byte

// fastEncodable reports whether the direct codec covers env: no unknown
// fields, and valid UTF-8 strings (proto.Marshal's error for those is kept).
func fastEncodable(env *Envelope) bool {
	for _, s := range [...]string{env.GetId(), env.GetType(), env.GetSource(), env.GetWorker(), env.GetKey(), env.GetCausationId(), env.GetCorrelationId()} {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return len(env.ProtoReflect().GetUnknown()) == 0 &&
		(env.Time == nil || len(env.Time.ProtoReflect().GetUnknown()) == 0) &&
		(env.Ingested == nil || len(env.Ingested.ProtoReflect().GetUnknown()) == 0)
}

func bytesFieldSize(num protowire.Number, n int) int {
	if n == 0 {
		return 0
	}
	return protowire.SizeTag(num) + protowire.SizeBytes(n)
}

func timestampSize(ts *timestamppb.Timestamp) int {
	n := 0
	if s := ts.GetSeconds(); s != 0 {
		n += protowire.SizeTag(1) + protowire.SizeVarint(uint64(s))
	}
	if ns := ts.GetNanos(); ns != 0 {
		n += protowire.SizeTag(2) + protowire.SizeVarint(uint64(int64(ns)))
	}
	return n
}

// headerSize is the encoded size of every field but the payload.
func headerSize(env *Envelope) int {
	n := bytesFieldSize(fieldID, len(env.GetId())) +
		bytesFieldSize(fieldType, len(env.GetType())) +
		bytesFieldSize(fieldSource, len(env.GetSource())) +
		bytesFieldSize(fieldWorker, len(env.GetWorker())) +
		bytesFieldSize(fieldKey, len(env.GetKey())) +
		bytesFieldSize(fieldContentHash, len(env.GetContentHash())) +
		bytesFieldSize(fieldSignature, len(env.GetSignature())) +
		bytesFieldSize(fieldCausationID, len(env.GetCausationId())) +
		bytesFieldSize(fieldCorrelationID, len(env.GetCorrelationId()))
	if env.Time != nil {
		n += protowire.SizeTag(fieldTime) + protowire.SizeBytes(timestampSize(env.Time))
	}
	if env.Ingested != nil {
		n += protowire.SizeTag(fieldIngested) + protowire.SizeBytes(timestampSize(env.Ingested))
	}
	return n
}

func appendBytesField[T string | []byte](b []byte, num protowire.Number, v T) []byte {
	if len(v) == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(len(v)))
	return append(b, v...)
}

func appendTimestamp(b []byte, num protowire.Number, ts *timestamppb.Timestamp) []byte {
	if ts == nil {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(timestampSize(ts)))
	if s := ts.GetSeconds(); s != 0 {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(s))
	}
	if ns := ts.GetNanos(); ns != 0 {
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(int64(ns)))
	}
	return b
}

// appendHeader appends fields 1 to 11, with contentHash as field 8, and
// returns where contentHash's bytes start.
func appendHeader(b []byte, env *Envelope, contentHash []byte) ([]byte, int) {
	b = appendBytesField(b, fieldID, env.GetId())
	b = appendBytesField(b, fieldType, env.GetType())
	b = appendBytesField(b, fieldSource, env.GetSource())
	b = appendBytesField(b, fieldWorker, env.GetWorker())
	b = appendTimestamp(b, fieldTime, env.Time)
	b = appendTimestamp(b, fieldIngested, env.Ingested)
	b = appendBytesField(b, fieldKey, env.GetKey())
	b = appendBytesField(b, fieldContentHash, contentHash)
	hashAt := len(b) - len(contentHash)
	b = appendBytesField(b, fieldSignature, env.GetSignature())
	b = appendBytesField(b, fieldCausationID, env.GetCausationId())
	return appendBytesField(b, fieldCorrelationID, env.GetCorrelationId()), hashAt
}

// UnmarshalEnvelope decodes a Kafka record value. It checks only that the
// bytes are an envelope; Validate checks the contents. The envelope's
// payload may share memory with b (records are never reused once fetched):
// do not modify b afterwards.
func UnmarshalEnvelope(b []byte) (*Envelope, error) {
	env, ok := decodeEnvelope(b)
	if !ok {
		env = new(Envelope)
		if err := proto.Unmarshal(b, env); err != nil {
			return nil, fmt.Errorf("%w: not a protobuf envelope: %v", ErrInvalidEnvelope, err)
		}
	}
	if env.GetId() == "" && env.GetType() == "" && len(env.GetPayload()) == 0 {
		return nil, fmt.Errorf("%w: record holds no envelope fields", ErrInvalidEnvelope)
	}
	return env, nil
}

// decodeEnvelope decodes what the direct codec covers, and reports false
// for anything else (unknown fields, odd wire types, invalid UTF-8, a
// repeated message field), which the caller hands to proto.Unmarshal for
// its exact semantics and errors.
func decodeEnvelope(b []byte) (*Envelope, bool) {
	env := new(Envelope)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || typ != protowire.BytesType {
			return nil, false
		}
		b = b[n:]
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return nil, false
		}
		b = b[n:]
		switch num {
		case fieldID, fieldType, fieldSource, fieldWorker, fieldKey, fieldCausationID, fieldCorrelationID:
			if !utf8.Valid(v) {
				return nil, false
			}
			s := string(v)
			switch num {
			case fieldID:
				env.Id = s
			case fieldType:
				env.Type = s
			case fieldSource:
				env.Source = s
			case fieldWorker:
				env.Worker = s
			case fieldKey:
				env.Key = s
			case fieldCausationID:
				env.CausationId = s
			default:
				env.CorrelationId = s
			}
		case fieldTime, fieldIngested:
			ts, ok := DecodeTimestamp(v)
			if !ok {
				return nil, false
			}
			if num == fieldTime {
				if env.Time != nil {
					return nil, false
				}
				env.Time = ts
			} else {
				if env.Ingested != nil {
					return nil, false
				}
				env.Ingested = ts
			}
		case fieldContentHash:
			env.ContentHash = append([]byte{}, v...)
		case fieldSignature:
			env.Signature = append([]byte{}, v...)
		case fieldPayload:
			env.Payload = v[:len(v):len(v)] // the payload is the bulk of the record: share it
		default:
			return nil, false
		}
	}
	return env, true
}

// DecodeTimestamp decodes an encoded google.protobuf.Timestamp without
// reflection, for direct codecs: ok is false for anything but its two
// varint fields (the caller then falls back to proto.Unmarshal). A field
// given twice takes its last value, as protobuf does.
func DecodeTimestamp(b []byte) (*timestamppb.Timestamp, bool) {
	ts := new(timestamppb.Timestamp)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || typ != protowire.VarintType || (num != 1 && num != 2) {
			return nil, false
		}
		b = b[n:]
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return nil, false
		}
		b = b[n:]
		if num == 1 {
			ts.Seconds = int64(v)
		} else {
			ts.Nanos = int32(v)
		}
	}
	return ts, true
}
