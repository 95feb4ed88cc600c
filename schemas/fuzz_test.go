package schemas_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/fairstream/fairstream/schemas"
)

// sampleEnvelopes returns one valid envelope of every builtin type.
func sampleEnvelopes(f *testing.F) []*schemas.Envelope {
	var envs []*schemas.Envelope
	for _, m := range samples() {
		env, err := schemas.Builtin().Wrap(m, sampleMeta())
		if err != nil {
			f.Fatal(err)
		}
		env.Signature = []byte{1, 2, 3}
		envs = append(envs, env)
	}
	return envs
}

func FuzzEnvelopeFromJSON(f *testing.F) {
	r := schemas.Builtin()
	for _, env := range sampleEnvelopes(f) {
		data, err := r.EnvelopeToJSON(env)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	if v, err := os.ReadFile(filepath.Join("testdata", "canonical_v1.json")); err == nil {
		f.Add(v)
	}
	f.Add([]byte(`{"type":"raw.web/v1","payload":{}}`))
	f.Add([]byte(`{"type":"doc.structured/v1","time":"1677-01-01T00:00:00Z","payload":{"language_confidence":"NaN"}}`))
	f.Add([]byte(`{"type":"raw.telegram/v1","payload":{"chat":{"id":"-1001234567890"}},"content_hash":""}`))
	f.Add([]byte(`{"type":"raw.web/v1","payload":"CgF1"}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"type":"raw.web/v1","payload":{}} {}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := r.EnvelopeFromJSON(data)
		if err != nil {
			return
		}
		if !bytes.Equal(env.GetContentHash(), schemas.ContentHash(env.GetPayload())) {
			t.Fatalf("accepted envelope has a content_hash that does not match its payload")
		}
		_ = schemas.CanonicalBytes(env)
		if _, err := schemas.MarshalEnvelope(env); err != nil {
			t.Fatalf("accepted envelope does not encode: %v", err)
		}
		if r.Validate(env) != nil {
			return
		}
		// A valid envelope survives JSON and back unchanged.
		out, err := r.EnvelopeToJSON(env)
		if err != nil {
			t.Fatalf("EnvelopeToJSON of an accepted, valid envelope: %v", err)
		}
		again, err := r.EnvelopeFromJSON(out)
		if err != nil {
			t.Fatalf("EnvelopeFromJSON(EnvelopeToJSON(env)): %v\n%s", err, out)
		}
		if !proto.Equal(again, env) {
			t.Fatalf("JSON round trip changed the envelope:\n got %v\nwant %v", again, env)
		}
	})
}

func FuzzUnmarshalEnvelope(f *testing.F) {
	r := schemas.Builtin()
	for _, env := range sampleEnvelopes(f) {
		b, err := schemas.MarshalEnvelope(env)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x00})
	f.Add([]byte("\x12\x0araw.web/v1\x62\x00"))

	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := schemas.UnmarshalEnvelope(data)
		if err != nil {
			return
		}
		b, err := schemas.MarshalEnvelope(env)
		if err != nil {
			t.Fatalf("decoded envelope does not encode: %v", err)
		}
		back, err := schemas.UnmarshalEnvelope(b)
		if err != nil || !proto.Equal(back, env) {
			t.Fatalf("wire round trip: %v\n got %v\nwant %v", err, back, env)
		}
		_ = schemas.CanonicalBytes(env)
		m, err := r.Decode(env)
		if err != nil {
			return
		}
		out, err := r.EnvelopeToJSON(env)
		if err != nil {
			t.Fatalf("EnvelopeToJSON of a decodable envelope: %v", err)
		}
		// The JSON mapping carries the decoded payload and the envelope's
		// known fields: it reads back to the same envelope when the payload
		// bytes were canonical (no unknown fields, canonical field order),
		// the envelope has no unknown fields and ingested is a normalised
		// timestamp (Validate does not check ingested).
		canon, err := schemas.MarshalPayload(m)
		if err != nil || !bytes.Equal(canon, env.GetPayload()) ||
			len(env.ProtoReflect().GetUnknown()) > 0 ||
			len(env.GetTime().ProtoReflect().GetUnknown()) > 0 ||
			(env.GetIngested() != nil && (env.GetIngested().CheckValid() != nil || len(env.GetIngested().ProtoReflect().GetUnknown()) > 0)) {
			return
		}
		again, err := r.EnvelopeFromJSON(out)
		if err != nil {
			t.Fatalf("EnvelopeFromJSON(EnvelopeToJSON(env)): %v\n%s", err, out)
		}
		if !proto.Equal(again, env) {
			t.Fatalf("JSON round trip changed the envelope:\n got %v\nwant %v", again, env)
		}
	})
}
