package analytics

import (
	"math/rand/v2"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// TestUnmarshalWindowMatchesProto: the direct decoder gives what
// proto.Unmarshal gives, for canonical payloads and for odd ones (unknown
// and repeated fields, wrong wire types, truncation, invalid UTF-8) that
// it hands over.
func TestUnmarshalWindowMatchesProto(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var inputs [][]byte
	for i := range 300 {
		w := &fairstreampb.WorkerWindow{
			Worker: "0xabc", Revision: int32(r.IntN(5)) - 1, Records: r.Int64() - r.Int64(), Bytes: r.Int64N(1 << 40),
			ValidRecords: int64(i), UniqueRecords: r.Int64N(10), ExactDuplicates: 1, NearDuplicates: 2, Freshness: r.Float64(),
			JobsFulfilled: 3, JobLatencySeconds: r.NormFloat64(), ProcessingAccepted: 4, Sampled: 5, Verified: 6, Mismatched: 7,
			Unverifiable: 8, Credibility: r.Float64(), Utility: r.ExpFloat64(), Validator: "v", ScoringVersion: "s1",
		}
		if i%3 != 0 {
			w.WindowStart = timestamppb.New(timestamppb.Now().AsTime().Add(-time.Duration(r.Int64N(1e15))))
			w.WindowEnd = &timestamppb.Timestamp{Seconds: r.Int64N(1 << 33), Nanos: int32(r.IntN(1e9))}
		}
		b, err := schemas.MarshalPayload(w)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, b)
		// Odd encodings: a field repeated (last wins), an unknown field,
		// a wrong wire type, a truncation, invalid UTF-8.
		inputs = append(inputs,
			protowire.AppendVarint(protowire.AppendTag(append([]byte{}, b...), 5, protowire.VarintType), 99),
			protowire.AppendVarint(protowire.AppendTag(append([]byte{}, b...), 40, protowire.VarintType), 1),
			protowire.AppendFixed64(protowire.AppendTag(append([]byte{}, b...), 5, protowire.Fixed64Type), 1),
			b[:r.IntN(len(b)+1)],
			protowire.AppendString(protowire.AppendTag(append([]byte{}, b...), 1, protowire.BytesType), "\xff"),
		)
	}
	direct := 0
	for i, b := range inputs {
		var got, want fairstreampb.WorkerWindow
		errGot := unmarshalWindow(b, &got)
		errWant := proto.Unmarshal(b, &want)
		if (errGot == nil) != (errWant == nil) {
			t.Fatalf("input %d: error %v, proto.Unmarshal's %v", i, errGot, errWant)
		}
		if errWant == nil && !proto.Equal(&got, &want) {
			t.Fatalf("input %d: got %v, want %v", i, &got, &want)
		}
		var scratch fairstreampb.WorkerWindow
		if decodeWindow(b, &scratch) {
			direct++
		}
	}
	if direct < 300 {
		t.Errorf("only %d inputs took the direct path; every canonical payload should", direct)
	}
}
