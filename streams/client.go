package streams

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/fairstream/fairstream/schemas"
)

// ErrUnreachable is returned when no broker answered within ConnectTimeout.
var ErrUnreachable = errors.New("kafka unreachable")

// Option configures a Producer, Consumer, Runner or Admin.
type Option func(*options)

type options struct {
	logger   *slog.Logger
	metrics  *Metrics
	registry *schemas.Registry
	catalog  *Catalog
	kgoOpts  []kgo.Opt
}

func newOptions(opts []Option) *options {
	o := &options{}
	for _, opt := range opts {
		opt(o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	if o.registry == nil {
		o.registry = schemas.Builtin()
	}
	if o.catalog == nil {
		o.catalog = DefaultCatalog()
	}
	if o.metrics == nil {
		o.metrics = NewMetrics(nil)
	}
	return o
}

// WithLogger sets the structured logger; the default discards.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithMetrics sets where metrics go; the default keeps them unexported.
func WithMetrics(m *Metrics) Option { return func(o *options) { o.metrics = m } }

// WithRegistry sets the payload registry; the default is schemas.Builtin.
func WithRegistry(r *schemas.Registry) Option { return func(o *options) { o.registry = r } }

// WithCatalog sets the topic catalog; the default is DefaultCatalog.
func WithCatalog(c *Catalog) Option { return func(o *options) { o.catalog = c } }

// WithKgoOpts appends raw franz-go options, applied last (tests, benchmarks, tuning).
func WithKgoOpts(opts ...kgo.Opt) Option {
	return func(o *options) { o.kgoOpts = append(o.kgoOpts, opts...) }
}

// clientOpts returns the franz-go options shared by every client.
func (c Config) clientOpts(role string, o *options) ([]kgo.Opt, error) {
	id := c.clientID(role)
	var hooks []kgo.Hook
	if o.metrics != nil && o.metrics.reg != nil {
		// Clients alive at once need distinct IDs: the IDs label their
		// metrics.
		var release kgo.Hook
		id, release = o.metrics.claimClientID(id)
		hooks = append(hooks, release, o.metrics.kafkaHook())
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(c.Brokers...),
		kgo.ClientID(id),
		kgo.WithLogger(kgoLogger{o.logger.With("client", id)}),
		kgo.WithHooks(&connLogger{log: o.logger, last: map[string]time.Time{}}),
	}
	if len(hooks) > 0 {
		opts = append(opts, kgo.WithHooks(hooks...))
	}
	if c.TLS.Enabled {
		tc, err := c.TLS.tlsConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if m := c.SASL.mechanism(); m != nil {
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}

// producerOpts returns the write options from ProducerConfig.
func (p ProducerConfig) producerOpts() []kgo.Opt {
	acks, _ := parseAcks(p.Acks)
	codec, _ := parseCompression(p.Compression)
	opts := []kgo.Opt{
		kgo.RequiredAcks(acks),
		kgo.ProducerLinger(p.Linger),
		kgo.ProducerBatchCompression(codec),
		kgo.MaxBufferedRecords(p.MaxBufferedRecords),
		kgo.ProducerBatchMaxBytes(int32(p.BatchMaxBytes)),
	}
	if p.DeliveryTimeout > 0 {
		opts = append(opts, kgo.RecordDeliveryTimeout(p.DeliveryTimeout))
	}
	if p.Acks != "all" {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	return opts
}

func (t TLSConfig) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file: %s holds no PEM certificate", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls.cert_file/tls.key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func (s SASLConfig) mechanism() sasl.Mechanism {
	switch s.Mechanism {
	case "PLAIN":
		return plain.Auth{User: s.Username, Pass: s.Password}.AsMechanism()
	case "SCRAM-SHA-256":
		return scram.Auth{User: s.Username, Pass: s.Password}.AsSha256Mechanism()
	case "SCRAM-SHA-512":
		return scram.Auth{User: s.Username, Pass: s.Password}.AsSha512Mechanism()
	}
	return nil
}

// NewClient returns a plain franz-go client for the configured cluster, for
// admin work (kadm) and tools. Components use Producer, Consumer or Runner.
func NewClient(cfg Config, role string, opts ...Option) (*kgo.Client, error) {
	o := newOptions(opts)
	kopts, err := cfg.clientOpts(role, o)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append(kopts, o.kgoOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	return cl, nil
}

// WaitReady blocks until a broker answers, retrying with a log line that
// says what is retried. It gives up after cfg.ConnectTimeout with an error
// wrapping ErrUnreachable, or when ctx ends.
func WaitReady(ctx context.Context, cl *kgo.Client, cfg Config, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	deadline := start.Add(cfg.ConnectTimeout)
	backoff := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		pctx, cancel := context.WithDeadline(ctx, deadline)
		err := cl.Ping(pctx)
		cancel()
		if err == nil {
			if attempt > 1 {
				log.Info("kafka reachable", "brokers", cfg.Brokers, "after", time.Since(start).Round(time.Millisecond))
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !time.Now().Add(backoff).Before(deadline) {
			return fmt.Errorf("%w: no broker of %v answered within connect_timeout %s: %v", ErrUnreachable, cfg.Brokers, cfg.ConnectTimeout, err)
		}
		log.Warn("kafka unreachable, retrying",
			"brokers", cfg.Brokers, "attempt", attempt,
			"elapsed", time.Since(start).Round(time.Millisecond),
			"gives_up_in", time.Until(deadline).Round(time.Second), "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 4*time.Second)
	}
}

// connLogger logs failed broker connections, at most once per broker per
// interval, so that a lost cluster is visible in the logs while franz-go
// retries it.
type connLogger struct {
	log  *slog.Logger
	mu   sync.Mutex
	last map[string]time.Time
}

var _ kgo.HookBrokerConnect = (*connLogger)(nil)

func (l *connLogger) OnBrokerConnect(meta kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err == nil {
		return
	}
	addr := net.JoinHostPort(meta.Host, fmt.Sprint(meta.Port))
	l.mu.Lock()
	if time.Since(l.last[addr]) < 10*time.Second {
		l.mu.Unlock()
		return
	}
	l.last[addr] = time.Now()
	l.mu.Unlock()
	l.log.Warn("kafka broker connection failed; the client retries it", "broker", addr, "err", err)
}

// kgoLogger hands franz-go's logs to slog one level down: its info logs
// narrate every metadata refresh and rebalance, which is debug detail for
// fairstream; its warnings and errors stay what they are.
type kgoLogger struct{ log *slog.Logger }

var _ kgo.Logger = kgoLogger{}

func (l kgoLogger) Level() kgo.LogLevel {
	ctx := context.Background()
	switch {
	case l.log.Enabled(ctx, slog.LevelDebug):
		return kgo.LogLevelInfo
	case l.log.Enabled(ctx, slog.LevelWarn):
		return kgo.LogLevelWarn
	case l.log.Enabled(ctx, slog.LevelError):
		return kgo.LogLevelError
	}
	return kgo.LogLevelNone
}

func (l kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lv := slog.LevelDebug
	switch level {
	case kgo.LogLevelError:
		lv = slog.LevelError
	case kgo.LogLevelWarn:
		lv = slog.LevelWarn
	}
	l.log.Log(context.Background(), lv, msg, keyvals...)
}
