package streams_test

import (
	"context"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/fairstream/fairstream/internal/testenv"
	"github.com/fairstream/fairstream/streams"
	"github.com/fairstream/fairstream/streams/embedded"
	"github.com/fairstream/fairstream/streams/streamtest"
)

// TestConformance runs the bus conformance suite against the embedded
// broker, and against the Apache Kafka cluster FAIRSTREAM_KAFKA_BROKERS
// names when it is set (deploy/local/services up starts one).
func TestConformance(t *testing.T) {
	t.Run("kfake", func(t *testing.T) {
		b, err := embedded.Start(context.Background(), embedded.Config{Listen: "127.0.0.1:0"}, streams.DefaultCatalog(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		cfg := streams.DefaultConfig()
		cfg.Brokers = []string{b.Addr()}
		streamtest.Run(t, cfg)
	})
	t.Run("kfake-3-brokers", func(t *testing.T) {
		c, err := kfake.NewCluster(kfake.NumBrokers(3))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		cfg := streams.DefaultConfig()
		cfg.Brokers = c.ListenAddrs()
		streamtest.Run(t, cfg)
	})
	t.Run("kafka", func(t *testing.T) {
		brokers := testenv.Require(t, "kafka", "FAIRSTREAM_KAFKA_BROKERS")
		cfg := streams.DefaultConfig()
		cfg.Brokers = strings.Split(brokers, ",")
		cfg.ReplicationFactor = 1
		streamtest.Run(t, cfg)
	})
}
