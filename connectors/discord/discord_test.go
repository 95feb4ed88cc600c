package discord_test

import (
	"net/http"
	"testing"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/connectors/connectortest"
	"github.com/fairstream/fairstream/connectors/discord"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Harness{
		Handler: func(t testing.TB) http.Handler { return newFake(t) },
		New: func(t testing.TB, baseURL string, client *connectors.Client) connectors.Source {
			return newSource(t, baseURL, client)
		},
		Want:    wantA, // #fair-ai and its threads; #quiet is empty
		Topics:  []string{discord.Topic},
		Setting: discord.Setting,
		// A data request for a thread of another channel, outside the
		// configured ones.
		Job: func(string) *fairstreampb.Job {
			return &fairstreampb.Job{Id: "job-thread", Connector: discord.Name, Kind: discord.JobKind,
				Params: map[string]string{"channel_id": "1441337337446531072", "include_threads": "false"}}
		},
		JobWant: 2,
	})
}

// BenchmarkConnector replays the recorded channel and its threads through
// the worker's write path.
func BenchmarkConnector(b *testing.B) {
	connectortest.Bench(b, connectortest.Harness{
		Handler: func(t testing.TB) http.Handler { return newFake(t) },
		New: func(t testing.TB, baseURL string, client *connectors.Client) connectors.Source {
			return newSource(t, baseURL, client)
		},
		Want:   wantA,
		Topics: []string{discord.Topic},
	})
}
