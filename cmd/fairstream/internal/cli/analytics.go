package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fairstream/fairstream/analytics"
)

func (a *app) analyticsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "analytics",
		Short: "Run the analytics sink (the validator's topics into ClickHouse)",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "sink",
		Short: "Sink scores.windows.v1 and scores.contributions.v1 into the analytics tables",
		Long: `Run the analytics sink until SIGINT or SIGTERM: apply the schema migrations, then
consume scores.windows.v1 into worker_utility and scores.contributions.v1 into
contributions (analytics.sink.*), committing offsets only after ClickHouse
acknowledged each batch. Windows and contributions are taken only when signed
by one of analytics.sink.validators; anything else goes to the topic's
dead-letter twin with the reason. 'fairstream dev' runs the same sink in
process; in production point analytics.backend at a ClickHouse server.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.setup(); err != nil {
				return err
			}
			ctx := cmd.Context()
			stopMetrics, _, err := a.serveMetrics(ctx)
			if err != nil {
				return err
			}
			defer stopMetrics()
			acfg := a.cfg.analyticsConfig()
			b, err := analytics.Open(ctx, acfg)
			if err != nil {
				if errors.Is(err, analytics.ErrNoLibrary) {
					return exitError{exitUsage, fmt.Errorf("analytics: %w", err)}
				}
				return fmt.Errorf("analytics: %w", err)
			}
			defer b.Close()
			applied, err := analytics.Migrate(ctx, b, analytics.Migrations())
			if err != nil {
				return fmt.Errorf("analytics: %w", err)
			}
			sink, err := analytics.NewSink(a.cfg.Kafka, b, acfg.Sink, analytics.WithSinkLogger(a.log), analytics.WithStreamOptions(a.streamOpts()...))
			if err != nil {
				return exitError{exitUsage, err}
			}
			a.log.Info("analytics sink starting", "backend", acfg.Backend, "migrations_applied", len(applied),
				"inputs", sink.Spec().Inputs, "validators", acfg.Sink.Validators, "brokers", a.cfg.Kafka.Brokers)
			return runAll(ctx, []component{sink}, func(_ component, err error) error {
				return fmt.Errorf("analytics sink: %w", err)
			}, nil)
		},
	})
	return cmd
}
