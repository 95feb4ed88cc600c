package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"github.com/fairstream/fairstream/analytics"
	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/connectors/discord"
	"github.com/fairstream/fairstream/connectors/identity"
	"github.com/fairstream/fairstream/connectors/podcast"
	"github.com/fairstream/fairstream/connectors/telegram"
	"github.com/fairstream/fairstream/connectors/twitter"
	"github.com/fairstream/fairstream/connectors/web"
	"github.com/fairstream/fairstream/processors/annotate"
	"github.com/fairstream/fairstream/processors/embed"
	"github.com/fairstream/fairstream/processors/embed/model"
	"github.com/fairstream/fairstream/processors/structure"
	"github.com/fairstream/fairstream/processors/trends"
	"github.com/fairstream/fairstream/processors/validator"
	"github.com/fairstream/fairstream/streams"
	"github.com/fairstream/fairstream/streams/embedded"
)

// Config is the whole configuration: each section is owned by the package
// it configures; this layer only assembles them and reads viper.
type Config struct {
	// DataDir holds everything `fairstream dev` persists.
	DataDir    string               `mapstructure:"data_dir"`
	Log        LogConfig            `mapstructure:"log"`
	Metrics    MetricsConfig        `mapstructure:"metrics"`
	Kafka      streams.Config       `mapstructure:"kafka"`
	Broker     embedded.Config      `mapstructure:"broker"`
	Runner     streams.RunnerConfig `mapstructure:"runner"`
	Processors ProcessorsConfig     `mapstructure:"processors"`
	Vectors    VectorsConfig        `mapstructure:"vectors"`
	Analytics  analytics.Config     `mapstructure:"analytics"`
	Worker     identity.Config      `mapstructure:"worker"`
	Connectors ConnectorsConfig     `mapstructure:"connectors"`
	Validator  ValidatorConfig      `mapstructure:"validator"`
	Dev        DevConfig            `mapstructure:"dev"`
}

// ConnectorsConfig is the worker runtime's settings and each connector's
// own section.
type ConnectorsConfig struct {
	connectors.Config `mapstructure:",squash"`
	Twitter           twitter.Config  `mapstructure:"twitter"`
	Web               web.Config      `mapstructure:"web"`
	Discord           discord.Config  `mapstructure:"discord"`
	Telegram          telegram.Config `mapstructure:"telegram"`
	Podcast           podcast.Config  `mapstructure:"podcast"`
}

// LogConfig configures the structured logs on stderr.
type LogConfig struct {
	// Level is debug, info, warn or error.
	Level string `mapstructure:"level"`
	// Format is json or text.
	Format string `mapstructure:"format"`
}

// MetricsConfig configures the Prometheus endpoint.
type MetricsConfig struct {
	// Listen is where /metrics is served; empty disables it.
	Listen string `mapstructure:"listen"`
}

// ProcessorsConfig holds each processor's own section.
type ProcessorsConfig struct {
	Structure structure.Config `mapstructure:"structure"`
	Annotate  annotate.Config  `mapstructure:"annotate"`
	Trends    trends.Config    `mapstructure:"trends"`
	Embed     EmbedConfig      `mapstructure:"embed"`
}

// DevConfig says what `fairstream dev` runs.
type DevConfig struct {
	// Processors lists the processors to run; see `fairstream processor list`.
	Processors []string `mapstructure:"processors"`
}

// DefaultConfig is the embedded single-machine setup.
func DefaultConfig() Config {
	return Config{
		DataDir: "./data",
		Log:     LogConfig{Level: "info", Format: "json"},
		Metrics: MetricsConfig{Listen: "127.0.0.1:9464"},
		Kafka:   streams.DefaultConfig(),
		Broker:  embedded.DefaultConfig(),
		Runner:  streams.DefaultRunnerConfig(),
		Processors: ProcessorsConfig{Structure: structure.DefaultConfig(), Annotate: annotate.DefaultConfig(), Trends: trends.DefaultConfig(),
			Embed: EmbedConfig{Config: embed.DefaultConfig(), Model: model.DefaultConfig()}},
		Vectors:   defaultVectorsConfig(),
		Analytics: analytics.DefaultConfig(),
		Worker:    identity.DefaultConfig(),
		Validator: ValidatorConfig{Config: validator.DefaultConfig(), Identity: identity.DefaultConfig()},
		Connectors: ConnectorsConfig{
			Config:   connectors.DefaultConfig(),
			Twitter:  twitter.DefaultConfig(),
			Web:      web.DefaultConfig(),
			Discord:  discord.DefaultConfig(),
			Telegram: telegram.DefaultConfig(),
			Podcast:  podcast.DefaultConfig(),
		},
		Dev: DevConfig{Processors: processorNames()},
	}
}

