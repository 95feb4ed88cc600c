package streams

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TxnProducer writes batches of records atomically: a read_committed
// consumer sees all of a batch or none of it. Connectors write their events
// and the cursor that covers them in one batch, so a cursor never advances
// past events the broker does not have, and a retried batch is never seen
// twice.
type TxnProducer struct {
	*Producer
	// kopts rebuild the client after a fatal producer error.
	kopts  []kgo.Opt
	mu     sync.Mutex
	inTxn  bool // a transaction was begun and not ended: end it first
	closed bool
}

// NewTxnProducer returns a transactional producer. transactionalID must be
// stable across restarts of one process and unique among live ones: a new
// process with the same ID fences the old one and aborts its open
// transaction.
func NewTxnProducer(cfg Config, role, transactionalID string, opts ...Option) (*TxnProducer, error) {
	if transactionalID == "" {
		return nil, errors.New("transactional producer: empty transactional ID")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := newOptions(opts)
	kopts, err := cfg.clientOpts(role, o)
	if err != nil {
		return nil, err
	}
	kopts = append(append(append(kopts, cfg.Producer.producerOpts()...), o.kgoOpts...), kgo.TransactionalID(transactionalID))
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, fmt.Errorf("kafka producer: %w", err)
	}
	return &TxnProducer{
		Producer: &Producer{cl: cl, reg: o.registry, catalog: o.catalog, metrics: o.metrics},
		kopts:    kopts,
	}, nil
}

// reset replaces the client after a fatal producer error (franz-go cannot
// begin another transaction then). The new client's producer ID fences the
// old one, and the broker aborts whatever it left open.
func (p *TxnProducer) reset() error {
	cl, err := kgo.NewClient(p.kopts...)
	if err != nil {
		return fmt.Errorf("kafka producer: %w", err)
	}
	p.cl.Close()
	p.cl = cl
	p.inTxn = false
	return nil
}

// Commit writes recs in one transaction. On any error the transaction is
// aborted (or, if the broker cannot be reached, aborted at the next Commit)
// and none of recs becomes visible.
func (p *TxnProducer) Commit(ctx context.Context, recs []*kgo.Record) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if p.inTxn {
		// A previous Commit failed half-way: abort what it left open, or
		// start over with a new client.
		if err := p.abort(ctx); err != nil {
			if rerr := p.reset(); rerr != nil {
				return errors.Join(fmt.Errorf("abort the previous transaction: %w", err), rerr)
			}
		}
	}
	if err := p.cl.BeginTransaction(); err != nil {
		// A fatal producer error stops every later transaction of this
		// client: start over with a new one.
		if rerr := p.reset(); rerr != nil {
			return errors.Join(fmt.Errorf("begin transaction: %w", err), rerr)
		}
		if err := p.cl.BeginTransaction(); err != nil {
			return fmt.Errorf("begin transaction: %w", err)
		}
	}
	p.inTxn = true
	var (
		errMu sync.Mutex
		first error
	)
	for _, r := range recs {
		p.cl.Produce(ctx, r, func(r *kgo.Record, err error) {
			p.count(r.Topic, err)
			if err != nil {
				errMu.Lock()
				if first == nil {
					first = fmt.Errorf("produce to %s: %w", r.Topic, err)
				}
				errMu.Unlock()
			}
		})
	}
	err := p.cl.Flush(ctx)
	errMu.Lock()
	if err == nil {
		err = first
	}
	errMu.Unlock()
	if err != nil {
		if aerr := p.abort(ctx); aerr != nil {
			return errors.Join(err, fmt.Errorf("abort: %w", aerr))
		}
		return err
	}
	if err := p.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		if aerr := p.abort(ctx); aerr != nil {
			return errors.Join(fmt.Errorf("commit: %w", err), fmt.Errorf("abort: %w", aerr))
		}
		return fmt.Errorf("commit: %w", err)
	}
	p.inTxn = false
	return nil
}

func (p *TxnProducer) abort(ctx context.Context) error {
	if err := p.cl.AbortBufferedRecords(ctx); err != nil {
		return err
	}
	if err := p.cl.EndTransaction(ctx, kgo.TryAbort); err != nil {
		return err
	}
	p.inTxn = false
	return nil
}

// Close closes the producer; an open transaction is aborted by the broker
// (or fenced by the next process with the same transactional ID). It is
// safe to call more than once.
func (p *TxnProducer) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.Producer.Close()
}
