package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fairstream/fairstream/internal/testenv"
)

// These tests drive the built binary the way a user does: `fairstream dev`,
// then produce, tail, kcat, SIGKILL and restart.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fairstream-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "fairstream")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building fairstream:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cleanEnv is the environment without FAIRSTREAM_ settings of the caller.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FAIRSTREAM_") || strings.HasPrefix(kv, "FAIRSTREAM_CACHE=") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs the binary to completion with a deadline.
func run(t *testing.T, stdin string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("fairstream %v: %v", args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("fairstream %v did not finish in time; stderr:\n%s", args, errb.String())
	}
	return result{out.String(), errb.String(), code}
}

// dev is a running `fairstream dev`.
type dev struct {
	cmd       *exec.Cmd
	broker    string
	metrics   string
	analytics string
	// processors holds the "processor" lines: a stage name, its inputs
	// and outputs.
	processors []string
	// lines holds what it printed before it was ready.
	lines  []string
	stderr *bytes.Buffer
	exited chan struct{}
}

var (
	brokerLine    = regexp.MustCompile(`kafka broker\s+(127\.0\.0\.1:\d+)`)
	metricsLine   = regexp.MustCompile(`metrics\s+http://(127\.0\.0\.1:\d+)/metrics`)
	analyticsLine = regexp.MustCompile(`analytics\s+(.*)`)
	processorLine = regexp.MustCompile(`^\s*processor\s+(.*)$`)
)

// devStages are the runners `fairstream dev` starts with the default
// dev.processors: the structure processor runs one stage per raw type.
var devStages = []string{
	"structure-web       [raw.web.v1] -> [docs.structured.v1]",
	"structure-twitter   [raw.twitter.v1] -> [docs.structured.v1]",
	"structure-discord   [raw.discord.v1] -> [docs.structured.v1]",
	"structure-telegram  [raw.telegram.v1] -> [docs.structured.v1]",
	"structure-podcast   [raw.podcast.v1] -> [docs.structured.v1]",
	"annotate            [docs.structured.v1] -> [docs.annotated.v1]",
	"trends              [docs.structured.v1] -> [trends.twitter.v1]",
	"embed               [docs.annotated.v1] -> [docs.embedded.v1]",
	"validator           [raw.twitter.v1 raw.web.v1 raw.discord.v1 raw.telegram.v1 raw.podcast.v1 jobs.v1 jobs.status.v1 scores.verifications.v1 scores.ticks.v1] -> [scores.windows.v1",
}

// haveModel reports whether the embed stage's model is fetched (make
// models); make test requires it.
func haveModel(t *testing.T) bool {
	t.Helper()
	dir := filepath.Join(os.Getenv("FAIRSTREAM_CACHE"), "models", "all-MiniLM-L6-v2")
	if os.Getenv("FAIRSTREAM_CACHE") == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "fairstream", "models", "all-MiniLM-L6-v2")
	}
	if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err == nil {
		return true
	}
	if testenv.Required("minilm") {
		t.Fatalf("the embedding model is required (FAIRSTREAM_TEST_REQUIRE) but %s has none; run make models", dir)
	}
	return false
}

func startDev(t *testing.T, dataDir string, args ...string) *dev {
	t.Helper()
	return startDevEnv(t, cleanEnv(), dataDir, args...)
}

