package streams

import (
	"context"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/fairstream/fairstream/schemas"
)

// Producer writes envelopes to catalog topics: idempotently (acks=all),
// with linger and compression from ProducerConfig. It checks that each
// envelope's type is the payload type its topic declares.
type Producer struct {
	cl      *kgo.Client
	reg     *schemas.Registry
	catalog *Catalog
	metrics *Metrics
	once    sync.Once
}

// NewProducer returns a producer for cfg. role names it in client IDs and logs.
func NewProducer(cfg Config, role string, opts ...Option) (*Producer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := newOptions(opts)
	kopts, err := cfg.clientOpts(role, o)
	if err != nil {
		return nil, err
	}
	kopts = append(kopts, cfg.Producer.producerOpts()...)
	cl, err := kgo.NewClient(append(kopts, o.kgoOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka producer: %w", err)
	}
	return &Producer{cl: cl, reg: o.registry, catalog: o.catalog, metrics: o.metrics}, nil
}

// Client returns the underlying franz-go client, for WaitReady and admin calls.
func (p *Producer) Client() *kgo.Client { return p.cl }

// Record returns the Kafka record for env on topic after checking that the
// topic exists in the catalog and carries env's type.
func (p *Producer) Record(topic string, env *schemas.Envelope) (*kgo.Record, error) {
	t, err := p.catalog.Lookup(topic)
	if err != nil {
		return nil, err
	}
	if t.PayloadType != env.GetType() {
		if t.IsDLQ() {
			return nil, fmt.Errorf("topic %s is a dead-letter topic; only stages write to it", topic)
		}
		return nil, fmt.Errorf("topic %s carries %s, not %s", topic, t.PayloadType, env.GetType())
	}
	return envelopeRecord(topic, env)
}

// Publish wraps m in an envelope and writes it synchronously to topic.
func (p *Producer) Publish(ctx context.Context, topic string, m proto.Message, meta schemas.Meta) (*schemas.Envelope, error) {
	env, err := p.reg.Wrap(m, meta)
	if err != nil {
		return nil, err
	}
	return env, p.Produce(ctx, topic, env)
}

// Produce writes env to topic and waits for the broker's acknowledgement.
// If ctx ends first, Produce returns ctx's error at once; a record already
// sent may still be written (idempotence keeps it from being written twice).
func (p *Producer) Produce(ctx context.Context, topic string, env *schemas.Envelope) error {
	rec, err := p.Record(topic, env)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	p.cl.Produce(ctx, rec, func(_ *kgo.Record, err error) {
		p.count(topic, err)
		done <- err
	})
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("produce to %s: %w", topic, err)
	}
	return nil
}

// ProduceAsync writes env to topic in the background; promise gets the
// result. A record that fails the catalog check is reported at once.
func (p *Producer) ProduceAsync(ctx context.Context, topic string, env *schemas.Envelope, promise func(*kgo.Record, error)) {
	rec, err := p.Record(topic, env)
	if err != nil {
		promise(&kgo.Record{Topic: topic}, err)
		return
	}
	p.cl.Produce(ctx, rec, func(r *kgo.Record, err error) {
		p.count(topic, err)
		promise(r, err)
	})
}

func (p *Producer) count(topic string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	p.metrics.produced.WithLabelValues(topic, result).Inc()
}

// Flush waits until every buffered record is acknowledged or ctx ends.
func (p *Producer) Flush(ctx context.Context) error { return p.cl.Flush(ctx) }

// Close flushes nothing: Flush first to wait for buffered records. It is
// safe to call more than once.
func (p *Producer) Close() { p.once.Do(p.cl.Close) }

// envelopeRecord encodes env as the value of a record keyed by env.Key.
func envelopeRecord(topic string, env *schemas.Envelope) (*kgo.Record, error) {
	b, err := schemas.MarshalEnvelope(env)
	if err != nil {
		return nil, err
	}
	rec := &kgo.Record{
		Topic:   topic,
		Value:   b,
		Headers: []kgo.RecordHeader{{Key: HeaderType, Value: []byte(env.GetType())}},
	}
	if env.GetKey() != "" {
		rec.Key = []byte(env.GetKey())
	}
	return rec, nil
}
