package identity_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/fairstream/fairstream/connectors/identity"
	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

func envelope(t *testing.T) *schemas.Envelope {
	t.Helper()
	env, err := schemas.Builtin().Wrap(&fairstreampb.RawTweet{Id: "1", Text: "fair data ✓"}, schemas.Meta{Source: "twitter", Key: "1"})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestSignVerify(t *testing.T) {
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	env := envelope(t)
	if err := id.Sign(env); err != nil {
		t.Fatal(err)
	}
	if env.GetWorker() != id.Address() || len(env.GetSignature()) != 65 {
		t.Fatalf("worker %q, signature %d bytes", env.GetWorker(), len(env.GetSignature()))
	}
	if err := identity.Verify(env); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	// ingested is not covered: the bus may set it after signing.
	env.Ingested = nil
	if err := identity.Verify(env); err != nil {
		t.Fatalf("Verify after the bus set ingested: %v", err)
	}

	other, _ := identity.Generate()
	for name, tamper := range map[string]func(e *schemas.Envelope){
		"payload":      func(e *schemas.Envelope) { e.Payload = append([]byte{}, append(e.Payload, 0)...) },
		"content hash": func(e *schemas.Envelope) { e.Payload = []byte{1}; e.ContentHash = schemas.ContentHash(e.Payload) },
		"key":          func(e *schemas.Envelope) { e.Key = "2" },
		"correlation":  func(e *schemas.Envelope) { e.CorrelationId = "job-9" },
		"worker":       func(e *schemas.Envelope) { e.Worker = other.Address() },
		"signature":    func(e *schemas.Envelope) { e.Signature = append([]byte{}, e.Signature...); e.Signature[3] ^= 1 },
		"short sig":    func(e *schemas.Envelope) { e.Signature = e.Signature[:10] },
		"bad worker":   func(e *schemas.Envelope) { e.Worker = "me" },
	} {
		e := envelope(t)
		if err := id.Sign(e); err != nil {
			t.Fatal(err)
		}
		tamper(e)
		if err := identity.Verify(e); !errors.Is(err, identity.ErrBadSignature) {
			t.Errorf("tampered %s: Verify = %v, want ErrBadSignature", name, err)
		}
	}
}

func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys", "worker.key")
	id, _ := identity.Generate()
	if err := id.Save(path, "", identity.LightScryptN, false); err == nil {
		t.Fatal("Save with an empty passphrase: want an error")
	}
	if err := id.Save(path, "correct horse", identity.LightScryptN, false); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	if err := id.Save(path, "correct horse", identity.LightScryptN, false); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("second Save: %v, want a refusal to overwrite", err)
	}
	back, err := identity.Load(path, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if back.Address() != id.Address() {
		t.Fatalf("loaded %s, saved %s", back.Address(), id.Address())
	}
	if _, err := identity.Load(path, "wrong"); err == nil || !strings.Contains(err.Error(), "FAIRSTREAM_WORKER_PASSPHRASE") {
		t.Fatalf("wrong passphrase: %v", err)
	}
	if _, err := identity.Load(filepath.Join(dir, "none.key"), "x"); !errors.Is(err, identity.ErrNoKey) {
		t.Fatalf("missing file: %v", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := identity.Load(path, "correct horse"); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable key: %v", err)
	}
}

// The peer ID comes from the same key: its public key is the worker's.
func TestPeerID(t *testing.T) {
	id, err := identity.FromHex("b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291")
	if err != nil {
		t.Fatal(err)
	}
	if id.Address() != "0x71562b71999873DB5b286dF957af199Ec94617F7" {
		t.Fatalf("address %s", id.Address())
	}
	pid, err := id.PeerID()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := pid.ExtractPublicKey()
	if err != nil {
		t.Fatal(err)
	}
	if pub.Type() != crypto.Secp256k1 {
		t.Fatalf("peer key type %v", pub.Type())
	}
	again, _ := id.PeerID()
	if pid != again || pid.String() == "" {
		t.Fatalf("peer ID not stable: %s %s", pid, again)
	}
}
