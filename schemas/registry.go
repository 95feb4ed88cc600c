package schemas

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// ErrUnknownType is returned for an event type the registry does not hold,
// including a known type at an unknown schema version.
var ErrUnknownType = errors.New("unknown event type")

// Registry maps event type names ("raw.web/v1") to payload message types.
// It is immutable once built and safe for concurrent use.
type Registry struct {
	byType map[string]protoreflect.MessageType
	byName map[protoreflect.FullName]string
	types  []string
}

// Builtin returns the registry of every payload type fairstream ships.
func Builtin() *Registry { return builtin() }

var builtin = sync.OnceValue(func() *Registry {
	r, err := NewRegistry(
		fairstreampb.File_fairstream_v1_raw_proto,
		fairstreampb.File_fairstream_v1_document_proto,
		fairstreampb.File_fairstream_v1_worker_proto,
		fairstreampb.File_fairstream_v1_annotated_proto,
		fairstreampb.File_fairstream_v1_trends_proto,
		fairstreampb.File_fairstream_v1_embedded_proto,
		fairstreampb.File_fairstream_v1_scores_proto,
	)
	if err != nil {
		// The generated descriptors are compiled in; an error here is a
		// bug caught by every test run.
		panic(fmt.Sprintf("schemas: builtin registry: %v", err))
	}
	return r
})

// NewRegistry builds a registry from every message in files that carries the
// event_type option. Messages without a generated Go type are served as
// dynamic messages, so a registry can also be built from a descriptor set.
func NewRegistry(files ...protoreflect.FileDescriptor) (*Registry, error) {
	r := &Registry{
		byType: make(map[string]protoreflect.MessageType),
		byName: make(map[protoreflect.FullName]string),
	}
	for _, fd := range files {
		msgs := fd.Messages()
		for i := range msgs.Len() {
			md := msgs.Get(i)
			name := EventTypeOf(md)
			if name == "" {
				continue
			}
			if err := checkTypeName(name); err != nil {
				return nil, fmt.Errorf("%s: %w", md.FullName(), err)
			}
			if prev, ok := r.byType[name]; ok {
				return nil, fmt.Errorf("event type %q is declared by both %s and %s", name, prev.Descriptor().FullName(), md.FullName())
			}
			mt, err := protoregistry.GlobalTypes.FindMessageByName(md.FullName())
			if err != nil || mt.Descriptor() != md {
				mt = dynamicpb.NewMessageType(md)
			}
			r.byType[name] = mt
			r.byName[md.FullName()] = name
			r.types = append(r.types, name)
		}
	}
	slices.Sort(r.types)
	return r, nil
}

// EventTypeOf returns the event_type option of a message descriptor, or "".
func EventTypeOf(md protoreflect.MessageDescriptor) string {
	opts, ok := md.Options().(*descriptorpb.MessageOptions)
	if !ok || opts == nil {
		return ""
	}
	if proto.HasExtension(opts, fairstreampb.E_EventType) {
		return proto.GetExtension(opts, fairstreampb.E_EventType).(string)
	}
	// Options parsed from a descriptor set without the Go extension type
	// linked in keep the option as an unknown field: read it from there.
	return extensionFromUnknown(opts.ProtoReflect().GetUnknown(), fairstreampb.E_EventType.TypeDescriptor().Number())
}

// checkTypeName enforces "<name>/v<N>".
func checkTypeName(name string) error {
	base, ver, ok := strings.Cut(name, "/")
	if !ok || base == "" || len(ver) < 2 || ver[0] != 'v' || strings.Trim(ver[1:], "0123456789") != "" {
		return fmt.Errorf("event type %q is not of the form <name>/v<N>", name)
	}
	return nil
}

// Types returns the registered event types, sorted.
func (r *Registry) Types() []string { return slices.Clone(r.types) }

// Lookup returns the message type registered for an event type.
func (r *Registry) Lookup(eventType string) (protoreflect.MessageType, error) {
	mt, ok := r.byType[eventType]
	if !ok {
		return nil, r.unknown(eventType)
	}
	return mt, nil
}

func (r *Registry) unknown(eventType string) error {
	if base, _, ok := strings.Cut(eventType, "/"); ok {
		var versions []string
		for _, t := range r.types {
			if strings.HasPrefix(t, base+"/") {
				versions = append(versions, t)
			}
		}
		if len(versions) > 0 {
			return fmt.Errorf("%w %q: this build knows %s", ErrUnknownType, eventType, strings.Join(versions, ", "))
		}
	}
	return fmt.Errorf("%w %q (known: %s)", ErrUnknownType, eventType, strings.Join(r.types, ", "))
}

// TypeOf returns the event type registered for a message.
func (r *Registry) TypeOf(m proto.Message) (string, error) {
	if m == nil {
		return "", fmt.Errorf("%w: nil message", ErrUnknownType)
	}
	name := m.ProtoReflect().Descriptor().FullName()
	t, ok := r.byName[name]
	if !ok {
		return "", fmt.Errorf("%w: message %s has no registered event type", ErrUnknownType, name)
	}
	return t, nil
}

// TypeFor returns the event type registered for the message type M.
func TypeFor[M proto.Message](r *Registry) (string, error) {
	var zero M
	return r.TypeOf(zero)
}

// New returns a new, empty message of an event type.
func (r *Registry) New(eventType string) (proto.Message, error) {
	mt, err := r.Lookup(eventType)
	if err != nil {
		return nil, err
	}
	return mt.New().Interface(), nil
}
