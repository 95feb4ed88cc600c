package streams_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fairstream/fairstream/streams"
)

// Clients of one role alive at once share a Metrics: each gets its own
// client ID, so their kprom series do not clash, and an ID is reused once
// its client closes.
func TestMetricsClientsOfOneRole(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := streams.NewMetrics(reg)
	cfg := streams.DefaultConfig()
	cfg.Brokers = []string{"127.0.0.1:1"} // never dialled: nothing is produced
	var ps []*streams.Producer
	for range 3 {
		p, err := streams.NewProducer(cfg, "same-role", streams.WithMetrics(m))
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	ids := map[string]bool{}
	for _, p := range ps {
		ids[p.Client().OptValue("ClientID").(string)] = true
	}
	if len(ids) != 3 || !ids["fairstream-same-role"] || !ids["fairstream-same-role-2"] || !ids["fairstream-same-role-3"] {
		t.Fatalf("client IDs %v, want fairstream-same-role, -2 and -3", ids)
	}
	if !gathered(t, reg, `client_id="fairstream-same-role-3"`) {
		t.Error("the third client's kprom metrics are not registered")
	}
	ps[0].Close()
	if gathered(t, reg, `client_id="fairstream-same-role"`) {
		t.Error("a closed client's kprom metrics are still registered")
	}
	p, err := streams.NewProducer(cfg, "same-role", streams.WithMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if id := p.Client().OptValue("ClientID").(string); id != "fairstream-same-role" {
		t.Errorf("a new client after a close got %q, want the freed fairstream-same-role", id)
	}
	for _, p := range ps[1:] {
		p.Close()
	}
}

// gathered reports whether any registered series carries the label pair.
func gathered(t *testing.T, reg *prometheus.Registry, pair string) bool {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			for _, l := range mt.GetLabel() {
				if pair == l.GetName()+`="`+l.GetValue()+`"` {
					return true
				}
			}
		}
	}
	return false
}
