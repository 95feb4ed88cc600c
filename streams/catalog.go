package streams

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Cleanup is a topic's cleanup.policy.
type Cleanup string

const (
	CleanupDelete  Cleanup = "delete"
	CleanupCompact Cleanup = "compact"
)

// DLQSuffix names a topic's dead-letter twin: "raw.web.v1" → "raw.web.v1.dlq".
const DLQSuffix = ".dlq"

// Topic declares one topic of the bus.
type Topic struct {
	Name       string
	Partitions int32
	// Retention is retention.ms; 0 keeps records for ever.
	Retention time.Duration
	Cleanup   Cleanup
	// Key says what the record key is, for people.
	Key string
	// KeyField is the payload field (dotted for nested messages) whose
	// value is the key, for tools that produce bare payloads; "" for none.
	KeyField string
	// PayloadType is the event type every envelope on the topic carries.
	// It is empty for dead-letter topics, which hold records as they were.
	PayloadType string
	Description string
}

// IsDLQ reports whether t is a dead-letter topic.
func (t Topic) IsDLQ() bool { return strings.HasSuffix(t.Name, DLQSuffix) }

// configs returns the topic configs kadm creates it with.
func (t Topic) configs() map[string]*string {
	retention := int64(-1)
	if t.Retention > 0 {
		retention = t.Retention.Milliseconds()
	}
	return map[string]*string{
		"cleanup.policy": kadm.StringPtr(string(t.Cleanup)),
		"retention.ms":   kadm.StringPtr(strconv.FormatInt(retention, 10)),
	}
}

// KeyOf returns the key of a payload bound for t: the value of KeyField, or
// "" when t has none or the field is unset.
func (t Topic) KeyOf(m proto.Message) string {
	if t.KeyField == "" {
		return ""
	}
	msg := m.ProtoReflect()
	path := strings.Split(t.KeyField, ".")
	for i, name := range path {
		fd := msg.Descriptor().Fields().ByName(protoreflect.Name(name))
		if fd == nil || fd.IsList() || fd.IsMap() || !msg.Has(fd) {
			return ""
		}
		v := msg.Get(fd)
		if i < len(path)-1 {
			if fd.Message() == nil {
				return ""
			}
			msg = v.Message()
			continue
		}
		if fd.Message() != nil || fd.Kind() == protoreflect.BytesKind {
			return ""
		}
		return v.String()
	}
	return ""
}

// DLQ returns t's dead-letter twin.
func (t Topic) DLQ() Topic {
	return Topic{
		Name:        t.Name + DLQSuffix,
		Partitions:  1,
		Retention:   30 * 24 * time.Hour,
		Cleanup:     CleanupDelete,
		Key:         "the failed record's key",
		Description: "records of " + t.Name + " that a stage could not process, unchanged, with the reason in dlq.* headers",
	}
}

// ErrUnknownTopic is returned for a topic the catalog does not declare.
var ErrUnknownTopic = errors.New("unknown topic")

// Catalog is the set of declared topics. It is immutable.
type Catalog struct {
	topics []Topic
	byName map[string]Topic
}

