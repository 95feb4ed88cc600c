package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// serveMetrics serves /metrics and /healthz on metrics.listen. It returns a
// stop function and the address, or "" when metrics are disabled.
func (a *app) serveMetrics(ctx context.Context) (stop func(), addr string, err error) {
	if a.cfg.Metrics.Listen == "" {
		return func() {}, "", nil
	}
	ln, err := net.Listen("tcp", a.cfg.Metrics.Listen)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, "", exitError{exitFailure, fmt.Errorf("metrics.listen %s: port already in use (set metrics.listen, --metrics-listen, or empty to disable)", a.cfg.Metrics.Listen)}
		}
		return nil, "", fmt.Errorf("metrics.listen: %w", err)
	}
	mux := http.NewServeMux()
	a.mux = mux
	mux.Handle("/metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{Registry: a.reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("metrics server stopped", "err", err)
		}
	}()
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}, ln.Addr().String(), nil
}
