package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fairstream/fairstream/processors/structure"
	"github.com/fairstream/fairstream/streams"
)

// processorDef wires one processor to the configuration.
type processorDef struct {
	name    string
	summary string
	build   func(a *app) (*streams.Runner, error)
}

// processorDefs lists every processor the binary can run.
func processorDefs() []processorDef {
	return []processorDef{
		{
			name:    structure.Name,
			summary: "raw.web.v1 → docs.structured.v1: title, main text, language, links, lineage",
			build: func(a *app) (*streams.Runner, error) {
				return streams.NewRunner(a.cfg.Kafka, a.cfg.Runner, structure.Stage(a.cfg.Processors.Structure), a.streamOpts()...)
			},
		},
	}
}

func processorNames() []string {
	var names []string
	for _, p := range processorDefs() {
		names = append(names, p.name)
	}
	return names
}

func lookupProcessor(name string) (processorDef, error) {
	for _, p := range processorDefs() {
		if p.name == name {
			return p, nil
		}
	}
	return processorDef{}, exitError{exitUsage, fmt.Errorf("unknown processor %q (known: %s)", name, strings.Join(processorNames(), ", "))}
}

func (a *app) processorCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "processor",
		Short: "Run or list processors",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the processors, their inputs and outputs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, p := range processorDefs() {
				fmt.Fprintf(a.stdout, "%-12s %s\n", p.name, p.summary)
			}
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "run NAME",
		Short: "Run one processor against the configured Kafka cluster",
		Long: `Run one processor until SIGINT or SIGTERM. Replicas of one processor share its
consumer group and split the input partitions; give each replica its own
runner.instance_id (FAIRSTREAM_RUNNER_INSTANCE_ID), stable across its restarts.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			def, err := lookupProcessor(args[0])
			if err != nil {
				return err
			}
			if err := a.setup(); err != nil {
				return err
			}
			ctx := cmd.Context()
			stopMetrics, addr, err := a.serveMetrics(ctx)
			if err != nil {
				return err
			}
			defer stopMetrics()
			r, err := def.build(a)
			if err != nil {
				return exitError{exitUsage, err}
			}
			a.log.Info("processor starting", "processor", def.name, "brokers", a.cfg.Kafka.Brokers, "metrics", addr)
			return runUntilDone(ctx, r)
		},
	})
	return cmd
}

// runUntilDone runs r until ctx ends; an error from Run before that fails.
func runUntilDone(ctx context.Context, r *streams.Runner) error {
	if err := r.Run(ctx); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}