// NewCatalog returns a catalog of topics, each with its dead-letter twin.
func NewCatalog(topics ...Topic) (*Catalog, error) {
	c := &Catalog{byName: make(map[string]Topic)}
	add := func(t Topic) error {
		if _, dup := c.byName[t.Name]; dup {
			return fmt.Errorf("topic %q declared twice", t.Name)
		}
		c.byName[t.Name] = t
		c.topics = append(c.topics, t)
		return nil
	}
	for _, t := range topics {
		if t.Name == "" || t.Partitions < 1 || (t.Cleanup != CleanupDelete && t.Cleanup != CleanupCompact) {
			return nil, fmt.Errorf("topic %q: name, partitions >= 1 and a cleanup policy are required", t.Name)
		}
		if t.IsDLQ() {
			return nil, fmt.Errorf("topic %q: dead-letter twins are added by the catalog", t.Name)
		}
		if err := add(t); err != nil {
			return nil, err
		}
		if err := add(t.DLQ()); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(c.topics, func(a, b Topic) int { return strings.Compare(a.Name, b.Name) })
	return c, nil
}

// DefaultCatalog declares fairstream's topics (DESIGN.md §1). Later stages
// add theirs here.
func DefaultCatalog() *Catalog {
	raw := func(source, payload, key, keyField string) Topic {
		return Topic{
			Name: "raw." + source + ".v1", Partitions: 6, Cleanup: CleanupDelete,
			Key: key, KeyField: keyField, PayloadType: payload,
			Description: "raw events from the " + source + " connector, signed by the worker",
		}
	}
	c, err := NewCatalog(
		raw("twitter", "raw.tweet/v1", "tweet ID", "id"),
		raw("web", "raw.web/v1", "canonical URL", "url"),
		raw("discord", "raw.discord/v1", "channel ID", "channel_id"),
		raw("telegram", "raw.telegram/v1", "chat ID", "chat.id"),
		raw("podcast", "raw.podcast/v1", "feed URL", "feed_url"),
		Topic{
			Name: "raw.twitter.trends.v1", Partitions: 3, Cleanup: CleanupDelete,
			Key: "WOEID", KeyField: "woeid", PayloadType: "raw.twitter_trend/v1",
			Description: "trends by place from the twitter connector",
		},
		Topic{
			Name: "raw.twitter.profiles.v1", Partitions: 3, Cleanup: CleanupCompact,
			Key: "user ID", KeyField: "user.id", PayloadType: "raw.twitter_profile/v1",
			Description: "user profiles from the twitter connector's user lookup; the latest per user is kept",
		},
		Topic{
			Name: "docs.structured.v1", Partitions: 6, Cleanup: CleanupDelete,
			Key: "document ID", KeyField: "id", PayloadType: "doc.structured/v1",
			Description: "every raw event in one structured Document shape (the structure stage)",
		},
		Topic{
			Name: "docs.annotated.v1", Partitions: 6, Cleanup: CleanupDelete,
			Key: "document ID", KeyField: "document.id", PayloadType: "doc.annotated/v1",
			Description: "structured documents with language, sentiment, entities, keywords and topics (the annotate stage)",
		},
		Topic{
			Name: "docs.embedded.v1", Partitions: 6, Cleanup: CleanupDelete,
			Key: "document ID", KeyField: "document_id", PayloadType: "doc.embedded/v1",
			Description: "which chunks of each document the embed stage wrote to which vector store (lineage of every vector)",
		},
		Topic{
			Name: "trends.twitter.v1", Partitions: 1, Cleanup: CleanupCompact,
			Key: "<source>/<window>", PayloadType: "trends.snapshot/v1",
			Description: "live trend snapshots of twitter documents: the top terms of a sliding window by velocity; the latest per window length is kept",
		},
		Topic{
			Name: "scores.windows.v1", Partitions: 3, Cleanup: CleanupCompact,
			Key: "<worker>/<window start>", PayloadType: "scores.window/v1",
			Description: "per-worker utility windows from the validator; the latest revision per window is kept",
		},
		Topic{
			Name: "scores.verifications.v1", Partitions: 3, Cleanup: CleanupDelete,
			Key: "event ID", KeyField: "event_id", PayloadType: "scores.verdict/v1",
			Description: "the validator's re-fetch verdicts on sampled records, read back by the validator so that a replay scores them as the live run did",
		},
		Topic{
			Name: "scores.contributions.v1", Partitions: 6, Cleanup: CleanupDelete,
			Key: "event ID", KeyField: "event_id", PayloadType: "scores.contribution/v1",
			Description: "what the validator made of each contributed record (validity, duplicate, verification): metadata, never content",
		},
		Topic{
			Name: "scores.checkpoints.v1", Partitions: 1, Cleanup: CleanupCompact,
			Key: "validator ID", KeyField: "validator", PayloadType: "scores.checkpoint/v1",
			Description: "how far each validator's outputs go, written in the transaction of those outputs; the latest per validator is kept",
		},
		Topic{
			Name: "scores.ticks.v1", Partitions: 1, Cleanup: CleanupDelete,
			Key: "validator ID", KeyField: "validator", PayloadType: "scores.tick/v1",
			Description: "watermark ticks each validator writes while its inputs are quiet and reads back, so that a replay closes windows where the live run did",
		},
		Topic{
			Name: "connectors.cursors.v1", Partitions: 3, Cleanup: CleanupCompact,
			Key: "<connector>/<stream>", PayloadType: "connector.cursor/v1",
			Description: "where each connector stream stopped, written in the transaction of the events it covers; the latest per stream is kept",
		},
		Topic{
			Name: "connectors.errors.v1", Partitions: 1, Cleanup: CleanupDelete, Retention: 30 * 24 * time.Hour,
			Key: "connector", KeyField: "connector", PayloadType: "connector.error/v1",
			Description: "source responses a connector could not use, with a snippet of the body",
		},
		Topic{
			Name: "jobs.v1", Partitions: 3, Cleanup: CleanupDelete,
			Key: "job ID", KeyField: "id", PayloadType: "job/v1",
			Description: "developers' data requests, taken by the connectors",
		},
		Topic{
			Name: "jobs.status.v1", Partitions: 3, Cleanup: CleanupCompact,
			Key: "job ID", KeyField: "job_id", PayloadType: "job.status/v1",
			Description: "the progress of each data request; the latest per job is kept",
		},
	)
	if err != nil {
		panic(fmt.Sprintf("streams: default catalog: %v", err)) // static data; caught by every test
	}
	return c
}

// Topics returns every topic, dead-letter twins included, sorted by name.
func (c *Catalog) Topics() []Topic { return slices.Clone(c.topics) }

// Lookup returns the topic named name.
func (c *Catalog) Lookup(name string) (Topic, error) {
	t, ok := c.byName[name]
	if !ok {
		names := make([]string, 0, len(c.topics))
		for _, t := range c.topics {
			if !t.IsDLQ() {
				names = append(names, t.Name)
			}
		}
		return Topic{}, fmt.Errorf("%w %q (the catalog declares %s, each with a %s twin)", ErrUnknownTopic, name, strings.Join(names, ", "), DLQSuffix)
	}
	return t, nil
}

// TopicResult is what EnsureTopics did with one topic.
type TopicResult struct {
	Topic   Topic
	Created bool
	// Partitions is the partition count the topic has on the cluster.
	Partitions int32
	// Warning is set when an existing topic differs from its declaration.
	Warning string
}

// EnsureTopics creates the topics that do not exist; it is idempotent. An
// existing topic is left as it is, with a Warning if its partition count
// differs from the declaration.
func EnsureTopics(ctx context.Context, adm *kadm.Client, replicationFactor int16, topics ...Topic) ([]TopicResult, error) {
	if len(topics) == 0 {
		return nil, nil
	}
	results := make([]TopicResult, 0, len(topics))
	var errs []error
	for _, t := range topics {
		resp, err := adm.CreateTopic(ctx, t.Partitions, replicationFactor, t.configs(), t.Name)
		res := TopicResult{Topic: t, Partitions: t.Partitions}
		switch {
		case err == nil:
			res.Created = true
		case errors.Is(err, kerr.TopicAlreadyExists) || errors.Is(resp.Err, kerr.TopicAlreadyExists):
		default:
			errs = append(errs, fmt.Errorf("create topic %s: %w", t.Name, err))
			continue
		}
		results = append(results, res)
	}
	if len(errs) > 0 {
		return results, errors.Join(errs...)
	}
	// Compare existing topics with their declarations.
	names := make([]string, 0, len(results))
	for _, r := range results {
		if !r.Created {
			names = append(names, r.Topic.Name)
		}
	}
	if len(names) == 0 {
		return results, nil
	}
	details, err := adm.ListTopics(ctx, names...)
	if err != nil {
		return results, fmt.Errorf("describe topics: %w", err)
	}
	for i, r := range results {
		d, ok := details[r.Topic.Name]
		if r.Created || !ok || d.Err != nil {
			continue
		}
		results[i].Partitions = int32(len(d.Partitions))
		if results[i].Partitions != r.Topic.Partitions {
			results[i].Warning = fmt.Sprintf("has %d partitions, the catalog declares %d", results[i].Partitions, r.Topic.Partitions)
		}
	}
	return results, nil
}
