package streams

import (
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Headers a dead-lettered record carries, besides its original headers.
const (
	HeaderDLQReason    = "dlq.reason"    // the error, as text
	HeaderDLQClass     = "dlq.class"     // decode, process, panic or output
	HeaderDLQStage     = "dlq.stage"     // the stage that gave up
	HeaderDLQAttempts  = "dlq.attempts"  // processing attempts made
	HeaderDLQTopic     = "dlq.topic"     // where the record was read
	HeaderDLQPartition = "dlq.partition" // its partition there
	HeaderDLQOffset    = "dlq.offset"    // its offset there
	// HeaderType carries the envelope's event type on every record the bus
	// writes, so tools can route without decoding.
	HeaderType = "fs.type"
)

// Failure classes, the value of the dlq.class header.
const (
	ClassDecode  = "decode"  // the record is not a valid envelope of the expected type
	ClassProcess = "process" // the stage returned an error on every attempt
	ClassPanic   = "panic"   // the stage panicked
	ClassOutput  = "output"  // the stage returned an output the runner cannot write
)

// maxReason caps the dlq.reason header (a panic's stack can be long).
const maxReason = 4096

// deadLetter returns the record to write to rec's dead-letter twin: the
// original key, value and headers, plus the dlq.* headers.
func deadLetter(rec *kgo.Record, stage, class, reason string, attempts int) *kgo.Record {
	if len(reason) > maxReason {
		reason = strings.ToValidUTF8(reason[:maxReason], "") + " …(truncated)"
	}
	headers := make([]kgo.RecordHeader, 0, len(rec.Headers)+7)
	headers = append(headers, rec.Headers...)
	headers = append(headers,
		kgo.RecordHeader{Key: HeaderDLQReason, Value: []byte(reason)},
		kgo.RecordHeader{Key: HeaderDLQClass, Value: []byte(class)},
		kgo.RecordHeader{Key: HeaderDLQStage, Value: []byte(stage)},
		kgo.RecordHeader{Key: HeaderDLQAttempts, Value: []byte(strconv.Itoa(attempts))},
		kgo.RecordHeader{Key: HeaderDLQTopic, Value: []byte(rec.Topic)},
		kgo.RecordHeader{Key: HeaderDLQPartition, Value: []byte(strconv.Itoa(int(rec.Partition)))},
		kgo.RecordHeader{Key: HeaderDLQOffset, Value: []byte(strconv.FormatInt(rec.Offset, 10))},
	)
	return &kgo.Record{Topic: rec.Topic + DLQSuffix, Key: rec.Key, Value: rec.Value, Headers: headers}
}

// Header returns the value of the first header named key, or "".
func Header(rec *kgo.Record, key string) string {
	for _, h := range rec.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
