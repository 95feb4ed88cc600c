package schemas_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/fairstream/fairstream/schemas"
	pb "github.com/fairstream/fairstream/schemas/fairstreampb"
)

func TestJSONRoundTrip(t *testing.T) {
	r := schemas.Builtin()
	for typ, m := range samples() {
		t.Run(typ, func(t *testing.T) {
			env, err := r.Wrap(m, sampleMeta())
			if err != nil {
				t.Fatal(err)
			}
			env.Signature = []byte{0xde, 0xad, 0xbe, 0xef, 0x00, 0x01}
			data, err := r.EnvelopeToJSON(env)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(data) {
				t.Fatalf("not JSON: %s", data)
			}
			got, err := r.EnvelopeFromJSON(data)
			if err != nil {
				t.Fatalf("EnvelopeFromJSON(%s): %v", data, err)
			}
			if !proto.Equal(got, env) {
				t.Fatalf("JSON round trip changed the envelope:\n got %v\nwant %v\nJSON %s", got, env, data)
			}
			if !bytes.Equal(got.GetContentHash(), env.GetContentHash()) || !bytes.Equal(schemas.CanonicalBytes(got), schemas.CanonicalBytes(env)) {
				t.Error("JSON round trip changed the content hash or the canonical bytes")
			}
			// Second trip: the JSON is stable.
			again, err := r.EnvelopeToJSON(got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, data) {
				t.Errorf("JSON is not stable:\n%s\n%s", data, again)
			}
		})
	}
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// checkKeys fails for every object key in v that is not snake_case, except
// in the objects named by free (map fields, whose keys are data).
func checkKeys(t *testing.T, path string, v any, free map[string]bool) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, sub := range v {
			if !free[path] && !snakeCase.MatchString(k) {
				t.Errorf("JSON key %s.%s is not snake_case", path, k)
			}
			checkKeys(t, path+"."+k, sub, free)
		}
	case []any:
		for _, sub := range v {
			checkKeys(t, path+"[]", sub, free)
		}
	}
}

func TestJSONShape(t *testing.T) {
	r := schemas.Builtin()
	env, err := r.Wrap(samples()["raw.tweet/v1"], sampleMeta())
	if err != nil {
		t.Fatal(err)
	}
	env.Signature = []byte{0xAB, 0xCD}
	data, err := r.EnvelopeToJSON(env)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal(data, &obj); err != nil {
		t.Fatal(err)
	}
	checkKeys(t, "", obj, nil)
	for _, k := range []string{"id", "type", "source", "worker", "time", "ingested", "key", "content_hash", "signature", "causation_id", "correlation_id", "payload"} {
		if _, ok := obj[k]; !ok {
			t.Errorf("JSON has no %q: %s", k, data)
		}
	}
	if got, want := obj["content_hash"], hex.EncodeToString(env.GetContentHash()); got != want {
		t.Errorf("content_hash = %v, want lower-case hex %s", got, want)
	}
	if got := obj["signature"]; got != "abcd" {
		t.Errorf("signature = %v, want abcd", got)
	}
	if got := obj["time"]; got != "2025-03-14T15:09:26.535897932Z" {
		t.Errorf("time = %v, want RFC 3339 in UTC", got)
	}
	payload, ok := obj["payload"].(map[string]any)
	if !ok {
		t.Fatalf("payload is %T, want a JSON object (not base64): %s", obj["payload"], data)
	}
	if payload["author_id"] != "12345" || payload["in_reply_to_user_id"] != "678" {
		t.Errorf("payload does not use proto (snake_case) names: %v", payload)
	}
	if _, ok := payload["public_metrics"].(map[string]any)["impression_count"]; !ok {
		t.Errorf("nested payload field names are not snake_case: %v", payload["public_metrics"])
	}

	// Map keys are data and keep their case; the rest is snake_case.
	env, err = r.Wrap(&pb.RawWebPage{Url: "u", Headers: map[string]string{"X-Mixed-Case": "1"}}, sampleMeta())
	if err != nil {
		t.Fatal(err)
	}
	data, err = r.EnvelopeToJSON(env)
	if err != nil {
		t.Fatal(err)
	}
	obj = nil
	if err := json.Unmarshal(data, &obj); err != nil {
		t.Fatal(err)
	}
	checkKeys(t, "", obj, map[string]bool{".payload.headers": true})
	if !strings.Contains(string(data), `"X-Mixed-Case":"1"`) {
		t.Errorf("map key lost its case: %s", data)
	}

	// No signature, no causation: the fields are left out, not empty.
	env.Signature, env.CausationId = nil, ""
	data, _ = r.EnvelopeToJSON(env)
	if strings.Contains(string(data), `"signature"`) || strings.Contains(string(data), `"causation_id"`) {
		t.Errorf("empty fields are not left out: %s", data)
	}
}

