// Package embedded runs fairstream's single-machine Kafka broker: a franz-go
// kfake cluster of one broker, listening on loopback, persisted under the
// data directory, with the catalog's topics created at start. Any Kafka
// client (kcat, librdkafka, the Java client, franz-go) can use it.
//
// It is the bus of `fairstream dev`; production points streams.Config at a
// real cluster instead, and nothing else changes.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"syscall"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fairstream/fairstream/streams"
)

// Config configures the embedded broker.
type Config struct {
	// Listen is the address to listen on. Only loopback hosts are
	// accepted; port 0 picks a free port.
	Listen string `mapstructure:"listen"`
	// DataDir persists the log; empty keeps it in memory. The CLI
	// defaults it to <data_dir>/kafka.
	DataDir string `mapstructure:"data_dir"`
	// SyncWrites fsyncs every batch: durable across power loss, slower.
	// Without it the log survives a killed process but not a crashed host.
	SyncWrites bool `mapstructure:"sync_writes"`
}

// DefaultConfig listens on 127.0.0.1:9092.
func DefaultConfig() Config { return Config{Listen: "127.0.0.1:9092"} }

// Validate reports invalid settings, naming their keys.
func (c Config) Validate() error {
	_, err := c.port()
	return err
}

func (c Config) port() (int, error) {
	host, p, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return 0, fmt.Errorf("listen: %q is not host:port: %w", c.Listen, err)
	}
	if host != "127.0.0.1" && host != "localhost" {
		return 0, fmt.Errorf("listen: the embedded broker binds to loopback only; use 127.0.0.1, not %q", host)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return 0, fmt.Errorf("listen: %q is not a port", p)
	}
	return port, nil
}

// ErrPortInUse is returned when the listen port is taken.
var ErrPortInUse = errors.New("port already in use")

// Broker is a running embedded broker.
type Broker struct {
	cluster *kfake.Cluster
	addr    string
	once    sync.Once
}

// Start starts the broker and creates the catalog's topics on it.
func Start(ctx context.Context, cfg Config, catalog *streams.Catalog, log *slog.Logger) (*Broker, error) {
	port, err := cfg.port()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.ClusterID("fairstream-embedded"),
		kfake.WithLogger(kfakeLogger{log.With("component", "broker")}),
		kfake.ListenFn(func(network, address string) (net.Listener, error) {
			ln, err := net.Listen(network, address)
			if errors.Is(err, syscall.EADDRINUSE) {
				return nil, fmt.Errorf("broker.listen %s: %w (another broker or `fairstream dev` is running; stop it or set broker.listen)", address, ErrPortInUse)
			}
			return ln, err
		}),
	}
	if cfg.DataDir != "" {
		opts = append(opts, kfake.DataDir(cfg.DataDir))
		if cfg.SyncWrites {
			opts = append(opts, kfake.SyncWrites())
		}
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	b := &Broker{cluster: cluster, addr: cluster.ListenAddrs()[0]}
	if err := b.createTopics(ctx, catalog, log); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

func (b *Broker) createTopics(ctx context.Context, catalog *streams.Catalog, log *slog.Logger) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.addr))
	if err != nil {
		return fmt.Errorf("embedded broker: %w", err)
	}
	defer cl.Close()
	results, err := streams.EnsureTopics(ctx, kadm.NewClient(cl), 1, catalog.Topics()...)
	if err != nil {
		return fmt.Errorf("embedded broker: %w", err)
	}
	created := 0
	for _, r := range results {
		if r.Created {
			created++
		}
		if r.Warning != "" {
			log.Warn("topic differs from the catalog", "topic", r.Topic.Name, "warning", r.Warning)
		}
	}
	log.Info("embedded broker topics ready", "created", created, "existing", len(results)-created)
	return nil
}

// Addr returns the host:port clients connect to.
func (b *Broker) Addr() string { return b.addr }

// Cluster returns the kfake cluster, for tests that inject faults.
func (b *Broker) Cluster() *kfake.Cluster { return b.cluster }

// Close stops the broker, persisting its state; it is idempotent.
func (b *Broker) Close() { b.once.Do(b.cluster.Close) }

type kfakeLogger struct{ log *slog.Logger }

func (l kfakeLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	var lv slog.Level
	switch level {
	case kfake.LogLevelError:
		lv = slog.LevelError
	case kfake.LogLevelWarn:
		lv = slog.LevelWarn
	case kfake.LogLevelInfo:
		lv = slog.LevelDebug // kfake logs every request at info
	default:
		return
	}
	ctx := context.Background()
	if l.log.Enabled(ctx, lv) {
		l.log.Log(ctx, lv, fmt.Sprintf(format, args...))
	}
}
