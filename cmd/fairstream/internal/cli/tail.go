package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fairstream/fairstream/connectors/identity"
	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/streams"
)

type tailOptions struct {
	from   string
	group  string
	json   bool
	limit  int
	follow bool
	idle   time.Duration
}

func (a *app) tailCmd() *cobra.Command {
	var o tailOptions
	cmd := &cobra.Command{
		Use:   "tail TOPIC",
		Short: "Print a topic's records as they arrive",
		Long: `Print TOPIC's committed records, from --from on, and keep following it
until Ctrl-C (or, with --follow=false, until no record arrived for --idle).

Envelopes print with their payload decoded; --json prints one JSON object per
line, in the form 'fairstream produce' reads back. Dead-letter topics (.dlq)
print the reason, the failure class, the stage and where the record came from.`,
		Example: `  fairstream tail docs.structured.v1 --from earliest --json
  fairstream tail raw.web.v1.dlq
  fairstream tail raw.twitter.v1 --from 2026-11-25T10:00:00Z --limit 10`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.setup(); err != nil {
				return err
			}
			return a.tail(cmd.Context(), args[0], o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.from, "from", "earliest", "where to start: earliest, latest, or an RFC 3339 time")
	fs.StringVar(&o.group, "group", "", "consume as this consumer group, resuming where it stopped")
	fs.BoolVar(&o.json, "json", false, "print one JSON object per record")
	fs.IntVar(&o.limit, "limit", 0, "stop after this many records (0: no limit)")
	fs.BoolVar(&o.follow, "follow", true, "keep waiting for new records")
	fs.DurationVar(&o.idle, "idle", 3*time.Second, "with --follow=false, stop after this long without a record")
	return cmd
}

func (a *app) tail(ctx context.Context, topic string, o tailOptions) error {
	from, err := streams.ParsePosition(o.from)
	if err != nil {
		return exitError{exitUsage, fmt.Errorf("--from: %w", err)}
	}
	t, err := streams.DefaultCatalog().Lookup(topic)
	if err != nil {
		return exitError{exitUsage, err}
	}
	c, err := streams.NewConsumer(a.cfg.Kafka, "tail", streams.ConsumerOptions{Topics: []string{topic}, From: from, Group: o.group}, a.streamOpts()...)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := streams.WaitReady(ctx, c.Client(), a.cfg.Kafka, a.log); err != nil {
		return err
	}
	reg := schemas.Builtin()
	a.verifier = identity.NewVerifier(4096)
	n := 0
	for {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if !o.follow {
			pctx, cancel = context.WithTimeout(ctx, o.idle)
		}
		recs, err := c.Poll(pctx)
		cancel()
		for _, r := range recs {
			if err := a.printRecord(reg, t, r, o.json); err != nil {
				return err
			}
			n++
			if o.limit > 0 && n >= o.limit {
				return nil
			}
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, context.DeadlineExceeded) && len(recs) == 0:
			return nil // --follow=false and idle
		case err != nil && !errors.Is(err, context.DeadlineExceeded):
			a.log.Warn("fetch error; retrying", "err", err)
		}
	}
}

// dlqJSON is how --json prints a dead letter.
type dlqJSON struct {
	Topic     string          `json:"topic"`
	Partition int32           `json:"partition"`
	Offset    int64           `json:"offset"`
	DLQ       dlqInfo         `json:"dlq"`
	Key       string          `json:"key,omitempty"`
	Envelope  json.RawMessage `json:"envelope,omitempty"`
	Value     string          `json:"value,omitempty"`
	ValueB64  string          `json:"value_base64,omitempty"`
}

type dlqInfo struct {
	Reason    string `json:"reason"`
	Class     string `json:"class"`
	Stage     string `json:"stage"`
	Attempts  int    `json:"attempts"`
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

// undecodableJSON is how --json prints a record that is not a valid envelope.
type undecodableJSON struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Error     string `json:"error"`
	Value     string `json:"value,omitempty"`
	ValueB64  string `json:"value_base64,omitempty"`
}

