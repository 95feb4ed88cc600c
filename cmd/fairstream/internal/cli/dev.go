package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fairstream/fairstream/analytics"
	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/connectors/identity"
	"github.com/fairstream/fairstream/streams"
	"github.com/fairstream/fairstream/streams/embedded"
)

func (a *app) devCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run every component in one process on the embedded defaults",
		Long: `Run the whole stack in one process: the embedded Kafka broker (kfake,
persisted under data_dir/kafka), the metrics endpoint, and the processors
listed in dev.processors, and every connector enabled in its
connectors.<name> section (connectors.<name>.enabled: true), which signs
with the worker key (worker.key_file; create it with 'fairstream keys gen').
It prints where each service listens and what runs, and runs until SIGINT
or SIGTERM. Any Kafka client can use the broker, for example
'kcat -b 127.0.0.1:9092 -L'.`,
		Args: cobra.NoArgs,
	}
	def := DefaultConfig()
	fs := cmd.Flags()
	fs.String("broker-listen", def.Broker.Listen, "address of the embedded Kafka broker (loopback only)")
	fs.String("metrics-listen", def.Metrics.Listen, "address of the Prometheus /metrics endpoint; empty disables it")
	a.bind(fs, "broker.listen", "broker-listen")
	a.bind(fs, "metrics.listen", "metrics-listen")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := a.setup(); err != nil {
			return err
		}
		return a.runDev(cmd)
	}
	return cmd
}

// startAnalytics opens the analytics backend (chDB in-process by default)
// and applies the schema migrations. Without libchdb.so the dev stack runs
// without analytics (b is nil) and says how to get it; any other failure
// stops it.
func (a *app) startAnalytics(ctx context.Context) (line string, b analytics.Backend, err error) {
	acfg := a.cfg.analyticsConfig()
	b, err = analytics.Open(ctx, acfg)
	if errors.Is(err, analytics.ErrNoLibrary) {
		a.log.Warn("analytics disabled: chDB is not installed", "err", err)
		return "disabled: libchdb.so not found; `make run` or `deploy/local/services up chdb` installs it (CHDB_LIB_PATH)", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("analytics: %w", err)
	}
	applied, err := analytics.Migrate(ctx, b, analytics.Migrations())
	if err != nil {
		_ = b.Close()
		return "", nil, fmt.Errorf("analytics: %w", err)
	}
	where := acfg.ChDB.Path
	if acfg.Backend == analytics.BackendClickHouse {
		where = strings.Join(acfg.ClickHouse.Addr, ",")
	}
	return fmt.Sprintf("%-24s %s (database %s, %d migrations applied now)", acfg.Backend, where, acfg.Database, len(applied)), b, nil
}

