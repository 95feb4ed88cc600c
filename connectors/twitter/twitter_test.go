package twitter_test

import (
	"net/http"
	"testing"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/connectors/connectortest"
	"github.com/fairstream/fairstream/connectors/twitter"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// fixtureConfig follows what the recorded responses cover: the search
// (three pages of 4, 4 and 3 posts), two timelines (by username and by ID;
// 3+2 and 3 posts), the two accounts' profiles and the trends of two
// places (5 and 3).
func fixtureConfig(baseURL string) twitter.Config {
	cfg := twitter.DefaultConfig()
	cfg.BearerToken = token
	cfg.APIURL = baseURL
	cfg.Queries = []string{fixtureQuery}
	cfg.Users = []string{"@FairStream_Dev", adaID}
	cfg.WOEIDs = []int64{1, 23424977}
	cfg.MaxResults = 10 // the smallest page a search takes
	return cfg
}

// fixtureEvents is how many events fixtureConfig's streams yield in all:
// 11 search posts, 5+3 timeline posts, 2 profiles, 5+3 trends.
const fixtureEvents = 29

func newSource(t testing.TB, baseURL string, client *connectors.Client) connectors.Source {
	s, err := twitter.New(fixtureConfig(baseURL), client)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Harness{
		Handler: func(t testing.TB) http.Handler { return newFixture(t) },
		New:     newSource,
		Want:    fixtureEvents,
		Topics:  []string{twitter.TweetTopic, twitter.ProfileTopic, twitter.TrendTopic},
		Setting: twitter.Setting,
		Job: func(string) *fairstreampb.Job {
			return &fairstreampb.Job{Id: "job-trends-us", Connector: twitter.Name, Kind: twitter.KindTrends, Params: map[string]string{"woeid": "23424977"}}
		},
		JobWant: 3,
	})
}

// BenchmarkConnector replays the recorded search, timelines, profiles and
// trends (29 events, search pages of 10) through the worker's write path.
func BenchmarkConnector(b *testing.B) {
	connectortest.Bench(b, connectortest.Harness{
		Handler: func(t testing.TB) http.Handler { return newFixture(t) },
		New:     newSource,
		Want:    fixtureEvents,
		Topics:  []string{twitter.TweetTopic, twitter.ProfileTopic, twitter.TrendTopic},
	})
}
