#!/usr/bin/env python3
"""Writes canonical_v1.json: an independent reference implementation of
fairstream envelope v1 canonical bytes (schemas.CanonicalBytes), so that the Go
test checks the Go code against the documented format rather than against
itself. The vector must never change: signatures made over it would break."""
import base64, calendar, datetime, hashlib, json, struct


def uvarint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field(num, data):  # a length-delimited protobuf field
    return uvarint(num << 3 | 2) + uvarint(len(data)) + data


url, ctype, body = "https://example.org/grüße", "text/html; charset=utf-8", "<p>Schöne Grüße ✓</p>".encode()
headers = {"x-robots-tag": "noai", "content-language": "de"}
# RawWebPage{url=1, status_code=3, content_type=4, headers=8 (sorted), body=9}
payload = field(1, url.encode()) + uvarint(3 << 3) + uvarint(200) + field(4, ctype.encode())
for k in sorted(headers):
    payload += field(8, field(1, k.encode()) + field(2, headers[k].encode()))
payload += field(9, body)
content_hash = hashlib.sha256(payload).digest()

env = {
    "id": "01JPAY3S7MZ4Q1V2X3Y4Z5A6B7",
    "type": "raw.web/v1",
    "source": "web",
    "worker": "0xAbC0000000000000000000000000000000000001",
    "time": "2025-03-14T15:09:26.535897932Z",
    "ingested": "2025-03-14T15:09:28Z",
    "key": "example.org",
    "content_hash": content_hash.hex(),
    "signature": b"ed25519-signature-bytes-not-covered".hex(),
    "causation_id": "01JPAY3S7MZ4Q1V2X3Y4Z5A6B0",
    "payload": {"url": url, "status_code": 200, "content_type": ctype, "headers": headers,
                "body": base64.b64encode(body).decode()},
}
nanos = calendar.timegm(datetime.datetime(2025, 3, 14, 15, 9, 26).timetuple()) * 10**9 + 535897932


def s(x):
    x = x if isinstance(x, bytes) else x.encode()
    return uvarint(len(x)) + x


canonical = (b"fairstream/envelope/v1\n" + s(env["id"]) + s(env["type"]) + s(env["source"]) + s(env["worker"])
             + struct.pack(">q", nanos) + s(env["key"]) + s(content_hash) + s(env["causation_id"]) + s(""))

vec = {
    "description": "Test vector for fairstream envelope v1 canonical bytes (what a worker's signature covers). "
    "canonical = \"fairstream/envelope/v1\\n\" || str(id) || str(type) || str(source) || str(worker) || "
    "int64be(time as Unix nanoseconds) || str(key) || str(content_hash) || str(causation_id) || str(correlation_id), "
    "where str(x) = uvarint(len(x)) || x. content_hash = SHA-256(payload). ingested and signature are not covered. "
    "envelope is the JSON mapping of the HTTP API (correlation_id is empty, so left out); "
    "payload_hex is the canonical protobuf encoding of envelope.payload.",
    "envelope": env,
    "time_unix_nanos": nanos,
    "payload_hex": payload.hex(),
    "canonical_hex": canonical.hex(),
}
with open("canonical_v1.json", "w", encoding="utf-8") as f:
    json.dump(vec, f, indent=2, ensure_ascii=False)
    f.write("\n")