// Validate checks every section, naming each bad key in full.
func (c Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data_dir: must not be empty"))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level: %q is not one of debug, info, warn, error", c.Log.Level))
	}
	switch c.Log.Format {
	case "json", "text":
	default:
		errs = append(errs, fmt.Errorf("log.format: %q is not one of json, text", c.Log.Format))
	}
	if c.Metrics.Listen != "" {
		if _, _, err := splitHostPort(c.Metrics.Listen); err != nil {
			errs = append(errs, fmt.Errorf("metrics.listen: %w", err))
		}
	}
	errs = append(errs,
		streams.PrefixErr("kafka.", c.Kafka.Validate()),
		streams.PrefixErr("broker.", c.Broker.Validate()),
		streams.PrefixErr("runner.", c.Runner.Validate()),
		streams.PrefixErr("processors.structure.", c.Processors.Structure.Validate()),
		streams.PrefixErr("processors.annotate.", c.Processors.Annotate.Validate()),
		streams.PrefixErr("processors.trends.", c.Processors.Trends.Validate()),
		streams.PrefixErr("processors.embed.", c.Processors.Embed.Config.Validate()),
		streams.PrefixErr("processors.embed.model.", c.Processors.Embed.Model.Validate()),
		streams.PrefixErr("vectors.", c.Vectors.Validate()),
		streams.PrefixErr("analytics.", c.Analytics.Validate()),
		streams.PrefixErr("worker.", c.Worker.Validate()),
		streams.PrefixErr("connectors.", c.Connectors.Config.Validate()),
		streams.PrefixErr("validator.", c.Validator.Config.Validate()),
		streams.PrefixErr("validator.identity.", c.Validator.Identity.Validate()),
	)
	for _, def := range connectorDefs() {
		errs = append(errs, streams.PrefixErr("connectors."+def.name+".", def.validate(c)))
	}
	for _, p := range c.Dev.Processors {
		if !slices.Contains(processorNames(), p) {
			errs = append(errs, fmt.Errorf("dev.processors: unknown processor %q (known: %s)", p, strings.Join(processorNames(), ", ")))
		}
	}
	return errors.Join(errs...)
}

// envPrefix prefixes every setting's environment variable.
const envPrefix = "FAIRSTREAM"

// envNotSettings are FAIRSTREAM_ variables that are not settings.
var envNotSettings = []string{
	"FAIRSTREAM_CONFIG", // the config file, like --config
	"FAIRSTREAM_CACHE",  // downloads cache of the Makefile and deploy/local
	// The test environment `deploy/local/services env` exports
	// (internal/testenv); not settings of the binary.
	"FAIRSTREAM_TEST_REQUIRE",
	"FAIRSTREAM_CLICKHOUSE_ADDR",
	"FAIRSTREAM_MILVUS_ADDR",
	"FAIRSTREAM_ETH_RPC",
	"FAIRSTREAM_ETH_DEV_KEY",
}

// envName is the environment variable of a key: kafka.brokers → FAIRSTREAM_KAFKA_BROKERS.
func envName(key string) string {
	return envPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// loader loads a Config from defaults, a file, the environment and flags,
// in increasing order of precedence.
type loader struct {
	configFile string
	flags      map[string]*pflag.Flag // key → flag
	environ    []string
}

// load builds the effective configuration, failing on unknown keys and
// invalid values with a message that names the key and where it came from.
func (l loader) load() (Config, error) {
	v := viper.New()
	def := DefaultConfig()
	leaves := flatten(def)
	known := make(map[string]bool, len(leaves))
	for _, lf := range leaves {
		known[lf.key] = true
		v.SetDefault(lf.key, lf.value.Interface())
	}

	file := l.configFile
	if file == "" {
		file = lookupEnv(l.environ, "FAIRSTREAM_CONFIG")
	}
	explicit := file != ""
	if !explicit {
		if _, err := os.Stat("fairstream.yaml"); err == nil {
			file = "fairstream.yaml"
		}
	}
	if file != "" {
		fv := viper.New()
		fv.SetConfigFile(file)
		if err := fv.ReadInConfig(); err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", file, err)
		}
		for _, k := range fv.AllKeys() {
			if isSection(k, known) {
				return Config{}, fmt.Errorf("config file %s: %q is a section, not a value; set its keys, such as %s", file, k, sectionExample(k, leaves))
			}
			if !known[k] {
				return Config{}, fmt.Errorf("config file %s: unknown key %q%s", file, k, suggest(k, slices.Collect(mapKeys(known))))
			}
		}
		v.SetConfigFile(file)
		if err := v.ReadInConfig(); err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", file, err)
		}
	}

	envKnown := map[string]string{}
	for k := range known {
		envKnown[envName(k)] = k
	}
	for _, kv := range l.environ {
		name, val, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, envPrefix+"_") || slices.Contains(envNotSettings, name) {
			continue
		}
		key, ok := envKnown[name]
		if !ok {
			return Config{}, fmt.Errorf("environment: %s is not a setting%s", name, suggest(name, slices.Collect(mapKeys(envKnown))))
		}
		v.Set(key, val)
	}

	for key, f := range l.flags {
		if !known[key] {
			return Config{}, fmt.Errorf("internal: flag --%s is bound to unknown key %q", f.Name, key)
		}
		if f.Changed {
			if sv, ok := f.Value.(pflag.SliceValue); ok {
				v.Set(key, sv.GetSlice())
			} else {
				v.Set(key, f.Value.String())
			}
		}
	}

	var cfg Config
	err := v.Unmarshal(&cfg, viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		mapstructure.StringToTimeDurationHookFunc(),
		mapstructure.StringToSliceHookFunc(","),
	)), func(dc *mapstructure.DecoderConfig) { dc.ErrorUnused = true })
	if err != nil {
		return Config{}, fmt.Errorf("configuration: %s", cleanDecodeError(err, v))
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, nil
}

