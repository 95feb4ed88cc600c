package podcast

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// BlobStore keeps downloaded audio by its content. FSStore is the one on
// the local disk; an object store would be another implementation.
type BlobStore interface {
	// Put stores what r yields under its SHA-256 and says where it lies.
	// It returns only once the blob is durable. A read error from r aborts
	// it and leaves nothing behind; storing the same content again returns
	// the same blob.
	Put(ctx context.Context, r io.Reader, ext string) (Blob, error)
	// Open reads a blob that Put stored, by its URI.
	Open(ctx context.Context, uri string) (io.ReadCloser, error)
}

// Blob is one stored piece of content.
type Blob struct {
	// URI is where it lies: file:///<blob_dir>/sha256/<aa>/<hash>.<ext>
	// for FSStore.
	URI    string
	SHA256 [sha256.Size]byte
	Size   int64
}

// FSStore is a BlobStore in a directory:
// <dir>/sha256/<first two hex digits>/<hex SHA-256>.<ext>, written through
// a temporary file in <dir>/tmp that is renamed into place once complete.
type FSStore struct {
	dir string
}

var _ BlobStore = (*FSStore)(nil)

// NewFSStore returns a store in dir, creating it.
func NewFSStore(dir string) (*FSStore, error) {
	if dir == "" {
		return nil, errors.New("blob store: no directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("blob store %s: %w", dir, err)
	}
	for _, d := range []string{filepath.Join(abs, "sha256"), filepath.Join(abs, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("blob store: %w", err)
		}
	}
	return &FSStore{dir: abs}, nil
}

// Dir is the store's directory.
func (s *FSStore) Dir() string { return s.dir }

// Put implements BlobStore.
func (s *FSStore) Put(ctx context.Context, r io.Reader, ext string) (Blob, error) {
	f, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "put-*")
	if err != nil {
		return Blob{}, fmt.Errorf("blob store: %w", err)
	}
	tmp := f.Name()
	discard := func() {
		_ = f.Close()
		_ = os.Remove(tmp)
	}
	fail := func(err error) (Blob, error) {
		discard()
		return Blob{}, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), ctxReader{ctx, r})
	if err != nil {
		return fail(err)
	}
	b := Blob{Size: n}
	h.Sum(b.SHA256[:0])
	final := s.path(hex.EncodeToString(b.SHA256[:]), ext)
	b.URI = (&url.URL{Scheme: "file", Path: filepath.ToSlash(final)}).String()
	if fi, err := os.Stat(final); err == nil && fi.Size() == n {
		discard() // the same content is there already
		return b, nil
	}
	if err := f.Sync(); err != nil {
		return fail(fmt.Errorf("blob store: %w", err))
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(tmp)
		return Blob{}, fmt.Errorf("blob store: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		_ = os.Remove(tmp)
		return Blob{}, fmt.Errorf("blob store: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		_ = os.Remove(tmp)
		return Blob{}, fmt.Errorf("blob store: %w", err)
	}
	// The rename must survive a crash too: the event that points at the
	// blob is committed right after.
	if d, err := os.Open(filepath.Dir(final)); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return b, nil
}

// Open implements BlobStore: uri must name a file of this store.
func (s *FSStore) Open(ctx context.Context, uri string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "file" {
		return nil, fmt.Errorf("blob store: %q is not a file URI", uri)
	}
	p := filepath.Clean(filepath.FromSlash(u.Path))
	if !strings.HasPrefix(p, filepath.Join(s.dir, "sha256")+string(filepath.Separator)) {
		return nil, fmt.Errorf("blob store: %q is not in %s", uri, s.dir)
	}
	return os.Open(p)
}

func (s *FSStore) path(hexSum, ext string) string {
	return filepath.Join(s.dir, "sha256", hexSum[:2], hexSum+"."+cleanExt(ext))
}

// cleanExt keeps a short alphanumeric extension; anything else is "bin".
func cleanExt(ext string) string {
	ext = strings.ToLower(strings.TrimPrefix(ext, "."))
	if ext == "" || len(ext) > 8 {
		return "bin"
	}
	for _, c := range ext {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return "bin"
		}
	}
	return ext
}

// ctxReader stops a copy once its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
