package schemas_test

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/schemas"
	pb "github.com/fairstream/fairstream/schemas/fairstreampb"
)

var builtinTypes = []string{
	"connector.cursor/v1",
	"connector.error/v1",
	"doc.annotated/v1",
	"doc.embedded/v1",
	"doc.structured/v1",
	"job.status/v1",
	"job/v1",
	"raw.discord/v1",
	"raw.podcast/v1",
	"raw.telegram/v1",
	"raw.tweet/v1",
	"raw.twitter_profile/v1",
	"raw.twitter_trend/v1",
	"raw.web/v1",
	"scores.checkpoint/v1",
	"scores.contribution/v1",
	"scores.tick/v1",
	"scores.verdict/v1",
	"scores.window/v1",
	"trends.snapshot/v1",
}

func TestBuiltinTypes(t *testing.T) {
	r := schemas.Builtin()
	if got := r.Types(); !slices.Equal(got, builtinTypes) {
		t.Fatalf("Builtin().Types() = %q, want %q", got, builtinTypes)
	}
	if r != schemas.Builtin() {
		t.Error("Builtin() built a second registry")
	}
	// Types returns a copy.
	r.Types()[0] = "mutated"
	if r.Types()[0] != builtinTypes[0] {
		t.Error("Types() exposes the registry's slice")
	}
	// Every builtin type is served by its generated Go type.
	for typ, m := range samples() {
		mt, err := r.Lookup(typ)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", typ, err)
		}
		if got, want := mt.Descriptor().FullName(), m.ProtoReflect().Descriptor().FullName(); got != want {
			t.Errorf("Lookup(%q) = %s, want %s", typ, got, want)
		}
		n, err := r.New(typ)
		if err != nil {
			t.Fatalf("New(%q): %v", typ, err)
		}
		if got, want := n.ProtoReflect().Type(), m.ProtoReflect().Type(); got != want {
			t.Errorf("New(%q) is %T, want the generated %T", typ, n, m)
		}
	}
	if len(samples()) != len(builtinTypes) {
		t.Errorf("samples() covers %d types, want %d", len(samples()), len(builtinTypes))
	}
}

func TestLookupUnknown(t *testing.T) {
	r := schemas.Builtin()
	for _, tc := range []struct {
		typ      string
		contains []string
	}{
		{"raw.web/v9", []string{`"raw.web/v9"`, "raw.web/v1"}},
		{"raw.fax/v1", []string{`"raw.fax/v1"`, "raw.web/v1", "raw.tweet/v1", "doc.structured/v1"}},
		{"raw.web", []string{`"raw.web"`, "raw.web/v1"}},
		{"", []string{"known:"}},
	} {
		_, err := r.Lookup(tc.typ)
		if !errors.Is(err, schemas.ErrUnknownType) {
			t.Fatalf("Lookup(%q) = %v, want ErrUnknownType", tc.typ, err)
		}
		for _, s := range tc.contains {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("Lookup(%q) error %q does not mention %s", tc.typ, err, s)
			}
		}
		if _, err := r.New(tc.typ); !errors.Is(err, schemas.ErrUnknownType) {
			t.Errorf("New(%q) = %v, want ErrUnknownType", tc.typ, err)
		}
	}
	// An unknown version lists only that type's versions.
	_, err := r.Lookup("raw.web/v9")
	if strings.Contains(err.Error(), "raw.tweet") {
		t.Errorf("Lookup(raw.web/v9) error %q lists other types", err)
	}
}

func TestTypeOf(t *testing.T) {
	r := schemas.Builtin()
	for typ, m := range samples() {
		got, err := r.TypeOf(m)
		if err != nil || got != typ {
			t.Errorf("TypeOf(%T) = %q, %v; want %q", m, got, err, typ)
		}
	}
	for _, m := range []proto.Message{&pb.Envelope{}, &pb.Link{}, timestamppb.Now(), nil} {
		if _, err := r.TypeOf(m); !errors.Is(err, schemas.ErrUnknownType) {
			t.Errorf("TypeOf(%T) = %v, want ErrUnknownType", m, err)
		}
	}
	if got, err := schemas.TypeFor[*pb.RawWebPage](r); err != nil || got != "raw.web/v1" {
		t.Errorf("TypeFor[*RawWebPage] = %q, %v", got, err)
	}
	if got, err := schemas.TypeFor[*pb.Document](r); err != nil || got != "doc.structured/v1" {
		t.Errorf("TypeFor[*Document] = %q, %v", got, err)
	}
	if _, err := schemas.TypeFor[*pb.Lineage](r); !errors.Is(err, schemas.ErrUnknownType) {
		t.Errorf("TypeFor[*Lineage] = %v, want ErrUnknownType", err)
	}
}