// startDevEnv starts `fairstream dev` with env and waits for it to print
// its addresses and processors.
func startDevEnv(t *testing.T, env []string, dataDir string, args ...string) *dev {
	t.Helper()
	args = append([]string{"dev", "--data-dir", dataDir, "--broker-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--log-level", "info", "--log-format", "text"}, args...)
	cmd := exec.Command(binary, args...)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d := &dev{cmd: cmd, stderr: new(bytes.Buffer), exited: make(chan struct{})}
	cmd.Stderr = d.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(d.exited) }()
	t.Cleanup(func() { d.kill() })
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(60 * time.Second)
	for d.broker == "" || d.metrics == "" || d.analytics == "" || len(d.processors) < len(devStages) {
		select {
		case ln, ok := <-lines:
			if !ok {
				t.Fatalf("fairstream dev exited before it was ready; stderr:\n%s", d.stderr.String())
			}
			d.lines = append(d.lines, ln)
			if m := brokerLine.FindStringSubmatch(ln); m != nil {
				d.broker = m[1]
			}
			if m := metricsLine.FindStringSubmatch(ln); m != nil {
				d.metrics = m[1]
			}
			if m := analyticsLine.FindStringSubmatch(ln); m != nil {
				d.analytics = m[1]
			}
			if m := processorLine.FindStringSubmatch(ln); m != nil {
				d.processors = append(d.processors, strings.Join(strings.Fields(m[1]), " "))
			}
		case <-deadline:
			t.Fatalf("fairstream dev did not print its addresses; stderr:\n%s", d.stderr.String())
		}
	}
	go func() {
		for range lines {
		}
	}()
	return d
}

func (d *dev) kill() {
	if d.cmd.Process != nil {
		_ = d.cmd.Process.Signal(syscall.SIGKILL)
		<-d.exited
	}
}

func (d *dev) env(extra ...string) []string {
	return cleanEnv(append([]string{"FAIRSTREAM_KAFKA_BROKERS=" + d.broker, "FAIRSTREAM_LOG_LEVEL=warn"}, extra...)...)
}

func requireKcat(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("kcat")
	if err != nil {
		if testenv.Required("kcat") {
			t.Fatal("kcat is required (FAIRSTREAM_TEST_REQUIRE) but not installed; run deploy/local/ensure-tools")
		}
		t.Skip("kcat is not installed; `make test` installs it (deploy/local/ensure-tools)")
	}
	return path
}

const articleHTML = `<!doctype html><html lang="en"><head><title>Solar storms and the grid</title>
<meta name="author" content="Ada Lovelace"></head><body>
<nav><a href="/">Home</a> <a href="/about">About</a></nav>
<article><h1>Solar storms and the grid</h1>
<p>Geomagnetic storms induce currents in long transmission lines. Operators watch space weather forecasts
closely, because a strong storm can overheat transformers and trip protective relays across a region.</p>
<p>In 1989 a storm left six million people in Quebec without power for nine hours. Since then utilities have
added monitoring and procedures to reduce load when a storm arrives, and read the <a href="https://www.swpc.noaa.gov/">NOAA forecasts</a>.</p>
</article><footer>Copyright the example site</footer></body></html>`

func pageLine(url string) string {
	b, _ := json.Marshal(map[string]any{
		"url": url, "final_url": url, "status_code": 200, "content_type": "text/html; charset=utf-8",
		"body": base64.StdEncoding.EncodeToString([]byte(articleHTML)),
	})
	return string(b)
}

