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
func fixture(t testing.TB) http.Handler {
	raw, err := os.ReadFile("testdata/updates.json")
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
