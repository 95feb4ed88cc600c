package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fairstream/fairstream/analytics"
)

// sqlHandler serves `fairstream sql` from the dev stack's analytics
// engine: POST the query as the body, ?format=table|csv|json.
func sqlHandler(b analytics.Backend) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST the query", http.StatusMethodNotAllowed)
			return
		}
		q, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var out bytes.Buffer
		if err := analytics.QueryFormat(r.Context(), b, string(q), r.URL.Query().Get("format"), &out); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(out.Bytes())
	})
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

func (a *app) sqlCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "sql QUERY",
		Short: "Run a SQL query against the analytics tables",
		Long: `Run QUERY against the configured analytics backend (ClickHouse, or chDB under
data_dir/chdb) and print the result as a table, CSV or JSON lines. While
'fairstream dev' runs it holds the chDB engine (one process at a time), so
the query goes to dev over loopback (metrics.listen, /sql). Ready-made
queries are in docs/analytics.md, for example:

  fairstream sql "SELECT worker, sum(utility) FROM worker_utility FINAL GROUP BY worker"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.setup(); err != nil {
				return err
			}
			switch format {
			case analytics.FormatTable, analytics.FormatCSV, analytics.FormatJSON:
			default:
				return exitError{exitUsage, fmt.Errorf("--format %q: want table, csv or json", format)}
			}
			ctx := cmd.Context()
			acfg := a.cfg.analyticsConfig()
			// chDB is one process's: while fairstream dev runs, the engine
			// is dev's, so ask dev first (over loopback).
			var devErr error
			if acfg.Backend == analytics.BackendChDB && a.cfg.Metrics.Listen != "" && isLoopback(a.cfg.Metrics.Listen) {
				out, answered, derr := a.devSQL(ctx, args[0], format)
				switch {
				case derr == nil:
					_, err := a.stdout.Write(out)
					return err
				case answered:
					return derr
				}
				devErr = derr
			}
			b, err := analytics.Open(ctx, acfg)
			if err != nil {
				if devErr != nil && !errors.Is(err, analytics.ErrNoLibrary) {
					return fmt.Errorf("analytics: %w; and fairstream dev did not answer at %s: %v", err, a.cfg.Metrics.Listen, devErr)
				}
				return fmt.Errorf("analytics: %w", err)
			}
			defer b.Close()
			if _, err := analytics.Migrate(ctx, b, analytics.Migrations()); err != nil {
				return fmt.Errorf("analytics: %w", err)
			}
			return analytics.QueryFormat(ctx, b, args[0], format, a.stdout)
		},
	}
	cmd.Flags().StringVar(&format, "format", analytics.FormatTable, "table, csv or json")
	return cmd
}

// devSQL sends query to a running `fairstream dev`; answered says whether
// dev answered (an error then is the query's).
func (a *app) devSQL(ctx context.Context, query, format string) (out []byte, answered bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	u := "http://" + a.cfg.Metrics.Listen + "/sql?format=" + format
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(query))
	if err != nil {
		return nil, false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, false, err
	}
	if resp.StatusCode == http.StatusNotFound {
		return nil, false, fmt.Errorf("%s serves no /sql (is it fairstream dev with analytics?)", a.cfg.Metrics.Listen)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, true, fmt.Errorf("%s", strings.TrimSpace(string(body)))
	}
	return body, true, nil
}
