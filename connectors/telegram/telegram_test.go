package telegram_test

import (
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"testing"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/connectors/connectortest"
	"github.com/fairstream/fairstream/connectors/telegram"
)

const token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"

// fixture replays testdata/updates.json the way the Bot API serves
// getUpdates: the updates at or after offset, at most limit of them.
func fixture(t testing.TB) http.Handler { return fixtureFrom(t, "testdata/updates.json") }

func fixtureFrom(t testing.TB, path string) http.Handler {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var all struct {
		OK     bool              `json:"ok"`
		Result []json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(raw, &all); err != nil {
		t.Fatal(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/bot"+token+"/getUpdates" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"ok":false,"error_code":401,"description":"Unauthorized"}`))
			return
		}
		offset, _ := strconv.ParseInt(r.URL.Query().Get("offset"), 10, 64)
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		if limit <= 0 || limit > 100 {
			limit = 100
		}
		out := []json.RawMessage{}
		for _, u := range all.Result {
			var id struct {
				UpdateID int64 `json:"update_id"`
			}
			_ = json.Unmarshal(u, &id)
			if id.UpdateID >= offset && len(out) < limit {
				out = append(out, u)
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": out})
	})
}

func newSource(t testing.TB, baseURL string, client *connectors.Client) connectors.Source {
	cfg := telegram.DefaultConfig()
	cfg.BotToken = token
	cfg.APIURL = baseURL
	cfg.Limit = 3 // several pages from the eight recorded updates
	s, err := telegram.New(cfg, client)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Harness{
		Handler: fixture,
		New:     newSource,
		Want:    8,
		Topics:  []string{telegram.Topic},
		Setting: "connectors.telegram.bot_token",
	})
}

// BenchmarkConnector replays 400 updates (the recorded eight, repeated with
// new IDs) in pages of 100, as a busy bot sees them.
func BenchmarkConnector(b *testing.B) {
	raw, err := os.ReadFile("testdata/updates.json")
	if err != nil {
		b.Fatal(err)
	}
	var rec struct {
		Result []map[string]any `json:"result"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		b.Fatal(err)
	}
	var many []map[string]any
	for i := range 50 {
		for _, u := range rec.Result {
			c := map[string]any{}
			for k, v := range u {
				c[k] = v
			}
			c["update_id"] = u["update_id"].(float64) + float64(i*len(rec.Result))
			many = append(many, c)
		}
	}
	body, _ := json.Marshal(map[string]any{"ok": true, "result": many})
	dir := b.TempDir()
	if err := os.WriteFile(dir+"/updates.json", body, 0o644); err != nil {
		b.Fatal(err)
	}
	handler := func(t testing.TB) http.Handler { return fixtureFrom(t, dir+"/updates.json") }
	newBig := func(t testing.TB, baseURL string, client *connectors.Client) connectors.Source {
		cfg := telegram.DefaultConfig()
		cfg.BotToken, cfg.APIURL = token, baseURL
		s, err := telegram.New(cfg, client)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	connectortest.Bench(b, connectortest.Harness{Handler: handler, New: newBig, Want: len(many), Topics: []string{telegram.Topic}})
}
