package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/connectors/identity"
	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/streams"
)

// maxLine caps one JSON line of produce's input.
const maxLine = 64 << 20

func (a *app) produceCmd() *cobra.Command {
	var meta struct{ source, worker, key, correlation string }
	var sign bool
	cmd := &cobra.Command{
		Use:   "produce TOPIC",
		Short: "Write JSON lines from stdin to a topic, validated against its payload type",
		Long: `Read JSON lines from stdin and write one event per line to TOPIC.

A line is either a payload of the topic's type, in the protobuf JSON form with
the field names of schemas/proto (for raw.web.v1, a RawWebPage:
{"url":"https://example.org/","status_code":200,"content_type":"text/html","body":"<base64>"}),
or a whole envelope as 'fairstream tail --json' prints it ({"type":...,"payload":{...}}).

Each bad line is reported with its line number and not sent; the other lines
are sent. The exit status is 1 if any line was bad or any write failed.

With --sign every event is signed with the worker key (worker.key_file,
passphrase from FAIRSTREAM_WORKER_PASSPHRASE), as a connector signs what it
publishes, so the validator scores it as that worker's contribution.`,
		Example: `  echo '{"url":"https://example.org/","status_code":200,"content_type":"text/html","body":"PGgxPkhpPC9oMT4="}' | fairstream produce raw.web.v1
  fairstream tail raw.web.v1 --json --follow=false | fairstream produce raw.web.v1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.setup(); err != nil {
				return err
			}
			var signer *identity.Identity
			if sign {
				id, err := a.loadIdentity()
				if err != nil {
					return err
				}
				signer = id
			}
			return a.produce(cmd.Context(), args[0], schemas.Meta{Source: meta.source, Worker: meta.worker, Key: meta.key, CorrelationID: meta.correlation}, signer)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&meta.source, "source", "cli", "envelope source of bare payloads")
	fs.StringVar(&meta.worker, "worker", "", "envelope worker ID of bare payloads")
	fs.StringVar(&meta.key, "key", "", "partition key of every event (default: the envelope's key, or the payload field the topic is keyed by)")
	fs.StringVar(&meta.correlation, "correlation-id", "", "correlation ID of bare payloads")
	fs.BoolVar(&sign, "sign", false, "sign every event with the worker key (it becomes the events' worker)")
	return cmd
}

func (a *app) produce(ctx context.Context, topic string, meta schemas.Meta, signer *identity.Identity) error {
	t, err := streams.DefaultCatalog().Lookup(topic)
	if err != nil {
		return exitError{exitUsage, err}
	}
	if t.PayloadType == "" {
		return exitError{exitUsage, fmt.Errorf("topic %s is a dead-letter topic; stages write to it, not produce", topic)}
	}
	reg := schemas.Builtin()
	p, err := streams.NewProducer(a.cfg.Kafka, "produce", a.streamOpts()...)
	if err != nil {
		return err
	}
	defer p.Close()
	if err := streams.WaitReady(ctx, p.Client(), a.cfg.Kafka, a.log); err != nil {
		return err
	}

	var (
		bad, sent atomic.Int64
		failMu    sync.Mutex
		failures  []string
	)
	sc := bufio.NewScanner(a.stdin)
	sc.Buffer(make([]byte, 0, 1<<20), maxLine)
	line := 0
	lastProgress := time.Now()
	for sc.Scan() {
		line++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		env, err := envelopeFromLine(reg, t, raw, meta)
		if err == nil && signer != nil {
			err = signer.Sign(env)
		}
		if err != nil {
			bad.Add(1)
			fmt.Fprintf(a.stderr, "line %d: %v\n", line, err)
			continue
		}
		n := line
		p.ProduceAsync(ctx, topic, env, func(_ *kgo.Record, err error) {
			if err != nil {
				failMu.Lock()
				failures = append(failures, fmt.Sprintf("line %d: not written: %v", n, err))
				failMu.Unlock()
				return
			}
			sent.Add(1)
		})
		if time.Since(lastProgress) > 5*time.Second {
			lastProgress = time.Now()
			a.log.Info("produce progress", "topic", topic, "lines", line, "sent", sent.Load(), "bad", bad.Load())
		}
	}
	scanErr := sc.Err()
	if errors.Is(scanErr, bufio.ErrTooLong) {
		scanErr = fmt.Errorf("line %d: longer than %d MiB; nothing after it was read", line+1, maxLine>>20)
	}
	if err := p.Flush(ctx); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	for _, f := range failures {
		fmt.Fprintln(a.stderr, f)
	}
	fmt.Fprintf(a.stderr, "produced %d events to %s; %d bad lines, %d failed writes\n", sent.Load(), topic, bad.Load(), len(failures))
	switch {
	case scanErr != nil:
		return exitError{exitFailure, fmt.Errorf("reading stdin: %w", scanErr)}
	case bad.Load() > 0 || len(failures) > 0:
		return exitError{exitFailure, fmt.Errorf("%d of %d lines were not written", bad.Load()+int64(len(failures)), bad.Load()+int64(len(failures))+sent.Load())}
	}
	return nil
}

// envelopeFromLine turns one JSON line into an envelope of payloadType.
func envelopeFromLine(reg *schemas.Registry, t streams.Topic, raw []byte, meta schemas.Meta) (*schemas.Envelope, error) {
	payloadType := t.PayloadType
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	now := time.Now()
	_, hasType := probe["type"]
	_, hasPayload := probe["payload"]
	if !hasType || !hasPayload {
		m, err := reg.PayloadFromJSON(payloadType, raw)
		if err != nil {
			return nil, err
		}
		key := meta.Key
		if key == "" {
			key = t.KeyOf(m)
		}
		return reg.Wrap(m, schemas.Meta{
			Source: meta.Source, Worker: meta.Worker, Key: key, CorrelationID: meta.CorrelationID,
			Time: now, Ingested: now,
		})
	}
	// What `tail --json` adds about the signature is not part of the envelope.
	if _, ok := probe["signature_valid"]; ok {
		delete(probe, "signature_valid")
		delete(probe, "signature_error")
		var err error
		if raw, err = json.Marshal(probe); err != nil {
			return nil, err
		}
	}
	env, err := reg.EnvelopeFromJSON(raw)
	if err != nil {
		return nil, err
	}
	if env.GetType() != payloadType {
		return nil, fmt.Errorf("envelope type %s does not match the topic's payload type %s", env.GetType(), payloadType)
	}
	if env.Id == "" {
		env.Id = schemas.NewID(now)
	}
	if env.Time == nil {
		env.Time = timestamppb.New(now)
	}
	env.Ingested = timestamppb.New(now)
	if meta.Key != "" {
		env.Key = meta.Key
	}
	if err := reg.Validate(env); err != nil {
		return nil, err
	}
	return env, nil
}
