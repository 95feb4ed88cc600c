package streamtest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fairstream/fairstream/schemas/fairstreampb"
	"github.com/fairstream/fairstream/streams"
)

// childEnv carries a worker spec to the re-executed test binary.
const childEnv = "STREAMTEST_CRASH_WORKER"

type childSpec struct {
	Cfg        streams.Config
	In, Out    string
	Group      string
	InstanceID string
	// BlockAt is the stage call that blocks until the process is killed.
	BlockAt int
}

// runChild is the worker process of the crash test: it runs the runner
// until the parent kills it, and never returns.
func runChild(t *testing.T, raw string) {
	var spec childSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		t.Fatalf("crash worker spec: %v", err)
	}
	f := &fixture{t: t, cfg: spec.Cfg, in: spec.In, out: spec.Out, group: spec.Group}
	var err error
	f.catalog, err = streams.NewCatalog(
		streams.Topic{Name: f.in, Partitions: 1, Cleanup: streams.CleanupDelete, PayloadType: "raw.web/v1"},
		streams.Topic{Name: f.out, Partitions: 1, Cleanup: streams.CleanupDelete, PayloadType: "doc.structured/v1"},
	)
	if err != nil {
		t.Fatal(err)
	}
	rc := runnerConfig(true)
	rc.InstanceID = spec.InstanceID
	s := newStage(func(ctx context.Context, n int, _ *fairstreampb.RawWebPage) error {
		if n == spec.BlockAt {
			select {} // hold the transaction open until SIGKILL
		}
		return nil
	})
	err = f.runner(rc, s).Run(context.Background())
	t.Fatalf("crash worker: Run returned %v; it should have been killed", err)
	os.Exit(3)
}

// testExactlyOnceAcrossCrash runs the stage in a child process, kills it
// with SIGKILL while a transaction holds outputs, restarts the stage (same
// instance, so the same transactional ID fences the dead one) and expects
// each input exactly once in the read_committed output.
func testExactlyOnceAcrossCrash(t *testing.T, cfg streams.Config) {
	f := newFixture(t, cfg, 1)
	spec := childSpec{Cfg: cfg, In: f.in, Out: f.out, Group: f.group, InstanceID: "crash-" + randomID(), BlockAt: 150}
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run="+runPattern(t), "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+string(raw))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()

	// Wave 1 commits. Wave 2 is written in one batch, so the worker takes
	// it in one transaction and blocks on its 50th record: 49 outputs sit
	// in an open transaction when the worker is killed.
	f.produce(0, 100)
	f.waitCount(f.out, 100, false)
	f.produce(100, 100)
	uncommitted := f.waitCount(f.out, 149, true)
	committed := f.count(f.out, false)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(waitFor):
		t.Fatal("the worker did not die")
	}
	exited <- nil // for the deferred cleanup
	if committed >= uncommitted {
		t.Fatalf("no transaction was open at the kill (committed %d, on the log %d); worker output:\n%s", committed, uncommitted, out.String())
	}
	t.Logf("killed the worker with %d outputs committed and %d on the log", committed, uncommitted)

	rc := runnerConfig(true)
	rc.InstanceID = spec.InstanceID
	s := newStage(nil)
	stop := start(f.runner(rc, s))
	exactlyOnce(t, decodeDocs(t, f.read(f.out, 200, false)), 200)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if all := f.count(f.out, true); all < 200+uncommitted-committed {
		t.Fatalf("read_uncommitted holds %d outputs, want >= %d: the killed transaction's outputs should be on the log, aborted", all, 200+uncommitted-committed)
	}
}

// runPattern is a -test.run pattern selecting exactly t's parent test.
func runPattern(t *testing.T) string {
	parts := strings.Split(t.Name(), "/")
	parts = parts[:len(parts)-1] // the suite's own subtest is not needed: Run intercepts first
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}
