package schemas_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/schemas"
	pb "github.com/fairstream/fairstream/schemas/fairstreampb"
)

// canonicalVector is testdata/canonical_v1.json, written by the independent
// reference implementation testdata/canonical_v1.py. It must never change:
// every signature ever made depends on it.
type canonicalVector struct {
	Envelope      json.RawMessage `json:"envelope"`
	TimeUnixNanos int64           `json:"time_unix_nanos"`
	PayloadHex    string          `json:"payload_hex"`
	CanonicalHex  string          `json:"canonical_hex"`
}

func readVector(t *testing.T) canonicalVector {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "canonical_v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v canonicalVector
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCanonicalBytesVector(t *testing.T) {
	v := readVector(t)
	payload := mustHex(t, v.PayloadHex)
	want := mustHex(t, v.CanonicalHex)

	// The envelope built field by field, without the JSON mapping.
	var fields struct {
		ID, Type, Source, Worker, Key, Signature string
		ContentHash                              string `json:"content_hash"`
		CausationID                              string `json:"causation_id"`
		CorrelationID                            string `json:"correlation_id"`
	}
	if err := json.Unmarshal(v.Envelope, &fields); err != nil {
		t.Fatal(err)
	}
	direct := &schemas.Envelope{
		Id:            fields.ID,
		Type:          fields.Type,
		Source:        fields.Source,
		Worker:        fields.Worker,
		Time:          timestamppb.New(time.Unix(0, v.TimeUnixNanos)),
		Ingested:      timestamppb.Now(),
		Key:           fields.Key,
		ContentHash:   mustHex(t, fields.ContentHash),
		Signature:     mustHex(t, fields.Signature),
		CausationId:   fields.CausationID,
		CorrelationId: fields.CorrelationID,
		Payload:       payload,
	}
	if !bytes.Equal(direct.GetContentHash(), schemas.ContentHash(payload)) {
		t.Fatalf("vector content_hash %x is not the SHA-256 of payload_hex", direct.GetContentHash())
	}
	if got := schemas.CanonicalBytes(direct); !bytes.Equal(got, want) {
		t.Fatalf("CanonicalBytes of the test vector:\n got %x\nwant %x", got, want)
	}

	// The same envelope through the JSON mapping: the payload re-encodes to
	// the same canonical bytes, and so to the same content hash.
	r := schemas.Builtin()
	env, err := r.EnvelopeFromJSON(v.Envelope)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(env.GetPayload(), payload) {
		t.Errorf("canonical payload of the vector:\n got %x\nwant %x", env.GetPayload(), payload)
	}
	if got := env.GetTime().AsTime().UnixNano(); got != v.TimeUnixNanos {
		t.Errorf("time = %d ns, want %d", got, v.TimeUnixNanos)
	}
	if got := schemas.CanonicalBytes(env); !bytes.Equal(got, want) {
		t.Errorf("CanonicalBytes of the vector via JSON:\n got %x\nwant %x", got, want)
	}
	if err := r.Validate(env); err != nil {
		t.Errorf("the vector does not validate: %v", err)
	}
	m, err := r.Decode(env)
	if err != nil {
		t.Fatal(err)
	}
	if p := m.(*pb.RawWebPage); p.GetUrl() != "https://example.org/grüße" || p.GetHeaders()["content-language"] != "de" {
		t.Errorf("decoded vector payload = %v", p)
	}
}

// covered lists, in order, the envelope fields CanonicalBytes covers;
// uncovered those it must not. Every Envelope field must be in one of them,
// so adding a field forces a decision here.
var (
	covered   = []protoreflect.Name{"id", "type", "source", "worker", "time", "key", "content_hash", "causation_id", "correlation_id"}
	uncovered = []protoreflect.Name{"ingested", "signature", "payload"}
)

func TestCanonicalBytesCoverage(t *testing.T) {
	fields := (&schemas.Envelope{}).ProtoReflect().Descriptor().Fields()
	for i := range fields.Len() {
		name := fields.Get(i).Name()
		if !slices.Contains(covered, name) && !slices.Contains(uncovered, name) {
			t.Errorf("Envelope field %s is neither covered nor uncovered: decide, then update CanonicalBytes and this test", name)
		}
	}
	base := validEnvelope(t)
	base.Signature = []byte("sig")
	want := schemas.CanonicalBytes(base)
	if !bytes.HasPrefix(want, []byte("fairstream/envelope/v1\n")) {
		t.Errorf("canonical bytes do not start with the tag: %q", want)
	}
	for _, name := range covered {
		fd := fields.ByName(name)
		env := proto.Clone(base).(*schemas.Envelope)
		mutate(t, env, fd)
		if bytes.Equal(schemas.CanonicalBytes(env), want) {
			t.Errorf("changing %s does not change the canonical bytes", name)
		}
		env.ProtoReflect().Clear(fd)
		if bytes.Equal(schemas.CanonicalBytes(env), want) {
			t.Errorf("clearing %s does not change the canonical bytes", name)
		}
	}
	for _, name := range uncovered {
		fd := fields.ByName(name)
		env := proto.Clone(base).(*schemas.Envelope)
		mutate(t, env, fd)
		if !bytes.Equal(schemas.CanonicalBytes(env), want) {
			t.Errorf("changing %s changes the canonical bytes", name)
		}
		env.ProtoReflect().Clear(fd)
		if !bytes.Equal(schemas.CanonicalBytes(env), want) {
			t.Errorf("clearing %s changes the canonical bytes", name)
		}
	}
	// A one-nanosecond change of the event time is covered.
	env := proto.Clone(base).(*schemas.Envelope)
	env.Time.Nanos++
	if bytes.Equal(schemas.CanonicalBytes(env), want) {
		t.Error("a 1 ns change of time does not change the canonical bytes")
	}
	// CanonicalBytes does not modify its argument.
	if !proto.Equal(base, func() *schemas.Envelope { e := validEnvelope(t); e.Signature = []byte("sig"); return e }()) {
		t.Error("CanonicalBytes modified the envelope")
	}
}

// mutate sets a field of env to a different non-empty value.
func mutate(t *testing.T, env *schemas.Envelope, fd protoreflect.FieldDescriptor) {
	t.Helper()
	m := env.ProtoReflect()
	switch fd.Kind() {
	case protoreflect.StringKind:
		m.Set(fd, protoreflect.ValueOfString(m.Get(fd).String()+"x"))
	case protoreflect.BytesKind:
		m.Set(fd, protoreflect.ValueOfBytes(append(slices.Clone(m.Get(fd).Bytes()), 'x')))
	case protoreflect.MessageKind:
		ts := proto.Clone(m.Get(fd).Message().Interface()).(*timestamppb.Timestamp)
		ts.Seconds += 3600
		m.Set(fd, protoreflect.ValueOfMessage(ts.ProtoReflect()))
	default:
		t.Fatalf("cannot mutate %s of kind %s", fd.Name(), fd.Kind())
	}
}

func TestCanonicalBytesNoBoundaryAmbiguity(t *testing.T) {
	fields := (&schemas.Envelope{}).ProtoReflect().Descriptor().Fields()
	// Each pair of variable-length fields adjacent in the canonical bytes
	// (time is fixed-length, so worker and key are not adjacent).
	var stringish []protoreflect.FieldDescriptor
	for _, name := range covered {
		if fd := fields.ByName(name); fd.Kind() != protoreflect.MessageKind {
			stringish = append(stringish, fd)
		}
	}
	set := func(env *schemas.Envelope, fd protoreflect.FieldDescriptor, s string) {
		if fd.Kind() == protoreflect.BytesKind {
			env.ProtoReflect().Set(fd, protoreflect.ValueOfBytes([]byte(s)))
		} else {
			env.ProtoReflect().Set(fd, protoreflect.ValueOfString(s))
		}
	}
	for i := range len(stringish) - 1 {
		a, b := stringish[i], stringish[i+1]
		env1, env2 := validEnvelope(t), validEnvelope(t)
		set(env1, a, "ab")
		set(env1, b, "c")
		set(env2, a, "a")
		set(env2, b, "bc")
		if bytes.Equal(schemas.CanonicalBytes(env1), schemas.CanonicalBytes(env2)) {
			t.Errorf("%s=ab %s=c and %s=a %s=bc give the same canonical bytes", a.Name(), b.Name(), a.Name(), b.Name())
		}
		// An empty field is not the same as a moved one either.
		set(env1, a, "")
		set(env1, b, "abc")
		set(env2, a, "abc")
		set(env2, b, "")
		if bytes.Equal(schemas.CanonicalBytes(env1), schemas.CanonicalBytes(env2)) {
			t.Errorf("%s=\"\" %s=abc and %s=abc %s=\"\" give the same canonical bytes", a.Name(), b.Name(), a.Name(), b.Name())
		}
	}
	// The example from the spec.
	env1, env2 := validEnvelope(t), validEnvelope(t)
	env1.Source, env1.Worker = "ab", "c"
	env2.Source, env2.Worker = "a", "bc"
	if bytes.Equal(schemas.CanonicalBytes(env1), schemas.CanonicalBytes(env2)) {
		t.Error(`source "ab" + worker "c" gives the same canonical bytes as source "a" + worker "bc"`)
	}
	// Long fields (multi-byte uvarint lengths) stay unambiguous.
	env1, env2 = validEnvelope(t), validEnvelope(t)
	long := string(bytes.Repeat([]byte("k"), 300))
	env1.Key, env1.CausationId = long+"k", ""
	env2.Key, env2.CausationId = long, "k"
	if bytes.Equal(schemas.CanonicalBytes(env1), schemas.CanonicalBytes(env2)) {
		t.Error("a 301-byte key gives ambiguous canonical bytes")
	}
}
