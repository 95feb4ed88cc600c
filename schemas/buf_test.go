package schemas_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fairstream/fairstream/schemas"
)

// The tests in this file run buf, pinned in tools/go.mod, through `go tool`.
// On a cold build cache the first run compiles buf, which takes a minute or
// two; -short skips them.

// schemasDir returns the absolute path of the schemas directory (the one
// holding buf.yaml and buf.gen.yaml), found from the working directory.
func schemasDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; {
		for _, c := range []string{d, filepath.Join(d, "schemas")} {
			if isFile(filepath.Join(c, "buf.gen.yaml")) && isFile(filepath.Join(c, "buf.yaml")) && isFile(filepath.Join(c, "..", "tools", "go.mod")) {
				return c
			}
		}
		parent := filepath.Dir(d)
		if parent == d {
			t.Fatalf("no schemas directory (with buf.yaml, buf.gen.yaml and ../tools/go.mod) at or above %s", dir)
		}
		d = parent
	}
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs buf; skipped in -short mode")
	}
}

// buf runs the pinned buf with args in the schemas directory and returns its
// output. Paths in args are relative to the schemas directory.
func buf(t *testing.T, args ...string) (string, error) {
	t.Helper()
	skipShort(t)
	dir := schemasDir(t)
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to run buf (go tool -modfile=../tools/go.mod buf): %v", err)
	}
	cmd := exec.Command(goBin, append([]string{"tool", "-modfile=../tools/go.mod", "buf"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "NO_COLOR=1")
	// buf reports on stdout. Stderr also carries the go command's own
	// progress ("go: downloading ...") on a cold module cache, so it is
	// only returned with a failure.
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run %s: %v", cmd, err)
	}
	if err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

func TestBufBreaking(t *testing.T) {
	out, err := buf(t, "breaking", "proto", "--against", schemas.ReleasedDescriptorSet)
	if err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("buf breaking proto --against %s reports a breaking change (%v). "+
			"Make the change as a new schema version instead; see released/README.md:\n%s",
			schemas.ReleasedDescriptorSet, err, out)
	}
}

// copyModule copies buf.yaml and proto/ into a temporary directory and
// returns it, so that a test can break the copy.
func copyModule(t *testing.T) string {
	t.Helper()
	src := schemasDir(t)
	dst := t.TempDir()
	copyFile := func(from, to string) {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(filepath.Join(src, "buf.yaml"), filepath.Join(dst, "buf.yaml"))
	err := filepath.WalkDir(filepath.Join(src, "proto"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		copyFile(p, filepath.Join(dst, rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// editProto replaces old by new, exactly once, in a proto file of a copy.
func editProto(t *testing.T, module, file, old, new string) {
	t.Helper()
	p := filepath.Join(module, "proto", "fairstream", "v1", file)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), old); n != 1 {
		t.Fatalf("%s holds %q %d times, want once", file, old, n)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBufBreakingDetects proves that TestBufBreaking can fail: the same
// check, on a copy of the schemas with a breaking edit, fails and names the
// field.
func TestBufBreakingDetects(t *testing.T) {
	skipShort(t)
	released := filepath.Join(schemasDir(t), schemas.ReleasedDescriptorSet)
	breaking := func(t *testing.T, module string) (string, error) {
		return buf(t, "breaking", filepath.Join(module, "proto"), "--against", released)
	}

	t.Run("unchanged copy passes", func(t *testing.T) {
		if out, err := breaking(t, copyModule(t)); err != nil {
			t.Fatalf("buf breaking on an unchanged copy: %v\n%s", err, out)
		}
	})
	for _, tc := range []struct {
		name, file, old, new string
		want                 []string
	}{
		{"Envelope.id changes type", "envelope.proto", "  string id = 1;", "  bytes id = 1;",
			[]string{`"id"`, `"Envelope"`, `"string"`, `"bytes"`}},
		{"RawWebPage.seed deleted", "raw.proto", "  string seed = 13;\n", "",
			[]string{`"seed"`, `"RawWebPage"`, "deleted"}},
		{"RawWebPage.etag renumbered", "raw.proto", "  string etag = 6;", "  string etag = 26;",
			[]string{`"etag"`, `"RawWebPage"`}},
		{"RawWebPage.final_url renamed", "raw.proto", "  string final_url = 2;", "  string redirect_url = 2;",
			[]string{`"final_url"`, `"redirect_url"`, `"RawWebPage"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			module := copyModule(t)
			editProto(t, module, tc.file, tc.old, tc.new)
			out, err := breaking(t, module)
			if err == nil {
				t.Fatalf("buf breaking passed a breaking change:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("buf breaking output does not mention %s:\n%s", w, out)
				}
			}
		})
	}
}

// TestGeneratedCodeUpToDate regenerates fairstreampb into a temporary
// directory and compares it with the committed code. buf generate -o puts
// each plugin's out: (fairstreampb) under the given directory.
func TestGeneratedCodeUpToDate(t *testing.T) {
	tmp := t.TempDir()
	if out, err := buf(t, "generate", "--template", "buf.gen.yaml", "-o", tmp); err != nil {
		t.Fatalf("buf generate: %v\n%s", err, out)
	}
	dir := schemasDir(t)
	var generated []string
	err := filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(tmp, p)
		if err != nil {
			return err
		}
		generated = append(generated, rel)
		want, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		got, err := os.ReadFile(filepath.Join(dir, rel))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			t.Errorf("schemas/%s is generated but not committed: run make generate", filepath.ToSlash(rel))
		case err != nil:
			return err
		case !bytes.Equal(got, want):
			t.Errorf("schemas/%s is stale (differs from what buf generate writes): run make generate", filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(generated) == 0 {
		t.Fatal("buf generate wrote nothing")
	}
	committed, err := filepath.Glob(filepath.Join(dir, "fairstreampb", "*.pb.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range committed {
		rel, _ := filepath.Rel(dir, p)
		if !slices.Contains(generated, rel) {
			t.Errorf("schemas/%s is committed but no longer generated: delete it, then run make generate", filepath.ToSlash(rel))
		}
	}
}