func isSection(k string, known map[string]bool) bool {
	for key := range known {
		if strings.HasPrefix(key, k+".") {
			return true
		}
	}
	return false
}

func sectionExample(k string, leaves []leaf) string {
	for _, lf := range leaves {
		if strings.HasPrefix(lf.key, k+".") {
			return lf.key
		}
	}
	return k + ".*"
}

func lookupEnv(environ []string, name string) string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// cleanDecodeError strips mapstructure's preamble, keeping the lines that
// name the key, and adds the value that failed to decode.
func cleanDecodeError(err error, v *viper.Viper) string {
	msg := strings.TrimPrefix(err.Error(), "decoding failed due to the following error(s):")
	var lines []string
	for _, ln := range strings.Split(msg, "\n") {
		ln = strings.TrimSpace(ln)
		if ln == "" {
			continue
		}
		if strings.HasPrefix(ln, "'") {
			if key, rest, ok := strings.Cut(ln[1:], "'"); ok {
				ln = fmt.Sprintf("%s: %s (got %q)", key, strings.TrimSpace(rest), fmt.Sprint(v.Get(key)))
			}
		}
		lines = append(lines, ln)
	}
	return strings.Join(lines, "; ")
}

// suggest returns ` (did you mean "x"?)` for the closest known name.
func suggest(name string, known []string) string {
	best, bestD := "", 4
	for _, k := range known {
		if d := editDistance(strings.ToLower(name), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// leaf is one setting: its dotted key, value and whether it is a secret.
type leaf struct {
	key    string
	value  reflect.Value
	secret bool
}

// flatten lists the leaves of a config struct in declaration order.
func flatten(cfg any) []leaf {
	var out []leaf
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("mapstructure")
			if tag == "" || tag == "-" {
				continue
			}
			fv := v.Field(i)
			if tag == ",squash" { // an embedded section whose keys sit at this level
				walk(prefix, fv)
				continue
			}
			key := prefix + tag
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)) {
				walk(key+".", fv)
				continue
			}
			out = append(out, leaf{key: key, value: fv, secret: f.Tag.Get("secret") == "true"})
		}
	}
	walk("", reflect.ValueOf(cfg))
	return out
}

// printYAML writes cfg as YAML in declaration order, secrets masked.
func printYAML(cfg Config) ([]byte, error) {
	root := &yaml.Node{Kind: yaml.MappingNode}
	for _, lf := range flatten(cfg) {
		parts := strings.Split(lf.key, ".")
		node := root
		for _, p := range parts[:len(parts)-1] {
			node = child(node, p)
		}
		var val any = lf.value.Interface()
		switch x := val.(type) {
		case time.Duration:
			val = x.String()
		case string:
			if lf.secret && x != "" {
				val = "********"
			}
		}
		var vn yaml.Node
		if err := vn.Encode(val); err != nil {
			return nil, err
		}
		if vn.Kind == yaml.SequenceNode {
			vn.Style = yaml.FlowStyle
		}
		node.Content = append(node.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: parts[len(parts)-1]}, &vn)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}

func child(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	n := &yaml.Node{Kind: yaml.MappingNode}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, n)
	return n
}

// analyticsConfig is the analytics section with chDB's directory defaulted
// under data_dir.
func (c Config) analyticsConfig() analytics.Config {
	a := c.Analytics
	if a.Backend == analytics.BackendChDB && a.ChDB.Path == "" {
		a.ChDB.Path = filepath.Join(c.DataDir, "chdb")
	}
	return a
}

// keyFile is the worker's key file.
func (c Config) keyFile() string {
	if c.Worker.KeyFile != "" {
		return c.Worker.KeyFile
	}
	return filepath.Join(c.DataDir, "worker.key")
}

// brokerDataDir is where the embedded broker persists its log.
func (c Config) brokerDataDir() string {
	if c.Broker.DataDir != "" {
		return c.Broker.DataDir
	}
	return filepath.Join(c.DataDir, "kafka")
}
