// Package streamtest is the conformance suite every fairstream bus passes:
// the embedded kfake broker in every `go test`, and a real Kafka cluster
// whenever FAIRSTREAM_KAFKA_BROKERS is set.
//
// Call Run at the start of a test function, before anything that must not
// run twice: the exactly-once test re-executes the test binary as a worker
// process, which it kills mid-transaction, and Run is where that worker
// starts.
//
// It covers: produce/consume round trips of payloads and headers; batches;
// redelivery after a failed (aborted) transaction; no redelivery after a
// commit and a restart; exactly-once across a crash; dead-lettering with
// reasons, retries with backoff, panics and permanent errors; context
// cancellation unblocking every blocking call within a second; and
// idempotent Close.
package streamtest