func (a *app) printRecord(reg *schemas.Registry, t streams.Topic, r *kgo.Record, asJSON bool) error {
	w := a.stdout
	var envJSON []byte
	env, err := schemas.UnmarshalEnvelope(r.Value)
	if err == nil {
		envJSON, err = reg.EnvelopeToJSON(env)
	}
	text, b64 := "", ""
	if envJSON == nil {
		if utf8.Valid(r.Value) {
			text = string(r.Value)
		} else {
			b64 = base64.StdEncoding.EncodeToString(r.Value)
		}
	}
	if t.IsDLQ() {
		h := func(k string) string { return streams.Header(r, k) }
		attempts, _ := strconv.Atoi(h(streams.HeaderDLQAttempts))
		part, _ := strconv.Atoi(h(streams.HeaderDLQPartition))
		off, _ := strconv.ParseInt(h(streams.HeaderDLQOffset), 10, 64)
		info := dlqInfo{Reason: h(streams.HeaderDLQReason), Class: h(streams.HeaderDLQClass), Stage: h(streams.HeaderDLQStage),
			Attempts: attempts, Topic: h(streams.HeaderDLQTopic), Partition: int32(part), Offset: off}
		if asJSON {
			return writeJSON(w, dlqJSON{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, DLQ: info,
				Key: string(r.Key), Envelope: envJSON, Value: text, ValueB64: b64})
		}
		fmt.Fprintf(w, "%s[%d]@%d dead letter from %s[%d]@%d  stage=%s class=%s attempts=%d\n  reason: %s\n",
			r.Topic, r.Partition, r.Offset, info.Topic, info.Partition, info.Offset, info.Stage, info.Class, info.Attempts, info.Reason)
		switch {
		case envJSON != nil:
			fmt.Fprintf(w, "  record: %s\n", clip(string(envJSON), 400))
		case text != "":
			fmt.Fprintf(w, "  value:  %q\n", clip(text, 400))
		default:
			fmt.Fprintf(w, "  value (base64): %s\n", clip(b64, 400))
		}
		return nil
	}
	if envJSON == nil {
		if asJSON {
			return writeJSON(w, undecodableJSON{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Error: err.Error(), Value: text, ValueB64: b64})
		}
		fmt.Fprintf(w, "%s[%d]@%d undecodable: %v\n", r.Topic, r.Partition, r.Offset, err)
		return nil
	}
	// Every event says whether its worker's signature verifies.
	sigState, sigErr := "valid", ""
	switch {
	case len(env.GetSignature()) == 0:
		sigState, sigErr = "unsigned", "the event carries no signature"
	default:
		if err := a.verifier.Verify(env); err != nil {
			sigState, sigErr = "invalid", err.Error()
		}
	}
	if asJSON {
		var full map[string]json.RawMessage
		if err := json.Unmarshal(envJSON, &full); err != nil {
			return err
		}
		full["signature_valid"], _ = json.Marshal(sigState == "valid")
		if sigErr != "" {
			full["signature_error"], _ = json.Marshal(sigErr)
		}
		return writeJSON(w, full)
	}
	var full map[string]json.RawMessage
	_ = json.Unmarshal(envJSON, &full)
	signed := "signature " + sigState
	if env.GetWorker() != "" {
		signed += " (worker " + env.GetWorker() + ")"
	}
	fmt.Fprintf(w, "%s[%d]@%d %s %s id=%s key=%s %s\n  %s\n", r.Topic, r.Partition, r.Offset,
		env.GetTime().AsTime().UTC().Format(time.RFC3339), env.GetType(), env.GetId(), env.GetKey(), signed, clip(string(full["payload"]), 400))
	return nil
}

func writeJSON(w interface{ Write([]byte) (int, error) }, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
