package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/fairstream/fairstream/connectors/identity"
	"github.com/fairstream/fairstream/streams"
)

// exitError carries a process exit code.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

// Exit codes.
const (
	exitFailure = 1 // the command failed
	exitUsage   = 2 // bad flags, arguments or configuration
)

// app is one invocation of the CLI.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	environ        []string

	configFile string
	flagKeys   map[string]*pflag.Flag

	cfg      Config
	log      *slog.Logger
	verifier *identity.Verifier // tail's signature checks
	reg      *prometheus.Registry
	metrics  *streams.Metrics
	// mux is the metrics server's, once it serves: dev adds /sql to it.
	mux *http.ServeMux
	// dev is set by `fairstream dev`: the validator key is created when
	// missing.
	dev bool
}

// Main runs the CLI and returns the process exit code. SIGINT and SIGTERM
// cancel the command's context: long-running commands shut down cleanly.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, environ: os.Environ(), flagKeys: map[string]*pflag.Flag{}}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "fairstream: %v\n", err)
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitFailure
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "fairstream",
		Short: "fairstream: an open, event-sourced data network for Fair AI",
		Long: `fairstream runs the data network's components: the bus (Kafka), connectors,
processors, the validator and the rewards emitter.

  fairstream dev               everything in one process on embedded defaults
  fairstream processor run X   one processor, for production scale-out
  fairstream topics|produce|tail   work with the bus

Configuration comes from fairstream.yaml (or --config), FAIRSTREAM_* environment
variables and flags, in increasing order of precedence; see
deploy/config/fairstream.example.yaml and 'fairstream config print'.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.configFile, "config", "", "config file (default ./fairstream.yaml if it exists; env FAIRSTREAM_CONFIG)")
	def := DefaultConfig()
	pf.String("data-dir", def.DataDir, "data directory of the embedded services")
	pf.StringSlice("brokers", def.Kafka.Brokers, "Kafka seed brokers, host:port, comma-separated")
	pf.String("log-level", def.Log.Level, "log level: debug, info, warn, error")
	pf.String("log-format", def.Log.Format, "log format: json or text")
	a.bind(pf, "data_dir", "data-dir")
	a.bind(pf, "kafka.brokers", "brokers")
	a.bind(pf, "log.level", "log-level")
	a.bind(pf, "log.format", "log-format")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return exitError{exitUsage, fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	root.AddCommand(
		a.devCmd(),
		a.processorCmd(),
		a.validatorCmd(),
		a.connectorCmd(),
		a.keysCmd(),
		a.topicsCmd(),
		a.produceCmd(),
		a.tailCmd(),
		a.searchCmd(),
		a.sqlCmd(),
		a.analyticsCmd(),
		a.configCmd(),
		a.versionCmd(),
	)
	return root
}

// bind ties a flag of fs to a configuration key: a flag the user sets
// overrides the file and the environment.
func (a *app) bind(fs *pflag.FlagSet, key, flag string) {
	f := fs.Lookup(flag)
	if f == nil {
		panic("cli: bind of undefined flag --" + flag) // caught by every test
	}
	a.flagKeys[key] = f
}

// setup loads the configuration and builds the logger and metrics. Every
// command but version and help calls it first.
func (a *app) setup() error {
	cfg, err := loader{configFile: a.configFile, flags: a.flagKeys, environ: a.environ}.load()
	if err != nil {
		return exitError{exitUsage, err}
	}
	a.cfg = cfg
	level := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}[cfg.Log.Level]
	hopts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "text" {
		a.log = slog.New(slog.NewTextHandler(a.stderr, hopts))
	} else {
		a.log = slog.New(slog.NewJSONHandler(a.stderr, hopts))
	}
	a.reg = prometheus.NewRegistry()
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.metrics = streams.NewMetrics(a.reg)
	return nil
}

func (a *app) streamOpts() []streams.Option {
	return []streams.Option{streams.WithLogger(a.log), streams.WithMetrics(a.metrics)}
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%q is not host:port", addr)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%q: bad port", addr)
	}
	return host, port, nil
}
