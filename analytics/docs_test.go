package analytics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fairstream/fairstream/analytics"
	"github.com/fairstream/fairstream/analytics/analyticstest"
)

// documentedQueries returns the ```sql blocks of docs/analytics.md.
func documentedQueries(t *testing.T) []string {
	t.Helper()
	md, err := os.ReadFile("../docs/analytics.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile("(?s)```sql\n(.*?)```").FindAllStringSubmatch(string(md), -1) {
		out = append(out, strings.TrimSpace(m[1]))
	}
	if len(out) < 5 {
		t.Fatalf("docs/analytics.md has %d sql blocks, want the leaderboard, utility over time, duplicate and verification rates", len(out))
	}
	return out
}

func normSQL(s string) string { return strings.Join(strings.Fields(s), " ") }

// loadAnalytics migrates b and fills worker_utility (with superseded
// revisions) and contributions with the same deterministic rows.
func loadAnalytics(ctx context.Context, t *testing.T, b analytics.Backend) {
	t.Helper()
	if _, err := analytics.Migrate(ctx, b, analytics.Migrations()); err != nil {
		t.Fatal(err)
	}
	var windows [][]any
	for w := range 4 {
		for i := range 30 { // five hours of ten-minute windows
			for rev := 1; rev <= 1+i%2; rev++ {
				row, err := analytics.WindowRow(nil, window(w, i, rev))
				if err != nil {
					t.Fatal(err)
				}
				windows = append(windows, row)
			}
		}
	}
	if err := b.Insert(ctx, analytics.WorkerUtilityTable, analytics.WorkerUtilityColumns, windows); err != nil {
		t.Fatal(err)
	}
	sources := []string{"twitter", "web", "discord"}
	dups := []analytics.Duplicate{analytics.NotDuplicate, analytics.NotDuplicate, analytics.ExactDuplicate, analytics.NearDuplicate, analytics.NotDuplicate}
	vers := []analytics.Verification{analytics.Unsampled, analytics.Verified, analytics.Mismatched, analytics.Unsampled, analytics.Unverifiable, analytics.Verified, analytics.Unsampled}
	var contribs [][]any
	for i := range 200 {
		at := windowBase.Add(time.Duration(i) * 37 * time.Second)
		c := analytics.Contribution{
			EventID: fmt.Sprintf("01J%023d", i), Worker: fmt.Sprintf("0x%040x", 0xa0+i%4), Source: sources[i%3],
			EventType: "raw." + sources[i%3] + "/v1", EventTime: at, Ingested: at.Add(3 * time.Second),
			Bytes: uint64(100 + i), ContentHash: []byte{byte(i), 1, 2, 3}, Valid: i%11 != 0,
			Unique: dups[(i/3)%5] == analytics.NotDuplicate, Duplicate: dups[(i/3)%5], Verification: vers[(i/2)%7],
			WindowStart: at.Truncate(10 * time.Minute), Revision: uint32(i % 2),
		}
		if !c.Valid {
			c.InvalidReason = "bad signature"
		}
		row, err := c.Row()
		if err != nil {
			t.Fatal(err)
		}
		contribs = append(contribs, row)
	}
	if err := b.Insert(ctx, analytics.ContributionsTable, analytics.ContributionColumns, contribs); err != nil {
		t.Fatal(err)
	}
}

// TestDocumentedQueries runs every query of docs/analytics.md on the
// ClickHouse 18.16 server and on chDB over the same rows: each must run,
// return rows, and give the same columns (types included) and values on
// both.
func TestDocumentedQueries(t *testing.T) {
	queries := documentedQueries(t)
	server, embedded := openServer(t), openChDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	loadAnalytics(ctx, t, server)
	loadAnalytics(ctx, t, embedded)
	for i, q := range queries {
		t.Run(fmt.Sprintf("query%d", i+1), func(t *testing.T) {
			a, err := server.Query(ctx, q)
			if err != nil {
				t.Fatalf("clickhouse: %v\n%s", err, q)
			}
			b, err := embedded.Query(ctx, q)
			if err != nil {
				t.Fatalf("chdb: %v\n%s", err, q)
			}
			if len(a.Rows) == 0 {
				t.Errorf("no rows:\n%s", q)
			}
			if fmt.Sprint(a.Columns) != fmt.Sprint(b.Columns) {
				t.Errorf("columns: clickhouse %v, chdb %v", a.Columns, b.Columns)
			}
			if d := analyticstest.DiffRows(b.Rows, a.Rows); d != "" {
				t.Errorf("chdb's rows differ from clickhouse's:\n%s", d)
			}
		})
	}
	// The leaderboard reads the latest revisions: worker 3 leads, its
	// total being the sum of its windows' latest utilities.
	res, err := embedded.Query(ctx, queries[1])
	if err != nil {
		t.Fatal(err)
	}
	var want float64
	for i := range 30 {
		want += window(3, i, 1+i%2).GetUtility()
	}
	if len(res.Rows) != 4 || res.Rows[0][0] != fmt.Sprintf("0x%040x", 0xa3) || res.Rows[0][1] != want {
		t.Errorf("leaderboard: %v, want 4 workers led by 0x…a3 with %v", res.Rows, want)
	}
}

// TestGrafanaDashboard: deploy/grafana/fairstream.json is valid JSON for
// the ClickHouse plugin, and every panel's SQL is a documented query.
func TestGrafanaDashboard(t *testing.T) {
	raw, err := os.ReadFile("../deploy/grafana/fairstream.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string
		Panels []struct {
			Title      string
			Datasource struct{ Type string }
			Targets    []struct {
				Datasource struct{ Type string }
				RawSQL     string `json:"rawSql"`
			}
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("fairstream.json: %v", err)
	}
	documented := map[string]bool{}
	for _, q := range documentedQueries(t) {
		documented[normSQL(q)] = true
	}
	if len(dash.Panels) < 4 {
		t.Fatalf("%d panels, want one per ready-made query", len(dash.Panels))
	}
	used := map[string]bool{}
	for _, p := range dash.Panels {
		if p.Datasource.Type != "grafana-clickhouse-datasource" || len(p.Targets) == 0 {
			t.Errorf("panel %q: data source %q, %d targets", p.Title, p.Datasource.Type, len(p.Targets))
		}
		for _, tg := range p.Targets {
			if tg.Datasource.Type != "grafana-clickhouse-datasource" {
				t.Errorf("panel %q: target data source %q", p.Title, tg.Datasource.Type)
			}
			if !documented[normSQL(tg.RawSQL)] {
				t.Errorf("panel %q: its SQL is not in docs/analytics.md:\n%s", p.Title, tg.RawSQL)
			}
			used[normSQL(tg.RawSQL)] = true
		}
	}
	for q := range documented {
		if !used[q] {
			t.Errorf("documented query without a panel:\n%s", q)
		}
	}
}
