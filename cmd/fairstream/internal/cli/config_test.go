package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

const exampleFile = "../../../../deploy/config/fairstream.example.yaml"

// The documented example must hold every setting at its default.
func TestExampleConfigMatchesDefaults(t *testing.T) {
	got, err := loader{configFile: exampleFile}.load()
	if err != nil {
		t.Fatal(err)
	}
	// Compared as printed: an empty list in the file reads as an empty, not
	// a nil, slice.
	gotY, err := printYAML(got)
	if err != nil {
		t.Fatal(err)
	}
	wantY, _ := printYAML(DefaultConfig())
	if string(gotY) != string(wantY) {
		t.Fatalf("deploy/config/fairstream.example.yaml drifted from the defaults:\n got %s\nwant %s", gotY, wantY)
	}
	v := viper.New()
	v.SetConfigFile(exampleFile)
	if err := v.ReadInConfig(); err != nil {
		t.Fatal(err)
	}
	inFile := map[string]bool{}
	for _, k := range v.AllKeys() {
		inFile[k] = true
	}
	for _, lf := range flatten(DefaultConfig()) {
		if !inFile[lf.key] {
			t.Errorf("setting %s is not documented in the example file", lf.key)
		}
	}
}

func TestDefaultConfigIsValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f.yaml")
	if err := os.WriteFile(file, []byte("log:\n  level: warn\n  format: text\nkafka:\n  brokers: [file:1]\n  connect_timeout: 5s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.String("log-level", "info", "")
	fs.StringSlice("brokers", nil, "")
	if err := fs.Parse([]string{"--brokers", "flag:1,flag:2"}); err != nil {
		t.Fatal(err)
	}
	l := loader{
		configFile: file,
		flags:      map[string]*pflag.Flag{"log.level": fs.Lookup("log-level"), "kafka.brokers": fs.Lookup("brokers")},
		environ:    []string{"FAIRSTREAM_LOG_LEVEL=error", "FAIRSTREAM_KAFKA_BROKERS=env:1", "FAIRSTREAM_CACHE=/ignored", "PATH=/bin"},
	}
	cfg, err := l.load()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Log.Format != "text" { // file over default
		t.Errorf("log.format = %q, want text from the file", cfg.Log.Format)
	}
	if cfg.Kafka.ConnectTimeout != 5*time.Second {
		t.Errorf("kafka.connect_timeout = %s, want 5s from the file", cfg.Kafka.ConnectTimeout)
	}
	if cfg.Log.Level != "error" { // env over file; the flag was not set
		t.Errorf("log.level = %q, want error from the environment", cfg.Log.Level)
	}
	if got := strings.Join(cfg.Kafka.Brokers, ","); got != "flag:1,flag:2" { // flag over env
		t.Errorf("kafka.brokers = %s, want the flag's", got)
	}
	if cfg.Runner.MaxAttempts != DefaultConfig().Runner.MaxAttempts {
		t.Errorf("runner.max_attempts = %d, want the default", cfg.Runner.MaxAttempts)
	}
}

func TestLoadErrorsNameTheKey(t *testing.T) {
	dir := t.TempDir()
	n := 0
	write := func(body string) string {
		n++
		f := filepath.Join(dir, fmt.Sprintf("c%d.yaml", n))
		if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	for _, tc := range []struct {
		name string
		l    loader
		want []string
	}{
		{"unknown file key", loader{configFile: write("runner:\n  max_attempt: 3\n")}, []string{`unknown key "runner.max_attempt"`, `"runner.max_attempts"`}},
		{"section as scalar", loader{configFile: write("kafka: localhost\n")}, []string{`"kafka" is a section`, "kafka.brokers"}},
		{"bad duration", loader{configFile: write("runner:\n  backoff_max: soon\n")}, []string{"runner.backoff_max", `"soon"`}},
		{"bad int", loader{environ: []string{"FAIRSTREAM_RUNNER_MAX_ATTEMPTS=many"}}, []string{"runner.max_attempts"}},
		{"out of range", loader{environ: []string{"FAIRSTREAM_RUNNER_MAX_ATTEMPTS=0"}}, []string{"runner.max_attempts: must be >= 1"}},
		{"nested validate", loader{environ: []string{"FAIRSTREAM_PROCESSORS_STRUCTURE_MAX_LINKS=-1"}}, []string{"processors.structure.max_links"}},
		{"broker not loopback", loader{environ: []string{"FAIRSTREAM_BROKER_LISTEN=0.0.0.0:9092"}}, []string{"broker.listen", "loopback"}},
		{"unknown env", loader{environ: []string{"FAIRSTREAM_DATADIR=x"}}, []string{"FAIRSTREAM_DATADIR is not a setting", "FAIRSTREAM_DATA_DIR"}},
		{"missing file", loader{configFile: filepath.Join(dir, "nope.yaml")}, []string{"nope.yaml"}},
		{"dev processors", loader{environ: []string{"FAIRSTREAM_DEV_PROCESSORS=structure,nope"}}, []string{`dev.processors: unknown processor "nope"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.l.load()
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestPrintYAMLMasksSecrets(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Kafka.SASL.Password = "hunter2"
	b, err := printYAML(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "hunter2") || !strings.Contains(string(b), "password: '********'") {
		t.Fatalf("secret not masked:\n%s", b)
	}
	// The printed configuration loads back to the same values, but the secret.
	f := filepath.Join(t.TempDir(), "printed.yaml")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	back, err := loader{configFile: f}.load()
	if err != nil {
		t.Fatal(err)
	}
	back.Kafka.SASL.Password = cfg.Kafka.SASL.Password
	// Compared as printed: an empty list reads back as an empty, not a nil, slice.
	again, err := printYAML(back)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := printYAML(cfg)
	if string(again) != string(want) {
		t.Fatalf("printed config does not load back:\n got %s\nwant %s", again, want)
	}
}
