// Package testenv tells integration tests where the real servers are.
//
// `make test` starts the servers (deploy/local/services up), exports their
// addresses (FAIRSTREAM_KAFKA_BROKERS, FAIRSTREAM_CLICKHOUSE_ADDR, …) and
// sets FAIRSTREAM_TEST_REQUIRE to the comma-separated names of the servers
// it guarantees. A test that needs a server calls Require: under `make test`
// a missing server fails the test, naming it; under a plain `go test` it
// skips, saying which server and how to start it. No test skips silently.
package testenv

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// RequireVar names the variable listing the servers that must be present.
const RequireVar = "FAIRSTREAM_TEST_REQUIRE"

// Required reports whether name is listed in FAIRSTREAM_TEST_REQUIRE.
func Required(name string) bool {
	return slices.Contains(strings.Split(os.Getenv(RequireVar), ","), name)
}

// Require returns the value of the environment variable that locates
// server name. When it is unset the test fails if name is required, and
// skips otherwise; either way the message says how to get the server.
func Require(t testing.TB, name, envVar string) string {
	t.Helper()
	if v := os.Getenv(envVar); v != "" {
		return v
	}
	msg := name + " is not available: " + envVar + " is not set. Start it with `deploy/local/services up " + name +
		"` and `eval \"$(deploy/local/services env)\"`, or run `make test`, which does both"
	if Required(name) {
		t.Fatalf("%s (%s=%s requires it)", msg, RequireVar, os.Getenv(RequireVar))
	}
	t.Skip(msg)
	return ""
}
