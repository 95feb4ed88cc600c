// Package schemas holds fairstream's event envelope and payload types.
//
// The .proto sources live in proto/fairstream/v1 and the generated Go in
// fairstreampb; `make generate` regenerates it with the tools pinned in
// tools/go.mod. Every payload message names its event type with the
// (fairstream.v1.event_type) option, for example "raw.web/v1", and a
// Registry maps those names to Go types: it is built from the descriptors,
// never filled by init.
//
// Payloads travel inside an Envelope, whose payload field is the canonical
// (deterministic) binary encoding of the message and whose content_hash is
// the SHA-256 of those bytes. CanonicalBytes gives the bytes a worker
// signature covers. EnvelopeToJSON and EnvelopeFromJSON give the JSON mapping the
// HTTP API and the CLI use: the envelope's fields with the payload inlined as
// its own JSON object.
//
// The released descriptor set in released/ is the compatibility baseline:
// `make schemas-check` (and the tests) fail on a change that would break
// readers of the log or of the JSON API.
package schemas
