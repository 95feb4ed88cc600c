package testenv

import "testing"

func TestRequired(t *testing.T) {
	t.Setenv(RequireVar, "kafka,milvus")
	if !Required("kafka") || !Required("milvus") || Required("geth") || Required("kaf") {
		t.Fatal("Required does not match whole names from the list")
	}
	t.Setenv("FAIRSTREAM_TESTENV_PROBE", "127.0.0.1:1")
	if got := Require(t, "probe", "FAIRSTREAM_TESTENV_PROBE"); got != "127.0.0.1:1" {
		t.Fatalf("Require = %q", got)
	}
}
