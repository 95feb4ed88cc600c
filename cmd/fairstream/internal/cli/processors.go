package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/fairstream/fairstream/processors/annotate"
	"github.com/fairstream/fairstream/processors/embed"
	"github.com/fairstream/fairstream/processors/structure"
	"github.com/fairstream/fairstream/processors/trends"
	"github.com/fairstream/fairstream/streams"
)

// component is what a processor runs: a streams.Runner, or a processor
// with a runtime of its own (trends reads every partition itself).
type component interface {
	Run(ctx context.Context) error
	Close()
	Spec() streams.Spec
}

// processorDef wires one processor to the configuration. A processor may
// run several stages, one runner each (structure runs one per raw type).
type processorDef struct {
	name    string
	summary string
	build   func(a *app) ([]component, error)
}

// processorDefs lists every processor the binary can run.
func processorDefs() []processorDef {
	return []processorDef{
		{
			name:    structure.Name,
			summary: "raw.{web,twitter,discord,telegram,podcast}.v1 → docs.structured.v1: one Document per item (text, language, links, tags, media, lineage)",
			build: func(a *app) ([]component, error) {
				var runners []component
				for _, b := range structure.Stages(a.cfg.Processors.Structure) {
					r, err := b.Build(a.cfg.Kafka, a.cfg.Runner, a.streamOpts()...)
					if err != nil {
						return nil, fmt.Errorf("%s: %w", b.Spec.Name, err)
					}
					runners = append(runners, r)
				}
				return runners, nil
			},
		},
		{
			name:    annotate.Name,
			summary: "docs.structured.v1 → docs.annotated.v1: language, VADER sentiment, entities with offsets, RAKE keywords, topics; optional LLM fields",
			build: func(a *app) ([]component, error) {
				st, err := annotate.Stage(a.cfg.Processors.Annotate, annotate.WithRegisterer(a.reg))
				if err != nil {
					return nil, err
				}
				r, err := streams.NewRunner(a.cfg.Kafka, a.cfg.Runner, st, a.streamOpts()...)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", annotate.Name, err)
				}
				return []component{r}, nil
			},
		},
		{
			name:    trends.Name,
			summary: "docs.structured.v1 (twitter) → trends.twitter.v1: top terms of a sliding event-time window ranked by velocity against a baseline",
			build: func(a *app) ([]component, error) {
				p, err := trends.New(a.cfg.Kafka, a.cfg.Processors.Trends, trends.WithLogger(a.log), trends.WithMetrics(a.reg),
					trends.WithStreamsOptions(a.streamOpts()...))
				if err != nil {
					return nil, err
				}
				return []component{p}, nil
			},
		},
		{
			name:    embed.Name,
			summary: "docs.annotated.v1 → vectors (embedded index or Milvus) + docs.embedded.v1: token-aware chunks embedded with all-MiniLM-L6-v2 or an OpenAI-compatible endpoint",
			build:   func(a *app) ([]component, error) { return a.buildEmbed() },
		},
		validatorDef(),
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
			return a.runProcessor(cmd, def)
		},
	})
	return cmd
}

// runProcessor runs one processor until a signal or its failure.
func (a *app) runProcessor(cmd *cobra.Command, def processorDef) error {
	if err := a.setup(); err != nil {
		return err
	}
	ctx := cmd.Context()
	stopMetrics, addr, err := a.serveMetrics(ctx)
	if err != nil {
		return err
	}
	defer stopMetrics()
	runners, err := def.build(a)
	if err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			return err
		}
		return exitError{exitUsage, err}
	}
	var stages []string
	for _, r := range runners {
		stages = append(stages, r.Spec().Name)
	}
	a.log.Info("processor starting", "processor", def.name, "stages", stages, "brokers", a.cfg.Kafka.Brokers, "metrics", addr)
	return runAll(ctx, runners, func(c component, err error) error {
		return fmt.Errorf("stage %s: %w", c.Spec().Name, err)
	}, nil)
}

// runAll runs every component until ctx ends or one of them fails. Then
// it calls stopping with the failure (nil when ctx ended or every Run
// returned), stops the others, and returns the failure, wrapped by wrap,
// once they have stopped.
func runAll(ctx context.Context, comps []component, wrap func(component, error) error, stopping func(error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(comps))
	var wg sync.WaitGroup
	for _, c := range comps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Run(ctx); err != nil && ctx.Err() == nil {
				errc <- wrap(c, err)
			}
		}()
	}
	allDone := make(chan struct{})
	go func() {
		wg.Wait()
		close(allDone)
	}()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	case <-allDone: // every Run returned without an error
	}
	if stopping != nil {
		stopping(err)
	}
	cancel()
	for _, c := range comps {
		c.Close()
	}
	<-allDone
	return err
}