func TestJSONPayloadAcceptsCamelCase(t *testing.T) {
	// protojson accepts both the proto name and the JSON name on input.
	r := schemas.Builtin()
	in := `{"type":"raw.web/v1","payload":{"finalUrl":"https://a.example/","status_code":301}}`
	env, err := r.EnvelopeFromJSON([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var p pb.RawWebPage
	if err := proto.Unmarshal(env.GetPayload(), &p); err != nil {
		t.Fatal(err)
	}
	if p.GetFinalUrl() != "https://a.example/" || p.GetStatusCode() != 301 {
		t.Errorf("payload = %v", &p)
	}
	// Fields left out stay empty, and the content hash is computed.
	if env.GetId() != "" || env.GetTime() != nil || env.GetIngested() != nil || env.GetSignature() != nil {
		t.Errorf("defaults filled in: %v", env)
	}
	if !bytes.Equal(env.GetContentHash(), schemas.ContentHash(env.GetPayload())) {
		t.Error("content_hash not computed")
	}
}

func TestJSONErrors(t *testing.T) {
	r := schemas.Builtin()
	valid, err := r.EnvelopeToJSON(validEnvelope(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.EnvelopeFromJSON(valid); err != nil {
		t.Fatalf("valid JSON rejected: %v", err)
	}
	edit := func(f func(map[string]any)) []byte {
		var obj map[string]any
		if err := json.Unmarshal(valid, &obj); err != nil {
			t.Fatal(err)
		}
		f(obj)
		b, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	payload := func(obj map[string]any) map[string]any { return obj["payload"].(map[string]any) }
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"unknown envelope field", edit(func(o map[string]any) { o["colour"] = "blue" }), `"colour"`},
		{"unknown payload field", edit(func(o map[string]any) { payload(o)["http_status"] = 200 }), `"http_status"`},
		{"mistyped payload field", edit(func(o map[string]any) { payload(o)["status_code"] = "two hundred" }), "statusCode"},
		{"wrong content_hash", edit(func(o map[string]any) { o["content_hash"] = strings.Repeat("00", 32) }), "content_hash"},
		{"content_hash not hex", edit(func(o map[string]any) { o["content_hash"] = "xyz" }), "content_hash"},
		{"signature not hex", edit(func(o map[string]any) { o["signature"] = "not hex" }), "signature"},
		{"bad time", edit(func(o map[string]any) { o["time"] = "yesterday" }), "time"},
		{"bad ingested", edit(func(o map[string]any) { o["ingested"] = "2025-13-01T00:00:00Z" }), "ingested"},
		{"missing type", edit(func(o map[string]any) { delete(o, "type") }), `"type"`},
		{"missing payload", edit(func(o map[string]any) { delete(o, "payload") }), `"payload"`},
		{"unknown type", edit(func(o map[string]any) { o["type"] = "raw.web/v7" }), "raw.web/v1"},
		{"payload as base64", edit(func(o map[string]any) { o["payload"] = "CgF1" }), "raw.web/v1"},
		{"payload null", edit(func(o map[string]any) { o["payload"] = nil }), "payload"},
		{"trailing data", append(bytes.Clone(valid), `{"x":1}`...), "after"},
		{"not an object", []byte(`["raw.web/v1"]`), "envelope JSON"},
		{"truncated", valid[:len(valid)/2], "envelope JSON"},
		{"empty", nil, "envelope JSON"},
	} {
		_, err := r.EnvelopeFromJSON(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: EnvelopeFromJSON = %v, want an error containing %s", tc.name, err, tc.want)
		}
	}
}

func TestPayloadJSON(t *testing.T) {
	r := schemas.Builtin()
	for typ, m := range samples() {
		data, err := schemas.PayloadToJSON(m)
		if err != nil {
			t.Fatal(err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, data); err != nil || !bytes.Equal(compact.Bytes(), data) {
			t.Errorf("%s: PayloadToJSON is not compact JSON: %s", typ, data)
		}
		got, err := r.PayloadFromJSON(typ, data)
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(got, m) {
			t.Errorf("%s: payload JSON round trip changed it", typ)
		}
	}
	if _, err := r.PayloadFromJSON("raw.fax/v1", []byte(`{}`)); err == nil {
		t.Error("PayloadFromJSON of an unknown type succeeded")
	}
	_, err := r.PayloadFromJSON("raw.web/v1", []byte(`{"urll":"x"}`))
	if err == nil || !strings.Contains(err.Error(), `"urll"`) || !strings.Contains(err.Error(), "raw.web/v1") {
		t.Errorf("PayloadFromJSON(unknown field) = %v", err)
	}
	if _, err := schemas.PayloadToJSON(&pb.RawWebPage{Url: "\xff"}); err == nil {
		t.Error("PayloadToJSON(invalid UTF-8) succeeded")
	}
}
