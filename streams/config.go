package streams

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Config is how every fairstream component reaches the Kafka cluster.
type Config struct {
	// Brokers are the seed brokers, host:port.
	Brokers []string `mapstructure:"brokers"`
	// ClientID prefixes the client ID of every connection; the component
	// appends its role ("fairstream-structure", ...).
	ClientID string `mapstructure:"client_id"`
	// ConnectTimeout is how long a command retries an unreachable cluster
	// before it gives up and exits non-zero.
	ConnectTimeout time.Duration `mapstructure:"connect_timeout"`
	// ReplicationFactor for topics the catalog creates; -1 is the broker's default.
	ReplicationFactor int            `mapstructure:"replication_factor"`
	TLS               TLSConfig      `mapstructure:"tls"`
	SASL              SASLConfig     `mapstructure:"sasl"`
	Producer          ProducerConfig `mapstructure:"producer"`
}

// TLSConfig enables TLS to the brokers.
type TLSConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// CAFile is a PEM bundle of CAs to trust; empty uses the system pool.
	CAFile string `mapstructure:"ca_file"`
	// CertFile and KeyFile are a client certificate for mutual TLS.
	CertFile string `mapstructure:"cert_file"`
	KeyFile  string `mapstructure:"key_file"`
}

// SASLConfig authenticates to the brokers.
type SASLConfig struct {
	// Mechanism is "" (none), "PLAIN", "SCRAM-SHA-256" or "SCRAM-SHA-512".
	Mechanism string `mapstructure:"mechanism"`
	Username  string `mapstructure:"username"`
	Password  string `mapstructure:"password" secret:"true"`
}

// ProducerConfig tunes writes.
type ProducerConfig struct {
	// Acks is "all" (required for idempotent writes), "leader" or "none".
	Acks string `mapstructure:"acks"`
	// Linger is how long a partition's batch may wait for more records.
	Linger time.Duration `mapstructure:"linger"`
	// Compression is "zstd", "lz4", "snappy", "gzip" or "none".
	Compression string `mapstructure:"compression"`
	// MaxBufferedRecords bounds records waiting to be sent; Produce blocks beyond it.
	MaxBufferedRecords int `mapstructure:"max_buffered_records"`
	// BatchMaxBytes caps one partition's batch.
	BatchMaxBytes int `mapstructure:"batch_max_bytes"`
	// DeliveryTimeout bounds how long one record is retried before its
	// produce fails; 0 retries until the context ends.
	DeliveryTimeout time.Duration `mapstructure:"delivery_timeout"`
}

// DefaultConfig returns the configuration for the embedded broker on loopback.
func DefaultConfig() Config {
	return Config{
		Brokers:           []string{"127.0.0.1:9092"},
		ClientID:          "fairstream",
		ConnectTimeout:    30 * time.Second,
		ReplicationFactor: -1,
		Producer: ProducerConfig{
			Acks:               "all",
			Linger:             5 * time.Millisecond,
			Compression:        "zstd",
			MaxBufferedRecords: 100_000,
			BatchMaxBytes:      1 << 20,
			DeliveryTimeout:    2 * time.Minute,
		},
	}
}

// Validate reports the first invalid setting, naming its key.
func (c Config) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("brokers: at least one broker is required"))
	}
	for _, b := range c.Brokers {
		if i := strings.LastIndexByte(b, ':'); i <= 0 || i == len(b)-1 {
			errs = append(errs, fmt.Errorf("brokers: %q is not host:port", b))
		}
	}
	if c.ClientID == "" {
		errs = append(errs, errors.New("client_id: must not be empty"))
	}
	if c.ConnectTimeout <= 0 {
		errs = append(errs, fmt.Errorf("connect_timeout: must be > 0, got %s", c.ConnectTimeout))
	}
	if c.ReplicationFactor == 0 || c.ReplicationFactor < -1 || c.ReplicationFactor > 32767 {
		errs = append(errs, fmt.Errorf("replication_factor: must be -1 (broker default) or >= 1, got %d", c.ReplicationFactor))
	}
	if c.TLS.Enabled {
		if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
			errs = append(errs, errors.New("tls.cert_file and tls.key_file: set both or neither"))
		}
		for _, f := range [][2]string{{"tls.ca_file", c.TLS.CAFile}, {"tls.cert_file", c.TLS.CertFile}, {"tls.key_file", c.TLS.KeyFile}} {
			if f[1] == "" {
				continue
			}
			if _, err := os.Stat(f[1]); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", f[0], err))
			}
		}
	}
	switch c.SASL.Mechanism {
	case "":
	case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		if c.SASL.Username == "" {
			errs = append(errs, fmt.Errorf("sasl.username: required with mechanism %s", c.SASL.Mechanism))
		}
	default:
		errs = append(errs, fmt.Errorf("sasl.mechanism: %q is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", c.SASL.Mechanism))
	}
	errs = append(errs, prefixErr("producer.", c.Producer.Validate()))
	return errors.Join(errs...)
}

// Validate reports invalid producer settings, naming their keys.
func (p ProducerConfig) Validate() error {
	var errs []error
	if _, err := parseAcks(p.Acks); err != nil {
		errs = append(errs, fmt.Errorf("acks: %w", err))
	}
	if p.Linger < 0 || p.Linger > time.Minute {
		errs = append(errs, fmt.Errorf("linger: must be between 0 and 1m, got %s", p.Linger))
	}
	if _, err := parseCompression(p.Compression); err != nil {
		errs = append(errs, fmt.Errorf("compression: %w", err))
	}
	if p.MaxBufferedRecords <= 0 {
		errs = append(errs, fmt.Errorf("max_buffered_records: must be > 0, got %d", p.MaxBufferedRecords))
	}
	if p.BatchMaxBytes < 1024 || p.BatchMaxBytes > 1<<30 {
		errs = append(errs, fmt.Errorf("batch_max_bytes: must be between 1024 and 1GiB, got %d", p.BatchMaxBytes))
	}
	if p.DeliveryTimeout < 0 {
		errs = append(errs, fmt.Errorf("delivery_timeout: must be >= 0, got %s", p.DeliveryTimeout))
	}
	return errors.Join(errs...)
}

var compressionNames = []string{"zstd", "lz4", "snappy", "gzip", "none"}

func parseCompression(s string) (kgo.CompressionCodec, error) {
	switch s {
	case "zstd":
		return kgo.ZstdCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "none", "":
		return kgo.NoCompression(), nil
	}
	return kgo.NoCompression(), fmt.Errorf("unknown codec %q (want one of %s)", s, strings.Join(compressionNames, ", "))
}

func parseAcks(s string) (kgo.Acks, error) {
	switch s {
	case "all":
		return kgo.AllISRAcks(), nil
	case "leader":
		return kgo.LeaderAck(), nil
	case "none":
		return kgo.NoAck(), nil
	}
	return kgo.AllISRAcks(), fmt.Errorf("%q is not one of all, leader, none", s)
}

// prefixErr prefixes every line of a joined error with a key path.
func prefixErr(prefix string, err error) error {
	if err == nil {
		return nil
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range joined.Unwrap() {
			out = append(out, prefixErr(prefix, e))
		}
		return errors.Join(out...)
	}
	return fmt.Errorf("%s%w", prefix, err)
}

// PrefixErr prefixes each error joined in err with a configuration key path,
// so that a nested Validate names the full key ("kafka.producer.linger: ...").
func PrefixErr(prefix string, err error) error { return prefixErr(prefix, err) }

// clientID joins the configured prefix and a role.
func (c Config) clientID(role string) string {
	if role == "" {
		return c.ClientID
	}
	return c.ClientID + "-" + role
}
