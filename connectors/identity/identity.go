// Package identity is a worker's identity: one secp256k1 key that gives its
// Ethereum address (the worker ID, and the address it is paid to), its
// libp2p peer ID (the bridge), and its event signatures.
//
// The key lives in an Ethereum keystore file (scrypt-encrypted JSON, mode
// 0600) whose passphrase comes from the environment
// (FAIRSTREAM_WORKER_PASSPHRASE through the CLI's worker.passphrase).
//
// A signature is secp256k1 over SHA-256 of schemas.CanonicalBytes, in the
// 65-byte [R || S || V] form Ethereum uses, so a verifier recovers the
// signer's address and compares it with the envelope's worker field.
// Connectors sign a page of events at once (SignBatch: one signature over a
// Merkle root, a proof per event); every event still verifies on its own.
package identity

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/google/uuid"
	p2pcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/fairstream/fairstream/schemas"
)

// Config locates the worker's key.
type Config struct {
	// KeyFile is the keystore file. The CLI defaults it to <data_dir>/worker.key.
	KeyFile string `mapstructure:"key_file"`
	// Passphrase decrypts it; set it with FAIRSTREAM_WORKER_PASSPHRASE.
	Passphrase string `mapstructure:"passphrase" secret:"true"`
}

// DefaultConfig leaves the key file to the CLI's data directory.
func DefaultConfig() Config { return Config{} }

// Validate reports invalid settings, naming their keys.
func (c Config) Validate() error {
	if c.KeyFile != "" && strings.ContainsRune(c.KeyFile, 0) {
		return errors.New("key_file: not a path")
	}
	return nil
}

// ErrBadSignature is wrapped by every verification failure.
var ErrBadSignature = errors.New("bad signature")

// ErrNoKey is returned by Load when the key file does not exist.
var ErrNoKey = errors.New("no worker key")

// Identity is a worker's key pair.
type Identity struct {
	key  *ecdsa.PrivateKey
	addr common.Address
	hex  string // addr.Hex(), which hashes (EIP-55) on every call
}

// Generate returns a new random identity.
func Generate() (*Identity, error) {
	k, err := crypto.GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return fromKey(k), nil
}

// FromHex returns the identity of a hex private key (with or without 0x),
// for tests and development chains.
func FromHex(s string) (*Identity, error) {
	k, err := crypto.HexToECDSA(strings.TrimPrefix(s, "0x"))
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	return fromKey(k), nil
}

func fromKey(k *ecdsa.PrivateKey) *Identity {
	addr := crypto.PubkeyToAddress(k.PublicKey)
	return &Identity{key: k, addr: addr, hex: addr.Hex()}
}

// Scrypt costs of the keystore file.
const (
	StandardScryptN = keystore.StandardScryptN
	LightScryptN    = keystore.LightScryptN
)

