package schemas

import (
	"errors"
	"fmt"
	"os"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// ReleasedDescriptorSet is the path, relative to the schemas directory, of
// the descriptor set of the last released schema version: the baseline that
// `make schemas-check` compares the current schemas against.
const ReleasedDescriptorSet = "released/fairstream.v1.binpb"

// ErrIncompatible is wrapped by every failure of CheckCompatible.
var ErrIncompatible = errors.New("incompatible schema change")

// RegistryFromDescriptorSet builds a registry from a serialized
// google.protobuf.FileDescriptorSet (a Buf image is one too) that holds every
// file it imports. Its payload types are dynamic messages.
func RegistryFromDescriptorSet(data []byte) (*Registry, error) {
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("descriptor set: %w", err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		return nil, fmt.Errorf("descriptor set: %w", err)
	}
	return registryFromFiles(files)
}

// LoadRegistry reads a descriptor set file (see RegistryFromDescriptorSet).
func LoadRegistry(path string) (*Registry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := RegistryFromDescriptorSet(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

func registryFromFiles(files *protoregistry.Files) (*Registry, error) {
	var fds []protoreflect.FileDescriptor
	files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		fds = append(fds, fd)
		return true
	})
	return NewRegistry(fds...)
}

// CheckCompatible checks what buf breaking cannot see: the event_type
// options. Every event type of the released registry must still be
// registered in current, for a message of the same full name, so that every
// record already on the log still decodes as the type it was written as. New
// event types are allowed. Field-level compatibility of the messages is buf
// breaking's job. The error lists every problem and wraps ErrIncompatible.
func CheckCompatible(released, current *Registry) error {
	var errs []error
	for _, t := range released.Types() {
		was := released.byType[t].Descriptor().FullName()
		mt, ok := current.byType[t]
		if !ok {
			errs = append(errs, fmt.Errorf("%w: event type %q (message %s) was released but is no longer registered", ErrIncompatible, t, was))
			continue
		}
		if now := mt.Descriptor().FullName(); now != was {
			errs = append(errs, fmt.Errorf("%w: event type %q was released as message %s but is now message %s", ErrIncompatible, t, was, now))
		}
	}
	return errors.Join(errs...)
}