func TestDevEndToEnd(t *testing.T) {
	kcat := requireKcat(t)
	dataDir := t.TempDir()
	d := startDev(t, dataDir)

	// One line per runner: the structure processor runs a stage per raw type.
	model := haveModel(t)
	for _, want := range devStages {
		want = strings.Join(strings.Fields(want), " ")
		if !model && strings.HasPrefix(want, "embed ") {
			want = "embed disabled: embedding model:" // without the model, dev runs without embed and says why
		}
		if !slices.ContainsFunc(d.processors, func(l string) bool { return strings.HasPrefix(l, want) }) {
			t.Errorf("processor lines %q, want one starting %q", d.processors, want)
		}
	}

	// With chDB installed, the dev stack runs analytics in-process and
	// applies its migrations; without it, it says how to get it.
	if os.Getenv("CHDB_LIB_PATH") != "" || testenv.Required("chdb") {
		if !strings.HasPrefix(d.analytics, "chdb") || !strings.Contains(d.analytics, "migrations applied") {
			t.Errorf("analytics line %q: want chDB with its migrations applied", d.analytics)
		}
	} else if !strings.Contains(d.analytics, "disabled: libchdb.so not found") {
		t.Errorf("analytics line %q: want it disabled, saying why", d.analytics)
	}

	// The sink takes only windows signed by a validator it trusts: one
	// produced by hand (unsigned) is dead-lettered with the reason, and
	// `fairstream sql` queries dev's in-process engine over loopback.
	// TestDevRunsConnectors follows real windows from the validator.
	if strings.HasPrefix(d.analytics, "chdb") {
		win := `{"worker":"0xA11CE00000000000000000000000000000000000","window_start":"2026-11-25T10:00:00Z","window_end":"2026-11-25T10:10:00Z","records":"3","unique_records":"3","credibility":1,"utility":2.5,"validator":"v","scoring_version":"validator/v1"}`
		if r := run(t, win+"\n", d.env(), "produce", "scores.windows.v1"); r.code != 0 {
			t.Fatalf("produce scores.windows.v1: exit %d\n%s", r.code, r.stderr)
		}
		var got string
		waitFor(t, "the unsigned window in scores.windows.v1.dlq", func() bool {
			r := run(t, "", d.env(), "tail", "scores.windows.v1.dlq", "--follow=false", "--idle", "1s")
			got = r.stdout + r.stderr
			return strings.Contains(r.stdout, "bad signature")
		}, func() string { return got })
		r := run(t, "", d.env("FAIRSTREAM_METRICS_LISTEN="+d.metrics), "sql", "--data-dir", dataDir,
			"SELECT count() AS n FROM worker_utility FINAL WHERE worker = '0xA11CE00000000000000000000000000000000000'", "--format", "csv")
		if r.code != 0 || strings.Join(strings.Fields(r.stdout), " ") != "n 0" {
			t.Fatalf("the unsigned window reached worker_utility: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		r = run(t, "", d.env("FAIRSTREAM_METRICS_LISTEN="+d.metrics), "sql", "--data-dir", dataDir, "SELECT nosuchcolumn FROM worker_utility")
		if r.code == 0 || !strings.Contains(r.stderr, "nosuchcolumn") {
			t.Fatalf("sql with a bad column: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
	}

	// Any Kafka client can use the embedded broker: kcat lists the catalog.
	out, err := exec.Command(kcat, "-b", d.broker, "-L").CombinedOutput()
	if err != nil {
		t.Fatalf("kcat -L: %v\n%s", err, out)
	}
	for _, topic := range []string{"raw.twitter.v1", "raw.web.v1", "raw.web.v1.dlq", "raw.discord.v1", "raw.telegram.v1", "raw.podcast.v1", "docs.structured.v1", "docs.structured.v1.dlq"} {
		if !strings.Contains(string(out), `topic "`+topic+`"`) {
			t.Errorf("kcat -L does not list %s:\n%s", topic, out)
		}
	}

	// produce: good lines are sent, bad ones reported by line number.
	input := pageLine("https://example.org/solar") + "\n" + `{"url": 5}` + "\n" + `{"urll": "x"}` + "\n"
	r := run(t, input, d.env(), "produce", "raw.web.v1", "--worker", "0xworker")
	if r.code != 1 || !strings.Contains(r.stderr, "line 2:") || !strings.Contains(r.stderr, "line 3:") ||
		!strings.Contains(r.stderr, "produced 1 events to raw.web.v1; 2 bad lines") {
		t.Fatalf("produce with bad lines: exit %d, stderr:\n%s", r.code, r.stderr)
	}

	// The structure stage turns it into a document.
	r = run(t, "", d.env(), "tail", "docs.structured.v1", "--from", "earliest", "--json", "--limit", "1")
	if r.code != 0 {
		t.Fatalf("tail: exit %d\n%s", r.code, r.stderr)
	}
	var doc struct {
		Type        string `json:"type"`
		CausationID string `json:"causation_id"`
		Payload     struct {
			Title    string   `json:"title"`
			Text     string   `json:"text"`
			Language string   `json:"language"`
			Authors  []string `json:"authors"`
			Links    []struct {
				URL string `json:"url"`
			} `json:"links"`
			Lineage struct {
				EventID   string `json:"event_id"`
				EventType string `json:"event_type"`
				Worker    string `json:"worker"`
				Stage     string `json:"stage"`
			} `json:"lineage"`
		} `json:"payload"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("tail --json printed %q: %v", r.stdout, err)
	}
	p := doc.Payload
	if doc.Type != "doc.structured/v1" || p.Title != "Solar storms and the grid" || p.Language != "en" ||
		!strings.Contains(p.Text, "six million people in Quebec") || strings.Contains(p.Text, "Copyright the example site") ||
		p.Lineage.EventType != "raw.web/v1" || p.Lineage.Worker != "0xworker" || p.Lineage.Stage != "structure" ||
		p.Lineage.EventID == "" || doc.CausationID != p.Lineage.EventID {
		t.Fatalf("structured document is wrong: %+v", doc)
	}
	// annotate picked the document up: Quebec and NOAA are entities.
	r = run(t, "", d.env(), "tail", "docs.annotated.v1", "--from", "earliest", "--json", "--limit", "1")
	var ann struct {
		Type    string `json:"type"`
		Payload struct {
			Document struct {
				ID string `json:"id"`
			} `json:"document"`
			Annotations struct {
				Language  string `json:"language"`
				Annotator string `json:"annotator"`
				Entities  []struct {
					Type string `json:"type"`
					Text string `json:"text"`
				} `json:"entities"`
				Keywords []struct {
					Text string `json:"text"`
				} `json:"keywords"`
			} `json:"annotations"`
		} `json:"payload"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &ann) != nil || ann.Type != "doc.annotated/v1" ||
		ann.Payload.Annotations.Language != "en" || ann.Payload.Annotations.Annotator != "lexicon" || len(ann.Payload.Annotations.Keywords) == 0 ||
		!slices.ContainsFunc(ann.Payload.Annotations.Entities, func(e struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}) bool {
			return e.Type == "place" && e.Text == "Quebec"
		}) {
		t.Fatalf("tail docs.annotated.v1: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	// embed wrote the page's chunks; search finds the passage and
	// docs.embedded.v1 records where it went.
	if model {
		var hit struct {
			Score      float64 `json:"score"`
			Text       string  `json:"text"`
			DocumentID string  `json:"document_id"`
			Source     string  `json:"source"`
			Worker     string  `json:"worker"`
		}
		waitFor(t, "search to find the page", func() bool {
			r := run(t, "", d.env(), "search", "--data-dir", dataDir, "what can a geomagnetic storm do to power grids?", "--k", "1", "--json")
			return r.code == 0 && json.Unmarshal([]byte(r.stdout), &hit) == nil && hit.DocumentID == ann.Payload.Document.ID
		})
		if hit.Source != "web" || hit.Worker != "0xworker" || !strings.Contains(hit.Text, "storm") || hit.Score < 0.3 {
			t.Fatalf("search hit: %+v", hit)
		}
		r = run(t, "", d.env(), "tail", "docs.embedded.v1", "--from", "earliest", "--json", "--limit", "1")
		if r.code != 0 || !strings.Contains(r.stdout, `"model":"all-MiniLM-L6-v2"`) || !strings.Contains(r.stdout, `"store":"embedded"`) ||
			!strings.Contains(r.stdout, ann.Payload.Document.ID) {
			t.Fatalf("tail docs.embedded.v1: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		r = run(t, "", d.env(), "search", "--data-dir", dataDir, "solar", "--filter", "source=podcast", "--json")
		if r.code != 0 || strings.TrimSpace(r.stdout) != "" {
			t.Fatalf("search with a filter nothing passes: exit %d, %q", r.code, r.stdout)
		}
	}
	found := false
	for _, l := range p.Links {
		found = found || l.URL == "https://www.swpc.noaa.gov/"
	}
	if !found {
		t.Errorf("links %v lack the article's link", p.Links)
	}

	// A malformed record written by kcat goes to the DLQ with its reason.
	kp := exec.Command(kcat, "-P", "-b", d.broker, "-t", "raw.web.v1", "-k", "bad-key")
	kp.Stdin = strings.NewReader("this is not an envelope\n")
	if out, err := kp.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}
	r = run(t, "", d.env(), "tail", "raw.web.v1.dlq", "--limit", "1")
	if r.code != 0 || !strings.Contains(r.stdout, "stage=structure-web class=decode") || !strings.Contains(r.stdout, "reason: invalid envelope") ||
		!strings.Contains(r.stdout, `"this is not an envelope"`) {
		t.Fatalf("tail raw.web.v1.dlq: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}

	// Metrics are served.
	mr := run(t, "", nil, "version")
	if !strings.Contains(mr.stdout, "fairstream") {
		t.Errorf("version: %q", mr.stdout)
	}
	resp := httpGet(t, "http://"+d.metrics+"/metrics")
	for _, m := range []string{`fairstream_stage_records_total{outcome="processed",stage="structure-web",topic="raw.web.v1"} 1`,
		`fairstream_stage_records_total{outcome="dlq",stage="structure-web",topic="raw.web.v1"} 1`, "fairstream_kafka_"} {
		if !strings.Contains(resp, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}

	// SIGKILL, restart on the same data directory: every committed record
	// is still there, and the stage resumes without processing twice.
	d.kill()
	d = startDev(t, dataDir)
	if r := run(t, pageLine("https://example.org/second")+"\n", d.env(), "produce", "raw.web.v1"); r.code != 0 {
		t.Fatalf("produce after restart: exit %d\n%s", r.code, r.stderr)
	}
	r = run(t, "", d.env(), "tail", "docs.structured.v1", "--json", "--limit", "2")
	if r.code != 0 || strings.Count(r.stdout, "\n") != 2 || !strings.Contains(r.stdout, "https://example.org/solar") || !strings.Contains(r.stdout, "https://example.org/second") {
		t.Fatalf("after SIGKILL and restart, docs.structured.v1 holds:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	r = run(t, "", d.env(), "tail", "docs.structured.v1", "--json", "--follow=false", "--idle", "3s")
	if n := strings.Count(r.stdout, "\n"); n != 2 {
		t.Fatalf("docs.structured.v1 holds %d documents after the restart, want 2 (no reprocessing):\n%s", n, r.stdout)
	}
	r = run(t, "", d.env(), "tail", "raw.web.v1", "--json", "--follow=false", "--idle", "2s")
	if r.code != 0 || !strings.Contains(r.stdout, "https://example.org/solar") || !strings.Contains(r.stdout, "not a protobuf envelope") {
		t.Fatalf("raw.web.v1 after restart:\n%s", r.stdout)
	}

	// SIGTERM: the stage finishes or aborts its batch, leaves its group, the
	// broker persists, and the process exits 0.
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("fairstream dev did not stop on SIGTERM; stderr:\n%s", d.stderr.String())
	}
	if code := d.cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains(d.stderr.String(), "left the group") {
		t.Fatalf("after SIGTERM: exit %d; stderr:\n%s", code, d.stderr.String())
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

func TestCLIErrors(t *testing.T) {
	env := cleanEnv("FAIRSTREAM_KAFKA_CONNECT_TIMEOUT=2s")
	cases := []struct {
		name  string
		env   []string
		args  []string
		code  int
		wants []string
	}{
		{"unknown topic", env, []string{"produce", "raw.nope.v1"}, 2, []string{`unknown topic "raw.nope.v1"`, "raw.web.v1"}},
		{"unknown processor", env, []string{"processor", "run", "nope"}, 2, []string{`unknown processor "nope"`, "structure"}},
		{"bad position", env, []string{"tail", "raw.web.v1", "--from", "yesterday"}, 2, []string{"--from", "earliest, latest or an RFC 3339 time"}},
		{"unknown flag", env, []string{"tail", "raw.web.v1", "--form", "earliest"}, 2, []string{"unknown flag: --form"}},
		{"unknown env setting", cleanEnv("FAIRSTREAM_KAFKA_BROKER=x:1"), []string{"topics", "list"}, 2,
			[]string{"FAIRSTREAM_KAFKA_BROKER is not a setting", `did you mean "FAIRSTREAM_KAFKA_BROKERS"`}},
		{"invalid env value", cleanEnv("FAIRSTREAM_KAFKA_PRODUCER_LINGER=5 parsecs"), []string{"topics", "list"}, 2, []string{"kafka.producer.linger"}},
		{"invalid value", cleanEnv("FAIRSTREAM_KAFKA_PRODUCER_COMPRESSION=zsdt"), []string{"topics", "list"}, 2, []string{"kafka.producer.compression", `unknown codec "zsdt"`}},
		{"unreachable broker", cleanEnv("FAIRSTREAM_KAFKA_CONNECT_TIMEOUT=2s", "FAIRSTREAM_KAFKA_BROKERS=127.0.0.1:1"), []string{"topics", "list"}, 1,
			[]string{"kafka unreachable, retrying", "kafka unreachable: no broker of [127.0.0.1:1] answered within connect_timeout 2s"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, "", tc.env, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", r.code, tc.code, r.stderr)
			}
			for _, w := range tc.wants {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
		})
	}

	t.Run("unknown key in the config file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "fairstream.yaml")
		if err := os.WriteFile(file, []byte("kafka:\n  brokerz: [x:1]\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := run(t, "", cleanEnv(), "--config", file, "config", "print")
		if r.code != 2 || !strings.Contains(r.stderr, `unknown key "kafka.brokerz"`) || !strings.Contains(r.stderr, `did you mean "kafka.brokers"`) {
			t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
	})

	t.Run("port in use", func(t *testing.T) {
		d := startDev(t, t.TempDir())
		r := run(t, "", cleanEnv(), "dev", "--data-dir", t.TempDir(), "--broker-listen", d.broker, "--metrics-listen", "")
		if r.code != 1 || !strings.Contains(r.stderr, "broker.listen "+d.broker) || !strings.Contains(r.stderr, "port already in use") {
			t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
		r = run(t, "", cleanEnv(), "dev", "--data-dir", t.TempDir(), "--broker-listen", "127.0.0.1:0", "--metrics-listen", d.metrics)
		if r.code != 1 || !strings.Contains(r.stderr, "metrics.listen "+d.metrics+": port already in use") {
			t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
	})

	t.Run("config print masks secrets and shows precedence", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "fairstream.yaml")
		if err := os.WriteFile(file, []byte("kafka:\n  client_id: from-file\n  connect_timeout: 7s\n  sasl:\n    mechanism: PLAIN\n    username: u\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := run(t, "", cleanEnv("FAIRSTREAM_KAFKA_SASL_PASSWORD=hunter2", "FAIRSTREAM_KAFKA_CONNECT_TIMEOUT=9s"),
			"--config", file, "--brokers", "a:1,b:2", "config", "print")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		for _, w := range []string{"client_id: from-file", "connect_timeout: 9s", "brokers: ['a:1', 'b:2']", "password: '********'"} {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("config print lacks %q:\n%s", w, r.stdout)
			}
		}
		if strings.Contains(r.stdout, "hunter2") {
			t.Errorf("config print shows the secret:\n%s", r.stdout)
		}
	})
}
