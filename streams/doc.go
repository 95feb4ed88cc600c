// Package streams is fairstream's event bus runtime on Kafka (franz-go).
//
// It holds:
//   - the topic catalog: every topic declared in code with its partitions,
//     retention, cleanup policy, key and payload type, each with a ".dlq"
//     twin, created idempotently by EnsureTopics;
//   - the client setup shared by every component (Config), with
//     WaitReady, which retries an unreachable cluster with a log line per
//     attempt and gives up after Config.ConnectTimeout;
//   - Producer: idempotent, lingering, compressing writes of envelopes;
//   - Consumer: reading a topic from a position, with or without a group;
//   - Runner: the processor runtime. A Stage is a typed function from one
//     input event to zero or more output payloads plus a Spec naming the
//     stage (a constant, which is also its consumer group), its input topics
//     and its output topics. The runner consumes, processes and produces
//     inside Kafka transactions, so consumed offsets commit atomically with
//     the outputs; it retries with backoff, sends what still fails to
//     "<topic>.dlq" with the reason in headers, and keeps running.
//
// The embedded single-machine broker is in streams/embedded, and the
// conformance suite every bus must pass is in streams/streamtest.
package streams