// Save writes the identity to path as an encrypted keystore file, mode
// 0600. It refuses to overwrite a file unless overwrite is set.
func (id *Identity) Save(path, passphrase string, scryptN int, overwrite bool) error {
	if passphrase == "" {
		return errors.New("save worker key: empty passphrase (set FAIRSTREAM_WORKER_PASSPHRASE)")
	}
	if !overwrite {
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("save worker key: %s exists; keep it, or remove it to make a new identity", path)
		}
	}
	u, err := uuid.NewRandom()
	if err != nil {
		return err
	}
	js, err := keystore.EncryptKey(&keystore.Key{Id: u, Address: id.addr, PrivateKey: id.key}, passphrase, scryptN, keystore.StandardScryptP)
	if err != nil {
		return fmt.Errorf("encrypt worker key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("save worker key: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, js, 0o600); err != nil {
		return fmt.Errorf("save worker key: %w", err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil { // WriteFile keeps an existing file's mode
		return fmt.Errorf("save worker key: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save worker key: %w", err)
	}
	return nil
}

// Load decrypts the keystore file at path.
func Load(path, passphrase string) (*Identity, error) {
	js, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist; create it with `fairstream keys gen`", ErrNoKey, path)
	}
	if err != nil {
		return nil, fmt.Errorf("worker key: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("worker key %s is readable by others (mode %o); chmod 600 it", path, fi.Mode().Perm())
	}
	k, err := keystore.DecryptKey(js, passphrase)
	if err != nil {
		return nil, fmt.Errorf("worker key %s: %w (is worker.passphrase / FAIRSTREAM_WORKER_PASSPHRASE right?)", path, err)
	}
	return fromKey(k.PrivateKey), nil
}

// Address is the worker ID: the key's Ethereum address, checksummed hex.
func (id *Identity) Address() string { return id.hex }

// PeerID is the worker's libp2p peer ID, from the same key.
func (id *Identity) PeerID() (peer.ID, error) {
	pk, err := p2pcrypto.UnmarshalSecp256k1PrivateKey(crypto.FromECDSA(id.key))
	if err != nil {
		return "", fmt.Errorf("peer ID: %w", err)
	}
	return peer.IDFromPrivateKey(pk)
}

// Secret derives a secret for label from the key (HMAC-SHA256 keyed by
// the private key), the same for the key every time: a validator samples
// with it when no seed is configured.
func (id *Identity) Secret(label string) string {
	mac := hmac.New(sha256.New, crypto.FromECDSA(id.key))
	mac.Write([]byte(label))
	return hex.EncodeToString(mac.Sum(nil))
}

// digest is what is signed: SHA-256 of the canonical bytes.
func digest(env *schemas.Envelope) []byte {
	var buf [320]byte
	sum := sha256.Sum256(appendCanonical(buf[:0], env))
	return sum[:]
}

// canonicalTag starts schemas.CanonicalBytes.
const canonicalTag = "fairstream/envelope/v1\n"

// appendCanonical appends schemas.CanonicalBytes(env) to dst: the same
// bytes, without allocating when dst has room (a test holds the two equal).
func appendCanonical(dst []byte, env *schemas.Envelope) []byte {
	dst = append(dst, canonicalTag...)
	dst = appendString(dst, env.GetId())
	dst = appendString(dst, env.GetType())
	dst = appendString(dst, env.GetSource())
	dst = appendString(dst, env.GetWorker())
	var nanos int64
	if t := env.GetTime(); t != nil {
		nanos = t.GetSeconds()*1e9 + int64(t.GetNanos())
	}
	dst = binary.BigEndian.AppendUint64(dst, uint64(nanos))
	dst = appendString(dst, env.GetKey())
	dst = binary.AppendUvarint(dst, uint64(len(env.GetContentHash())))
	dst = append(dst, env.GetContentHash()...)
	dst = appendString(dst, env.GetCausationId())
	dst = appendString(dst, env.GetCorrelationId())
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// parseAddress is common.IsHexAddress(s) and common.HexToAddress(s),
// without allocating.
func parseAddress(s string) (common.Address, bool) {
	var a common.Address
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	if len(s) != 2*common.AddressLength {
		return a, false
	}
	for i := range a {
		hi, ok1 := unhex(s[2*i])
		lo, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 {
			return common.Address{}, false
		}
		a[i] = hi<<4 | lo
	}
	return a, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Sign sets env's worker to this identity and its signature over the
// canonical bytes. env's content hash must already be set.
func (id *Identity) Sign(env *schemas.Envelope) error {
	env.Worker = id.Address()
	sig, err := crypto.Sign(digest(env), id.key)
	if err != nil {
		return fmt.Errorf("sign %s: %w", env.GetId(), err)
	}
	env.Signature = sig
	return nil
}

// Verify checks that env's content hash matches its payload and that its
// signature — of the event alone, or of a batch it belongs to, with its
// Merkle proof — was made by the key of its worker address.
func Verify(env *schemas.Envelope) error { return verify(env, nil) }

func verify(env *schemas.Envelope, v *Verifier) error {
	if sum := sha256.Sum256(env.GetPayload()); !bytes.Equal(env.GetContentHash(), sum[:]) {
		return fmt.Errorf("%w: event %s: content_hash does not match the payload", ErrBadSignature, env.GetId())
	}
	want, ok := parseAddress(env.GetWorker())
	if !ok {
		return fmt.Errorf("%w: event %s: worker %q is not an address", ErrBadSignature, env.GetId(), env.GetWorker())
	}
	sig := env.GetSignature()
	var got common.Address
	switch {
	case len(sig) == crypto.SignatureLength:
		pub, err := crypto.SigToPub(digest(env), sig)
		if err != nil {
			return fmt.Errorf("%w: event %s: %v", ErrBadSignature, env.GetId(), err)
		}
		got = crypto.PubkeyToAddress(*pub)
	case len(sig) > crypto.SignatureLength && sig[0] == batchFormat:
		rootSig, dirs, proof, err := parseBatch(sig)
		if err != nil {
			return fmt.Errorf("%w: event %s: %v", ErrBadSignature, env.GetId(), err)
		}
		root := batchRoot(leafHash(env), dirs, proof, v.memo(rootSig))
		if got, err = v.signer(&root, rootSig); err != nil {
			return fmt.Errorf("%w: event %s: %v", ErrBadSignature, env.GetId(), err)
		}
	default:
		return fmt.Errorf("%w: event %s: signature is %d bytes, neither an event's (%d) nor a batch's", ErrBadSignature, env.GetId(), len(sig), crypto.SignatureLength)
	}
	if got != want {
		return fmt.Errorf("%w: event %s: signed by %s, not by its worker %s", ErrBadSignature, env.GetId(), got.Hex(), env.GetWorker())
	}
	return nil
}