func TestEventTypeOf(t *testing.T) {
	if got := schemas.EventTypeOf((&pb.RawTelegramMessage{}).ProtoReflect().Descriptor()); got != "raw.telegram/v1" {
		t.Errorf("EventTypeOf(RawTelegramMessage) = %q", got)
	}
	if got := schemas.EventTypeOf((&pb.TelegramChat{}).ProtoReflect().Descriptor()); got != "" {
		t.Errorf("EventTypeOf(TelegramChat) = %q, want empty", got)
	}
}

// testFile returns a file descriptor with messages named after the keys of
// types, each carrying the event_type option of its value ("" for none).
func testFile(t *testing.T, name string, types map[string]string) *descriptorpb.FileDescriptorProto {
	t.Helper()
	fdp := &descriptorpb.FileDescriptorProto{
		Name:    proto.String(name + ".proto"),
		Package: proto.String("test." + name),
		Syntax:  proto.String("proto3"),
	}
	for _, msg := range slices.Sorted(maps.Keys(types)) {
		opts := &descriptorpb.MessageOptions{}
		if et := types[msg]; et != "" {
			proto.SetExtension(opts, pb.E_EventType, et)
		}
		fdp.MessageType = append(fdp.MessageType, &descriptorpb.DescriptorProto{
			Name:    proto.String(msg),
			Options: opts,
			Field: []*descriptorpb.FieldDescriptorProto{{
				Name:     proto.String("text"),
				JsonName: proto.String("text"),
				Number:   proto.Int32(1),
				Type:     descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(),
				Label:    descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
			}},
		})
	}
	return fdp
}

func newTestRegistry(t *testing.T, types map[string]string) (*schemas.Registry, error) {
	t.Helper()
	fd, err := protodesc.NewFile(testFile(t, "reg", types), nil)
	if err != nil {
		t.Fatal(err)
	}
	return schemas.NewRegistry(fd)
}

func TestNewRegistry(t *testing.T) {
	r, err := newTestRegistry(t, map[string]string{"A": "test.a/v1", "B": "test.a/v2", "C": ""})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Types(), []string{"test.a/v1", "test.a/v2"}; !slices.Equal(got, want) {
		t.Errorf("Types() = %q, want %q", got, want)
	}
	// Messages without a Go type are served as dynamic messages, and the
	// registry round-trips them like generated ones.
	m, err := r.New("test.a/v2")
	if err != nil {
		t.Fatal(err)
	}
	if m.ProtoReflect().Descriptor().FullName() != "test.reg.B" {
		t.Errorf("New(test.a/v2) is %s", m.ProtoReflect().Descriptor().FullName())
	}
	fd := m.ProtoReflect().Descriptor().Fields().ByName("text")
	m.ProtoReflect().Set(fd, protoreflect.ValueOfString("dynamisch ✓"))
	env, err := r.Wrap(m, schemas.Meta{Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Decode(env)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, m) {
		t.Errorf("dynamic round trip: got %v, want %v", got, m)
	}
	if _, err := r.TypeOf(&pb.RawWebPage{}); !errors.Is(err, schemas.ErrUnknownType) {
		t.Errorf("TypeOf(RawWebPage) in a test registry = %v", err)
	}

	for _, tc := range []struct {
		name  string
		types map[string]string
		want  string
	}{
		{"duplicate", map[string]string{"A": "test.a/v1", "B": "test.a/v1"}, "declared by both"},
		{"no version", map[string]string{"A": "test.a"}, "not of the form"},
		{"bad version", map[string]string{"A": "test.a/1"}, "not of the form"},
		{"empty version", map[string]string{"A": "test.a/v"}, "not of the form"},
		{"letters in version", map[string]string{"A": "test.a/v1beta"}, "not of the form"},
		{"no name", map[string]string{"A": "/v1"}, "not of the form"},
	} {
		if _, err := newTestRegistry(t, tc.types); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: NewRegistry = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}
