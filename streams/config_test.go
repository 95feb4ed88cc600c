package streams_test

import (
	"strings"
	"testing"
	"time"

	"github.com/fairstream/fairstream/streams"
)

func TestConfigValidate(t *testing.T) {
	if err := streams.DefaultConfig().Validate(); err != nil {
		t.Fatalf("default kafka config: %v", err)
	}
	if err := streams.DefaultRunnerConfig().Validate(); err != nil {
		t.Fatalf("default runner config: %v", err)
	}
	for _, tc := range []struct {
		want string
		edit func(*streams.Config)
	}{
		{"brokers: at least one", func(c *streams.Config) { c.Brokers = nil }},
		{`brokers: "nohost" is not host:port`, func(c *streams.Config) { c.Brokers = []string{"nohost"} }},
		{"connect_timeout: must be > 0", func(c *streams.Config) { c.ConnectTimeout = 0 }},
		{"replication_factor", func(c *streams.Config) { c.ReplicationFactor = 0 }},
		{"sasl.mechanism", func(c *streams.Config) { c.SASL.Mechanism = "GSSAPI" }},
		{"sasl.username: required", func(c *streams.Config) { c.SASL.Mechanism = "PLAIN" }},
		{"tls.ca_file", func(c *streams.Config) { c.TLS = streams.TLSConfig{Enabled: true, CAFile: "/nonexistent/ca.pem"} }},
		{"producer.acks", func(c *streams.Config) { c.Producer.Acks = "some" }},
		{"producer.compression: unknown codec", func(c *streams.Config) { c.Producer.Compression = "brotli" }},
		{"producer.linger", func(c *streams.Config) { c.Producer.Linger = -time.Second }},
		{"producer.batch_max_bytes", func(c *streams.Config) { c.Producer.BatchMaxBytes = 10 }},
	} {
		c := streams.DefaultConfig()
		tc.edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want an error containing %q, got %v", tc.want, err)
		}
	}
	for _, tc := range []struct {
		want string
		edit func(*streams.RunnerConfig)
	}{
		{"max_attempts", func(c *streams.RunnerConfig) { c.MaxAttempts = 0 }},
		{"backoff_initial", func(c *streams.RunnerConfig) { c.BackoffMax = c.BackoffInitial / 2 }},
		{"transaction_timeout: 1s is shorter than the worst-case retry", func(c *streams.RunnerConfig) {
			c.TransactionTimeout = time.Second
			c.MaxAttempts = 10
		}},
		{"session_timeout", func(c *streams.RunnerConfig) { c.SessionTimeout = time.Second }},
		{"max_poll_records", func(c *streams.RunnerConfig) { c.MaxPollRecords = 0 }},
		{"instance_id", func(c *streams.RunnerConfig) { c.InstanceID = "a b" }},
	} {
		c := streams.DefaultRunnerConfig()
		tc.edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want an error containing %q, got %v", tc.want, err)
		}
	}
}

func TestPrefixErr(t *testing.T) {
	c := streams.DefaultConfig()
	c.Producer.Acks = "x"
	c.ConnectTimeout = 0
	err := streams.PrefixErr("kafka.", c.Validate())
	for _, want := range []string{"kafka.connect_timeout:", "kafka.producer.acks:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
}

func TestParsePosition(t *testing.T) {
	for _, s := range []string{"earliest", "latest", "2026-11-25T10:00:00Z", "2026-11-25T10:00:00.5+02:00"} {
		if _, err := streams.ParsePosition(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if _, err := streams.ParsePosition("yesterday"); err == nil {
		t.Error("yesterday: want an error")
	}
}
