package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fairstream/fairstream/streams"
)

// connect returns a client that reached the cluster, or the reason it did
// not within kafka.connect_timeout.
func (a *app) connect(ctx context.Context, role string) (*kgo.Client, error) {
	cl, err := streams.NewClient(a.cfg.Kafka, role, a.streamOpts()...)
	if err != nil {
		return nil, err
	}
	if err := streams.WaitReady(ctx, cl, a.cfg.Kafka, a.log); err != nil {
		cl.Close()
		return nil, err
	}
	return cl, nil
}

func (a *app) topicsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "topics",
		Short: "List, create and describe the bus's topics",
		Long: `The topic catalog is declared in code (streams.DefaultCatalog): every topic
has a payload type, a key, partitions, retention and a cleanup policy, and a
.dlq twin for records a stage could not process.`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the topics on the cluster and in the catalog",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.setup(); err != nil {
				return err
			}
			cl, err := a.connect(cmd.Context(), "topics")
			if err != nil {
				return err
			}
			defer cl.Close()
			details, err := kadm.NewClient(cl).ListTopics(cmd.Context())
			if err != nil {
				return fmt.Errorf("list topics: %w", err)
			}
			catalog := streams.DefaultCatalog()
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TOPIC\tPARTITIONS\tPAYLOAD\tCLEANUP\tRETENTION\tSTATUS")
			for _, t := range catalog.Topics() {
				status, parts := "missing (fairstream topics create)", "-"
				if d, ok := details[t.Name]; ok {
					status, parts = "ok", fmt.Sprint(len(d.Partitions))
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, parts, orDash(t.PayloadType), t.Cleanup, retention(t.Retention), status)
			}
			for _, name := range details.Names() {
				if _, err := catalog.Lookup(name); err == nil || strings.HasPrefix(name, "__") {
					continue
				}
				fmt.Fprintf(tw, "%s\t%d\t-\t-\t-\tnot in the catalog\n", name, len(details[name].Partitions))
			}
			return tw.Flush()
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "create [TOPIC...]",
		Short: "Create the catalog's topics that do not exist (all, or those named)",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.setup(); err != nil {
				return err
			}
			catalog := streams.DefaultCatalog()
			topics := catalog.Topics()
			if len(args) > 0 {
				topics = topics[:0]
				for _, name := range args {
					t, err := catalog.Lookup(name)
					if err != nil {
						return exitError{exitUsage, err}
					}
					topics = append(topics, t)
				}
			}
			cl, err := a.connect(cmd.Context(), "topics")
			if err != nil {
				return err
			}
			defer cl.Close()
			results, err := streams.EnsureTopics(cmd.Context(), kadm.NewClient(cl), int16(a.cfg.Kafka.ReplicationFactor), topics...)
			for _, r := range results {
				what := "exists"
				if r.Created {
					what = "created"
				}
				if r.Warning != "" {
					what += "; warning: " + r.Warning
				}
				fmt.Fprintf(a.stdout, "%-28s %s\n", r.Topic.Name, what)
			}
			return err
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "describe TOPIC",
		Short: "Show a topic's declaration, partitions, offsets and configs",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.setup(); err != nil {
				return err
			}
			return a.describeTopic(cmd.Context(), args[0])
		},
	})
	return cmd
}

func (a *app) describeTopic(ctx context.Context, name string) error {
	t, err := streams.DefaultCatalog().Lookup(name)
	if err != nil {
		return exitError{exitUsage, err}
	}
	cl, err := a.connect(ctx, "topics")
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	w := a.stdout
	fmt.Fprintf(w, "topic:        %s\n", t.Name)
	fmt.Fprintf(w, "payload:      %s\n", orDash(t.PayloadType))
	fmt.Fprintf(w, "key:          %s\n", t.Key)
	fmt.Fprintf(w, "declared:     %d partitions, cleanup %s, retention %s\n", t.Partitions, t.Cleanup, retention(t.Retention))
	fmt.Fprintf(w, "description:  %s\n", t.Description)
	details, err := adm.ListTopics(ctx, name)
	if err != nil {
		return fmt.Errorf("describe %s: %w", name, err)
	}
	d, ok := details[name]
	if !ok || d.Err != nil {
		fmt.Fprintf(w, "on cluster:   missing; run 'fairstream topics create %s'\n", name)
		return nil
	}
	starts, err := adm.ListStartOffsets(ctx, name)
	if err != nil {
		return fmt.Errorf("start offsets of %s: %w", name, err)
	}
	ends, err := adm.ListEndOffsets(ctx, name)
	if err != nil {
		return fmt.Errorf("end offsets of %s: %w", name, err)
	}
	fmt.Fprintf(w, "on cluster:   %d partitions\n", len(d.Partitions))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  PARTITION\tLEADER\tSTART\tEND")
	var total int64
	for _, p := range d.Partitions.Sorted() {
		s, _ := starts.Lookup(name, p.Partition)
		e, _ := ends.Lookup(name, p.Partition)
		total += e.Offset - s.Offset
		fmt.Fprintf(tw, "  %d\t%d\t%d\t%d\n", p.Partition, p.Leader, s.Offset, e.Offset)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "offsets held: %d (records and transaction markers)\n", total)
	configs, err := adm.DescribeTopicConfigs(ctx, name)
	if err == nil {
		if rc, err := configs.On(name, nil); err == nil {
			var keys []string
			for _, c := range rc.Configs {
				if c.Source == 1 || slices.Contains([]string{"cleanup.policy", "retention.ms"}, c.Key) { // DYNAMIC_TOPIC_CONFIG
					keys = append(keys, fmt.Sprintf("%s=%s", c.Key, c.MaybeValue()))
				}
			}
			slices.Sort(keys)
			fmt.Fprintf(w, "configs:      %s\n", strings.Join(keys, " "))
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func retention(d time.Duration) string {
	if d <= 0 {
		return "forever"
	}
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}
