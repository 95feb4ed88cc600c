package schemas_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/fairstream/fairstream/schemas"
	pb "github.com/fairstream/fairstream/schemas/fairstreampb"
)

func releasedPath() string { return filepath.FromSlash(schemas.ReleasedDescriptorSet) }

func releasedSet(t *testing.T) *descriptorpb.FileDescriptorSet {
	t.Helper()
	data, err := os.ReadFile(releasedPath())
	if err != nil {
		t.Fatal(err)
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(data, &set); err != nil {
		t.Fatal(err)
	}
	return &set
}

func registryFromSet(t *testing.T, set *descriptorpb.FileDescriptorSet) *schemas.Registry {
	t.Helper()
	data, err := proto.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	r, err := schemas.RegistryFromDescriptorSet(data)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// setEventType sets (or, with "", removes) the event_type option of a
// top-level message in a descriptor set.
func setEventType(t *testing.T, set *descriptorpb.FileDescriptorSet, message, eventType string) {
	t.Helper()
	for _, f := range set.GetFile() {
		for _, m := range f.GetMessageType() {
			if f.GetPackage()+"."+m.GetName() != message {
				continue
			}
			if m.Options == nil {
				m.Options = &descriptorpb.MessageOptions{}
			}
			if eventType == "" {
				proto.ClearExtension(m.Options, pb.E_EventType)
			} else {
				proto.SetExtension(m.Options, pb.E_EventType, eventType)
			}
			return
		}
	}
	t.Fatalf("no message %s in the descriptor set", message)
}

func TestReleasedEventTypesStillRegistered(t *testing.T) {
	released, err := schemas.LoadRegistry(releasedPath())
	if err != nil {
		t.Fatal(err)
	}
	// The baseline is real: the released set holds the v1 types (so an empty
	// or foreign file cannot pass the check vacuously).
	for _, typ := range []string{"raw.tweet/v1", "raw.web/v1", "doc.structured/v1"} {
		if _, err := released.Lookup(typ); err != nil {
			t.Errorf("released set: %v", err)
		}
	}
	if err := schemas.CheckCompatible(released, schemas.Builtin()); err != nil {
		t.Fatalf("the builtin registry is incompatible with %s:\n%v", schemas.ReleasedDescriptorSet, err)
	}
}

func TestCheckCompatible(t *testing.T) {
	released := registryFromSet(t, releasedSet(t))
	if err := schemas.CheckCompatible(released, released); err != nil {
		t.Errorf("a registry is incompatible with itself: %v", err)
	}
	// Released types are served as dynamic messages with the same names.
	for _, typ := range released.Types() {
		r, _ := released.Lookup(typ)
		b, err := schemas.Builtin().Lookup(typ)
		if err != nil || r.Descriptor().FullName() != b.Descriptor().FullName() {
			t.Errorf("%s: released %s, builtin %v (%v)", typ, r.Descriptor().FullName(), b, err)
		}
	}

	for _, tc := range []struct {
		name string
		edit func(*descriptorpb.FileDescriptorSet)
		want []string // "" means compatible
	}{
		{"new event type", func(s *descriptorpb.FileDescriptorSet) {
			setEventType(t, s, "fairstream.v1.Lineage", "doc.lineage/v1")
		}, nil},
		{"event type removed", func(s *descriptorpb.FileDescriptorSet) {
			setEventType(t, s, "fairstream.v1.RawWebPage", "")
		}, []string{`"raw.web/v1"`, "fairstream.v1.RawWebPage", "no longer registered"}},
		{"event type renamed to a new version", func(s *descriptorpb.FileDescriptorSet) {
			setEventType(t, s, "fairstream.v1.RawDiscordMessage", "raw.discord/v2")
		}, []string{`"raw.discord/v1"`, "no longer registered"}},
		{"event type moved to another message", func(s *descriptorpb.FileDescriptorSet) {
			setEventType(t, s, "fairstream.v1.RawWebPage", "")
			setEventType(t, s, "fairstream.v1.Link", "raw.web/v1")
		}, []string{`"raw.web/v1"`, "fairstream.v1.RawWebPage", "fairstream.v1.Link"}},
		{"two event types swapped", func(s *descriptorpb.FileDescriptorSet) {
			setEventType(t, s, "fairstream.v1.RawWebPage", "raw.tweet/v1")
			setEventType(t, s, "fairstream.v1.RawTweet", "raw.web/v1")
		}, []string{`"raw.web/v1"`, `"raw.tweet/v1"`, "now message fairstream.v1.RawTweet", "now message fairstream.v1.RawWebPage"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := releasedSet(t)
			tc.edit(set)
			current := registryFromSet(t, set)
			err := schemas.CheckCompatible(released, current)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("CheckCompatible = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, schemas.ErrIncompatible) {
				t.Fatalf("CheckCompatible = %v, want ErrIncompatible", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("CheckCompatible error does not mention %s:\n%v", w, err)
				}
			}
		})
	}
}

func TestRegistryFromDescriptorSetErrors(t *testing.T) {
	if _, err := schemas.RegistryFromDescriptorSet([]byte("not a descriptor set \xff")); err == nil {
		t.Error("garbage: no error")
	}
	// A set that lacks an imported file is not self-contained.
	set := releasedSet(t)
	set.File = slices.DeleteFunc(set.File, func(f *descriptorpb.FileDescriptorProto) bool {
		return f.GetName() == "google/protobuf/timestamp.proto"
	})
	data, err := proto.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := schemas.RegistryFromDescriptorSet(data); err == nil || !strings.Contains(err.Error(), "timestamp.proto") {
		t.Errorf("set without timestamp.proto: %v", err)
	}
	// Two messages claiming one event type.
	set = releasedSet(t)
	setEventType(t, set, "fairstream.v1.Link", "raw.web/v1")
	data, _ = proto.Marshal(set)
	if _, err := schemas.RegistryFromDescriptorSet(data); err == nil || !strings.Contains(err.Error(), "declared by both") {
		t.Errorf("duplicate event type: %v", err)
	}
	if _, err := schemas.LoadRegistry(filepath.Join(t.TempDir(), "missing.binpb")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadRegistry(missing) = %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.binpb")
	if err := os.WriteFile(bad, []byte{0xff}, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := schemas.LoadRegistry(bad); err == nil || !strings.Contains(err.Error(), "bad.binpb") {
		t.Errorf("LoadRegistry(bad) = %v", err)
	}
}

// TestReleasedEventTypeFromUnknownOption checks that the event_type option is
// read even when the options were parsed without the extension linked in
// (as unknown fields), as a tool reading the set with another resolver would.
func TestReleasedEventTypeFromUnknownOption(t *testing.T) {
	data, err := os.ReadFile(releasedPath())
	if err != nil {
		t.Fatal(err)
	}
	var set descriptorpb.FileDescriptorSet
	if err := (proto.UnmarshalOptions{Resolver: new(protoregistry.Types)}).Unmarshal(data, &set); err != nil {
		t.Fatal(err)
	}
	for _, f := range set.GetFile() {
		for _, m := range f.GetMessageType() {
			if m.GetName() == "RawWebPage" && proto.HasExtension(m.GetOptions(), pb.E_EventType) {
				t.Fatal("the option was resolved; the test does not test the unknown-field path")
			}
		}
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		t.Fatal(err)
	}
	var fds []protoreflect.FileDescriptor
	files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		fds = append(fds, fd)
		return true
	})
	r, err := schemas.NewRegistry(fds...)
	if err != nil {
		t.Fatal(err)
	}
	if err := schemas.CheckCompatible(r, schemas.Builtin()); err != nil {
		t.Fatal(err)
	}
	if got := r.Types(); !slices.Contains(got, "raw.web/v1") {
		t.Errorf("Types() = %q", got)
	}
}
