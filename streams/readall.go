package streams

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ReadToEnd reads topic from its start up to its last stable offset as of
// the call (everything committed so far), calling fn for each committed
// record in partition order, and returns. It is how a component rebuilds
// state kept on a compacted topic, such as connector cursors.
//
// Transaction markers take offsets of their own, so the end of a partition
// is not always the offset after its last record; the control records are
// read (and skipped) to know when the end is reached.
func ReadToEnd(ctx context.Context, cfg Config, topic string, fn func(*kgo.Record) error, opts ...Option) error {
	o := newOptions(opts)
	if _, err := o.catalog.Lookup(topic); err != nil {
		return err
	}
	admCl, err := NewClient(cfg, "read-to-end", opts...)
	if err != nil {
		return err
	}
	defer admCl.Close()
	if err := WaitReady(ctx, admCl, cfg, o.logger); err != nil {
		return err
	}
	adm := kadm.NewClient(admCl)
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return fmt.Errorf("start offsets of %s: %w", topic, err)
	}
	ends, err := adm.ListCommittedOffsets(ctx, topic)
	if err != nil {
		return fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	if err := ends.Error(); err != nil {
		return fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	want := map[int32]int64{}
	assign := map[int32]kgo.Offset{}
	ends.Each(func(e kadm.ListedOffset) {
		s, _ := starts.Lookup(topic, e.Partition)
		if e.Offset > s.Offset {
			want[e.Partition] = e.Offset
			assign[e.Partition] = kgo.NewOffset().At(s.Offset)
		}
	})
	if len(want) == 0 {
		return nil
	}
	kopts, err := cfg.clientOpts("read-to-end", o)
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(kopts,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: assign}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	)...)
	if err != nil {
		return fmt.Errorf("kafka consumer: %w", err)
	}
	defer cl.Close()
	for len(want) > 0 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := fetches.Err0(); err != nil && !fetches.IsClientClosed() {
			o.logger.Warn("read to end: fetch error; retrying", "topic", topic, "err", err)
		}
		var ferr error
		fetches.EachRecord(func(r *kgo.Record) {
			if ferr != nil {
				return
			}
			end, ok := want[r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			if !r.Attrs.IsControl() {
				ferr = fn(r)
			}
			if r.Offset+1 >= end {
				delete(want, r.Partition)
			}
		})
		if ferr != nil {
			return ferr
		}
	}
	return nil
}
