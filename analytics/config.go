package analytics

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fairstream/fairstream/streams"
)

// The backends Config.Backend names.
const (
	BackendChDB       = "chdb"
	BackendClickHouse = "clickhouse"
)

// Config selects and configures the analytics backend.
type Config struct {
	// Backend is "chdb" (ClickHouse in-process, the single-machine
	// default) or "clickhouse" (a ClickHouse server).
	Backend string `mapstructure:"backend"`
	// Database holds the project's tables; it is created when missing.
	Database   string           `mapstructure:"database"`
	ClickHouse ClickHouseConfig `mapstructure:"clickhouse"`
	ChDB       ChDBConfig       `mapstructure:"chdb"`
	// Sink tunes the sink of the validator's topics into the tables.
	Sink SinkConfig `mapstructure:"sink"`
}

// ClickHouseConfig reaches a ClickHouse server over its native protocol.
type ClickHouseConfig struct {
	// Addr lists host:port of the server's native (TCP) port, 9000 by
	// default; several are tried in order.
	Addr     []string `mapstructure:"addr"`
	Username string   `mapstructure:"username"`
	Password string   `mapstructure:"password" secret:"true"`
	// DialTimeout bounds each connection attempt.
	DialTimeout time.Duration `mapstructure:"dial_timeout"`
	// MaxOpenConns caps the connection pool.
	MaxOpenConns int `mapstructure:"max_open_conns"`
}

// ChDBConfig runs ClickHouse in-process through libchdb.so.
type ChDBConfig struct {
	// LibPath is the libchdb.so file. Empty: $CHDB_LIB_PATH, else the
	// dynamic linker's search for libchdb.so.
	LibPath string `mapstructure:"lib_path"`
	// Path is the directory chDB keeps its databases in. Empty: a
	// temporary directory, removed by Close. The CLI defaults it to
	// <data_dir>/chdb.
	Path string `mapstructure:"path"`
}

// DefaultConfig returns chDB in a temporary directory, and a server on
// 127.0.0.1:9000 for when Backend is switched to "clickhouse".
func DefaultConfig() Config {
	return Config{
		Backend:  BackendChDB,
		Database: "fairstream",
		ClickHouse: ClickHouseConfig{
			Addr:         []string{"127.0.0.1:9000"},
			Username:     "default",
			DialTimeout:  10 * time.Second,
			MaxOpenConns: 10,
		},
		Sink: DefaultSinkConfig(),
	}
}

// Validate reports invalid settings, naming their keys.
func (c Config) Validate() error {
	var errs []error
	switch c.Backend {
	case BackendChDB, BackendClickHouse:
	default:
		errs = append(errs, fmt.Errorf("backend: %q is not one of %s, %s", c.Backend, BackendChDB, BackendClickHouse))
	}
	if !identRE.MatchString(c.Database) {
		errs = append(errs, fmt.Errorf("database: %q is not a plain identifier (letters, digits, _)", c.Database))
	}
	if c.Backend == BackendClickHouse {
		if len(c.ClickHouse.Addr) == 0 {
			errs = append(errs, errors.New("clickhouse.addr: at least one host:port is required"))
		}
		for _, a := range c.ClickHouse.Addr {
			if i := strings.LastIndexByte(a, ':'); i <= 0 || i == len(a)-1 {
				errs = append(errs, fmt.Errorf("clickhouse.addr: %q is not host:port", a))
			}
		}
		if c.ClickHouse.DialTimeout <= 0 {
			errs = append(errs, fmt.Errorf("clickhouse.dial_timeout: must be > 0, got %s", c.ClickHouse.DialTimeout))
		}
		if c.ClickHouse.MaxOpenConns < 1 {
			errs = append(errs, fmt.Errorf("clickhouse.max_open_conns: must be >= 1, got %d", c.ClickHouse.MaxOpenConns))
		}
	}
	if err := c.Sink.Validate(); err != nil {
		errs = append(errs, streams.PrefixErr("sink.", err))
	}
	return errors.Join(errs...)
}