func (a *app) runDev(cmd *cobra.Command) error {
	ctx := cmd.Context()
	a.dev = true
	cfg := a.cfg
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	// Connectors' settings and the worker key are checked before anything
	// starts.
	srcs, id, err := a.devSources()
	if err != nil {
		return err
	}
	stopMetrics, metricsAddr, err := a.serveMetrics(ctx)
	if err != nil {
		return err
	}
	defer stopMetrics()

	bcfg := cfg.Broker
	bcfg.DataDir = cfg.brokerDataDir()
	a.log.Info("starting the embedded broker", "listen", bcfg.Listen, "data_dir", bcfg.DataDir)
	broker, err := embedded.Start(ctx, bcfg, streams.DefaultCatalog(), a.log)
	if err != nil {
		if errors.Is(err, embedded.ErrPortInUse) {
			return exitError{exitFailure, err}
		}
		return err
	}
	defer broker.Close()
	// Every component of the dev stack talks to the embedded broker.
	a.cfg.Kafka.Brokers = []string{broker.Addr()}

	analyticsLine, backend, err := a.startAnalytics(ctx)
	if err != nil {
		return err
	}
	if backend != nil {
		defer backend.Close()
		// chDB is one process's: `fairstream sql` asks this one over
		// loopback HTTP while it runs.
		if a.mux != nil && metricsAddr != "" && isLoopback(metricsAddr) {
			a.mux.Handle("/sql", sqlHandler(backend))
			analyticsLine += fmt.Sprintf("; fairstream sql queries it at http://%s/sql", metricsAddr)
		}
	}

	var runners []component
	var disabled []string
	for _, name := range cfg.Dev.Processors {
		def, err := lookupProcessor(name)
		if err != nil {
			return err
		}
		rs, err := def.build(a)
		if errors.Is(err, errDisabled) {
			a.log.Warn("processor disabled", "processor", name, "err", err)
			disabled = append(disabled, fmt.Sprintf("%-24s %v", name, err))
			continue
		}
		if err != nil {
			return err
		}
		runners = append(runners, rs...)
	}

	// The validators among the processors (their keys' addresses).
	var validators []string
	for _, r := range runners {
		if v, ok := r.(interface{ Address() string }); ok {
			validators = append(validators, v.Address())
		}
	}

	// Validator windows land in the analytics tables; the sink takes the
	// dev validator's unless told which validators to trust.
	if backend != nil {
		scfg := a.cfg.Analytics.Sink
		if len(scfg.Validators) == 0 {
			scfg.Validators = validators
		}
		sink, err := analytics.NewSink(a.cfg.Kafka, backend, scfg,
			analytics.WithSinkLogger(a.log), analytics.WithStreamOptions(a.streamOpts()...))
		if err != nil {
			return err
		}
		runners = append(runners, sink)
	}

	var workers []*connectors.Worker
	for _, src := range srcs {
		w, err := a.worker(src, id)
		if err != nil {
			return fmt.Errorf("connector %s: %w", src.Name(), err)
		}
		workers = append(workers, w)
	}

	out := a.stdout
	fmt.Fprintf(out, "fairstream dev is running (Ctrl-C stops it)\n")
	fmt.Fprintf(out, "  kafka broker   %-24s log in %s\n", broker.Addr(), bcfg.DataDir)
	if metricsAddr != "" {
		fmt.Fprintf(out, "  metrics        http://%s/metrics\n", metricsAddr)
	}
	fmt.Fprintf(out, "  analytics      %s\n", analyticsLine)
	for _, w := range workers {
		fmt.Fprintf(out, "  connector      %-24s worker %s\n", w.Name(), w.Worker())
	}
	if len(workers) == 0 {
		fmt.Fprintf(out, "  connectors     none enabled (set connectors.<name>.enabled; `fairstream connector list` names them)\n")
	}
	for _, r := range runners {
		s := r.Spec()
		fmt.Fprintf(out, "  processor      %-24s %v -> %v\n", s.Name, s.Inputs, s.Outputs)
	}
	for _, v := range validators {
		fmt.Fprintf(out, "  validator      %-24s key %s\n", v, cfg.validatorKeyFile())
	}
	for _, d := range disabled {
		fmt.Fprintf(out, "  processor      %s\n", d)
	}
	if f, ok := out.(interface{ Sync() error }); ok {
		_ = f.Sync()
	}

	// Run until a signal, or until a component fails; then stop them all.
	comps := runners
	for _, w := range workers {
		comps = append(comps, connectorComponent{w})
	}
	runErr := runAll(ctx, comps, func(c component, err error) error {
		if _, ok := c.(connectorComponent); ok {
			return err // it names the connector and the stream
		}
		return fmt.Errorf("processor %s: %w", c.Spec().Name, err)
	}, func(err error) {
		if err != nil {
			a.log.Error("a component failed; shutting down", "err", err)
		} else {
			a.log.Info("shutting down")
		}
	})
	broker.Close()
	a.log.Info("stopped")
	return runErr
}

// connectorComponent runs a connector's worker beside the processors.
type connectorComponent struct{ *connectors.Worker }

func (c connectorComponent) Spec() streams.Spec { return streams.Spec{Name: "connector-" + c.Name()} }

// devSources builds the source of every enabled connector and loads the
// worker key they sign with. The key is loaded only when one is enabled, so
// the dev stack runs without one.
func (a *app) devSources() ([]connectors.Source, *identity.Identity, error) {
	var defs []connectorDef
	var names []string
	for _, def := range connectorDefs() {
		if def.enabled(a.cfg) {
			defs = append(defs, def)
			names = append(names, def.name)
		}
	}
	if len(defs) == 0 {
		return nil, nil, nil
	}
	id, err := a.loadIdentity()
	if err != nil {
		return nil, nil, fmt.Errorf("enabled connectors (%s) sign with the worker key: %w", strings.Join(names, ", "), err)
	}
	var srcs []connectors.Source
	for _, def := range defs {
		src, err := a.source(def)
		if err != nil {
			return nil, nil, fmt.Errorf("connector %s: %w", def.name, err)
		}
		srcs = append(srcs, src)
	}
	return srcs, id, nil
}
