package schemas

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The JSON mapping: field names are the proto names (snake_case), times are
// RFC 3339 in UTC, content_hash and signature are lower-case hex, and the
// payload is the message's protojson form, not its bytes.
var (
	jsonOut = protojson.MarshalOptions{UseProtoNames: true}
	jsonIn  = protojson.UnmarshalOptions{}
)

type envelopeJSON struct {
	ID            string          `json:"id,omitempty"`
	Type          string          `json:"type"`
	Source        string          `json:"source,omitempty"`
	Worker        string          `json:"worker,omitempty"`
	Time          string          `json:"time,omitempty"`
	Ingested      string          `json:"ingested,omitempty"`
	Key           string          `json:"key,omitempty"`
	ContentHash   string          `json:"content_hash,omitempty"`
	Signature     string          `json:"signature,omitempty"`
	CausationID   string          `json:"causation_id,omitempty"`
	CorrelationID string          `json:"correlation_id,omitempty"`
	Payload       json.RawMessage `json:"payload"`
}

// EnvelopeToJSON returns the JSON mapping of an envelope, with its payload
// decoded through the registry.
func (r *Registry) EnvelopeToJSON(env *Envelope) ([]byte, error) {
	m, err := r.Decode(env)
	if err != nil {
		return nil, err
	}
	payload, err := jsonOut.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("payload to JSON: %w", err)
	}
	return json.Marshal(envelopeJSON{
		ID:            env.GetId(),
		Type:          env.GetType(),
		Source:        env.GetSource(),
		Worker:        env.GetWorker(),
		Time:          jsonTime(env.GetTime()),
		Ingested:      jsonTime(env.GetIngested()),
		Key:           env.GetKey(),
		ContentHash:   hex.EncodeToString(env.GetContentHash()),
		Signature:     hex.EncodeToString(env.GetSignature()),
		CausationID:   env.GetCausationId(),
		CorrelationID: env.GetCorrelationId(),
		Payload:       payload,
	})
}

func jsonTime(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return ts.AsTime().UTC().Format(time.RFC3339Nano)
}

// EnvelopeFromJSON parses the JSON mapping of an envelope. The payload is
// decoded as the named type, so an unknown or mistyped field is an error that
// names it, and re-encoded canonically. A content_hash, if given, must match;
// if absent it is computed. Fields left out stay empty: the caller decides
// their defaults (see Registry.Wrap).
func (r *Registry) EnvelopeFromJSON(data []byte) (*Envelope, error) {
	var ej envelopeJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ej); err != nil {
		return nil, fmt.Errorf("envelope JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("envelope JSON: data after the envelope object")
	}
	if ej.Type == "" {
		return nil, fmt.Errorf("envelope JSON: missing \"type\"")
	}
	if len(ej.Payload) == 0 {
		return nil, fmt.Errorf("envelope JSON: missing \"payload\"")
	}
	m, err := r.PayloadFromJSON(ej.Type, ej.Payload)
	if err != nil {
		return nil, err
	}
	payload, err := MarshalPayload(m)
	if err != nil {
		return nil, err
	}
	env := &Envelope{
		Id:            ej.ID,
		Type:          ej.Type,
		Source:        ej.Source,
		Worker:        ej.Worker,
		Key:           ej.Key,
		CausationId:   ej.CausationID,
		CorrelationId: ej.CorrelationID,
		Payload:       payload,
		ContentHash:   ContentHash(payload),
	}
	if env.Time, err = parseJSONTime("time", ej.Time); err != nil {
		return nil, err
	}
	if env.Ingested, err = parseJSONTime("ingested", ej.Ingested); err != nil {
		return nil, err
	}
	if ej.ContentHash != "" {
		h, err := hex.DecodeString(ej.ContentHash)
		if err != nil {
			return nil, fmt.Errorf("envelope JSON: content_hash: %w", err)
		}
		if !bytes.Equal(h, env.ContentHash) {
			return nil, fmt.Errorf("envelope JSON: content_hash %s does not match the payload (%x)", ej.ContentHash, env.ContentHash)
		}
	}
	if ej.Signature != "" {
		if env.Signature, err = hex.DecodeString(ej.Signature); err != nil {
			return nil, fmt.Errorf("envelope JSON: signature: %w", err)
		}
	}
	return env, nil
}

func parseJSONTime(field, s string) (*timestamppb.Timestamp, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, fmt.Errorf("envelope JSON: %s: %w", field, err)
	}
	return timestamppb.New(t), nil
}

// PayloadFromJSON decodes the protojson form of an event type's payload.
func (r *Registry) PayloadFromJSON(eventType string, data []byte) (proto.Message, error) {
	m, err := r.New(eventType)
	if err != nil {
		return nil, err
	}
	if err := jsonIn.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("payload is not a valid %s: %w", eventType, err)
	}
	return m, nil
}

// PayloadToJSON returns the protojson form of a payload.
func PayloadToJSON(m proto.Message) ([]byte, error) {
	b, err := jsonOut.Marshal(m)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
