package schemas_test

import (
	"bytes"
	"errors"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// The direct envelope codec (codec.go) must give exactly what deterministic
// protobuf gives, both ways.

var protoDet = proto.MarshalOptions{Deterministic: true}

func codecCases(t testing.TB) []*schemas.Envelope {
	var envs []*schemas.Envelope
	for _, m := range samples() {
		env, err := schemas.Builtin().Wrap(m, sampleMeta())
		if err != nil {
			t.Fatal(err)
		}
		env.Signature = bytes.Repeat([]byte{0}, 64) // zeros, like an empty hash slot
		envs = append(envs, env)
	}
	edge := []*schemas.Envelope{
		{},
		{Id: "x"},
		{Time: &timestamppb.Timestamp{}}, // present but zero: an empty message
		{Time: &timestamppb.Timestamp{Seconds: -62135596800, Nanos: 0}}, // negative seconds: 10-byte varint
		{Ingested: &timestamppb.Timestamp{Seconds: 1, Nanos: -1}},       // negative int32 nanos
		{Payload: bytes.Repeat([]byte{7}, 300), ContentHash: []byte{1}},
		{Key: "ünïcödé ✓", CorrelationId: "c", CausationId: "p"},
	}
	return append(envs, edge...)
}

func TestMarshalEnvelopeMatchesProto(t *testing.T) {
	for i, env := range codecCases(t) {
		want, err := protoDet.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		got, err := schemas.MarshalEnvelope(env)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("case %d: MarshalEnvelope differs from proto.Marshal:\n got %x\nwant %x", i, got, want)
		}
	}
}

func TestSealEnvelopeMatchesSeparateSteps(t *testing.T) {
	for name, m := range samples() {
		env, err := schemas.Builtin().Wrap(m, sampleMeta())
		if err != nil {
			t.Fatal(err)
		}
		env.Signature = bytes.Repeat([]byte{0}, 32)
		want, err := protoDet.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		sealed := proto.Clone(env).(*schemas.Envelope)
		sealed.Payload, sealed.ContentHash = nil, []byte("stale")
		got, err := schemas.SealEnvelope(sealed, m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: SealEnvelope differs from Wrap + Marshal:\n got %x\nwant %x", name, got, want)
		}
		if !bytes.Equal(sealed.GetContentHash(), env.GetContentHash()) || !bytes.Equal(sealed.GetPayload(), env.GetPayload()) {
			t.Errorf("%s: SealEnvelope left the envelope's payload or hash wrong", name)
		}
		if err := schemas.Builtin().Validate(sealed); err != nil {
			t.Errorf("%s: sealed envelope does not validate: %v", name, err)
		}
	}
}

func TestUnmarshalEnvelopeMatchesProto(t *testing.T) {
	for i, env := range codecCases(t) {
		b, err := protoDet.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		got, err := schemas.UnmarshalEnvelope(b)
		if len(b) == 0 || (env.GetId() == "" && env.GetType() == "" && len(env.GetPayload()) == 0) {
			if !errors.Is(err, schemas.ErrInvalidEnvelope) {
				t.Errorf("case %d: an envelope with no fields: got %v", i, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if !proto.Equal(got, env) {
			t.Errorf("case %d: decoded %v, want %v", i, got, env)
		}
	}
	// Fields this build does not know survive a decode and encode.
	env := codecCases(t)[0]
	b, _ := protoDet.Marshal(env)
	b = protowire.AppendTag(b, 99, protowire.BytesType)
	b = protowire.AppendString(b, "from a newer schema")
	got, err := schemas.UnmarshalEnvelope(b)
	if err != nil {
		t.Fatal(err)
	}
	again, err := schemas.MarshalEnvelope(got)
	if err != nil || !bytes.Contains(again, []byte("from a newer schema")) {
		t.Fatalf("unknown field lost: %v", err)
	}
	// Invalid UTF-8 in a string field is proto's error, not a silent accept.
	bad := protowire.AppendTag(nil, 1, protowire.BytesType)
	bad = protowire.AppendBytes(bad, []byte{0xff, 0xfe})
	if _, err := schemas.UnmarshalEnvelope(bad); err == nil {
		t.Fatal("invalid UTF-8 id: want an error")
	}
}

// FuzzEnvelopeCodec: for any bytes, the direct decoder agrees with
// proto.Unmarshal, and the direct encoder with proto.Marshal.
func FuzzEnvelopeCodec(f *testing.F) {
	for _, env := range codecCases(f) {
		b, err := protoDet.Marshal(env)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want := new(fairstreampb.Envelope)
		perr := proto.Unmarshal(data, want)
		got, err := schemas.UnmarshalEnvelope(data)
		empty := want.GetId() == "" && want.GetType() == "" && len(want.GetPayload()) == 0
		switch {
		case perr != nil || empty:
			if err == nil {
				t.Fatalf("proto.Unmarshal: %v (empty %v), but UnmarshalEnvelope accepted %v", perr, empty, got)
			}
			return
		case err != nil:
			t.Fatalf("proto.Unmarshal accepted it, UnmarshalEnvelope: %v", err)
		case !proto.Equal(got, want):
			t.Fatalf("decoded\n got %v\nwant %v", got, want)
		}
		wb, werr := protoDet.Marshal(want)
		gb, gerr := schemas.MarshalEnvelope(got)
		if (werr == nil) != (gerr == nil) || !bytes.Equal(wb, gb) {
			t.Fatalf("encoded: %v %v\n got %x\nwant %x", gerr, werr, gb, wb)
		}
	})
}
