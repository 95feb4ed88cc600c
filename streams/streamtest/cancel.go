package streamtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
	"github.com/fairstream/fairstream/streams"
)

// cancelLimit is the most a blocking call may take to return once its
// context is cancelled.
const cancelLimit = time.Second

// unblocks starts block, waits until ready is closed (the call is blocked),
// cancels its context and checks that it returns within cancelLimit.
func unblocks(t *testing.T, name string, ready <-chan struct{}, block func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- block(ctx) }()
	select {
	case <-ready:
	case err := <-errc:
		t.Fatalf("%s returned before it was cancelled: %v", name, err)
	case <-time.After(waitFor):
		t.Fatalf("%s never reached its blocking point", name)
	}
	cancel()
	at := time.Now()
	select {
	case err := <-errc:
		t.Logf("%s returned %v after %s", name, err, time.Since(at).Round(time.Millisecond))
	case <-time.After(cancelLimit):
		t.Errorf("%s still blocked %s after its context was cancelled", name, cancelLimit)
		<-errc
	}
}

// after returns a channel closed d from now: for calls that give no signal
// when they block, a moment to get there.
func after(d time.Duration) <-chan struct{} {
	c := make(chan struct{})
	time.AfterFunc(d, func() { close(c) })
	return c
}

func testContextCancellation(t *testing.T, cfg streams.Config) {
	f := newFixture(t, cfg, 1)
	dead := cfg
	dead.Brokers = []string{"127.0.0.1:1"} // nothing listens there
	dead.ConnectTimeout = time.Hour

	t.Run("Runner/polling", func(t *testing.T) {
		f.produce(0, 1)
		r := f.runner(runnerConfig(true), newStage(nil))
		ready := make(chan struct{})
		go func() { f.read(f.out, 1, false); close(ready) }()
		unblocks(t, "Runner.Run while polling", ready, r.Run)
	})
	t.Run("Runner/in-stage", func(t *testing.T) {
		f.produce(1, 1)
		ready := make(chan struct{})
		s := newStage(func(ctx context.Context, _ int, pg *fairstreampb.RawWebPage) error {
			if pg.GetUrl() == page(1).Url {
				close(ready)
				<-ctx.Done()
				return ctx.Err()
			}
			return nil
		})
		rc := runnerConfig(true)
		unblocks(t, "Runner.Run inside a stage call", ready, f.runner(rc, s).Run)
	})
	t.Run("Runner/unreachable", func(t *testing.T) {
		g := *f
		g.cfg = dead
		unblocks(t, "Runner.Run waiting for an unreachable broker", after(200*time.Millisecond), g.runner(runnerConfig(true), newStage(nil)).Run)
	})
	t.Run("Consumer.Poll", func(t *testing.T) {
		c, err := streams.NewConsumer(cfg, "streamtest", streams.ConsumerOptions{Topics: []string{f.out}, From: streams.Latest}, streams.WithCatalog(f.catalog))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		unblocks(t, "Consumer.Poll", after(200*time.Millisecond), func(ctx context.Context) error {
			_, err := c.Poll(ctx)
			return err
		})
	})
	t.Run("Producer.Produce", func(t *testing.T) {
		p, err := streams.NewProducer(dead, "streamtest", streams.WithCatalog(f.catalog))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		env, err := schemas.Builtin().Wrap(page(0), schemas.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		unblocks(t, "Producer.Produce to an unreachable broker", after(200*time.Millisecond), func(ctx context.Context) error {
			err := p.Produce(ctx, f.in, env)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Produce: got %v, want context.Canceled", err)
			}
			return err
		})
	})
	t.Run("WaitReady", func(t *testing.T) {
		cl, err := streams.NewClient(dead, "streamtest")
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		unblocks(t, "WaitReady on an unreachable broker", after(200*time.Millisecond), func(ctx context.Context) error {
			return streams.WaitReady(ctx, cl, dead, nil)
		})
	})
}
