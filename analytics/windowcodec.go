package analytics

import (
	"math"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// unmarshalWindow decodes a WorkerWindow payload into w (which must be
// empty). It decodes directly what the validator writes (each known field
// once, with its wire type, valid UTF-8) and hands anything else (unknown
// or repeated fields, odd wire types) to proto.Unmarshal, for its exact
// semantics and errors. The sink decodes every window this way: it is
// several times faster than the reflection-driven unmarshal.
func unmarshalWindow(b []byte, w *fairstreampb.WorkerWindow) error {
	if decodeWindow(b, w) {
		return nil
	}
	proto.Reset(w)
	return proto.Unmarshal(b, w)
}

func decodeWindow(b []byte, w *fairstreampb.WorkerWindow) bool {
	var seen uint32
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num < 1 || num > 22 || seen&(1<<num) != 0 {
			return false
		}
		seen |= 1 << num
		b = b[n:]
		switch num {
		case 1, 21, 22: // strings
			if typ != protowire.BytesType {
				return false
			}
			v, n := protowire.ConsumeBytes(b)
			if n < 0 || !utf8.Valid(v) {
				return false
			}
			b = b[n:]
			switch num {
			case 1:
				w.Worker = string(v)
			case 21:
				w.Validator = string(v)
			default:
				w.ScoringVersion = string(v)
			}
		case 2, 3: // timestamps
			if typ != protowire.BytesType {
				return false
			}
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return false
			}
			b = b[n:]
			ts, ok := schemas.DecodeTimestamp(v)
			if !ok {
				return false
			}
			if num == 2 {
				w.WindowStart = ts
			} else {
				w.WindowEnd = ts
			}
		case 11, 13, 19, 20: // doubles
			if typ != protowire.Fixed64Type {
				return false
			}
			v, n := protowire.ConsumeFixed64(b)
			if n < 0 {
				return false
			}
			b = b[n:]
			f := math.Float64frombits(v)
			switch num {
			case 11:
				w.Freshness = f
			case 13:
				w.JobLatencySeconds = f
			case 19:
				w.Credibility = f
			default:
				w.Utility = f
			}
		default: // 4 (int32) and the int64 counts
			if typ != protowire.VarintType {
				return false
			}
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return false
			}
			b = b[n:]
			i := int64(v)
			switch num {
			case 4:
				w.Revision = int32(v)
			case 5:
				w.Records = i
			case 6:
				w.Bytes = i
			case 7:
				w.ValidRecords = i
			case 8:
				w.UniqueRecords = i
			case 9:
				w.ExactDuplicates = i
			case 10:
				w.NearDuplicates = i
			case 12:
				w.JobsFulfilled = i
			case 14:
				w.ProcessingAccepted = i
			case 15:
				w.Sampled = i
			case 16:
				w.Verified = i
			case 17:
				w.Mismatched = i
			case 18:
				w.Unverifiable = i
			}
		}
	}
	return true
}

// boxer returns interface values for a batch's rows with few
// allocations: rows are cut from a shared slab, and the values that
// repeat (workers, validator names, window boundaries) are boxed once.
// It is not safe for concurrent use.
type boxer struct {
	slab    []any
	strings map[string]any
	times   map[int64]any
}

const boxCacheMax = 1 << 14

func (x *boxer) row(n int) []any {
	if len(x.slab) < n {
		x.slab = make([]any, n*512)
	}
	r := x.slab[:n:n]
	x.slab = x.slab[n:]
	return r
}

func (x *boxer) str(s string) any {
	if v, ok := x.strings[s]; ok {
		return v
	}
	if x.strings == nil || len(x.strings) >= boxCacheMax {
		x.strings = make(map[string]any)
	}
	var v any = s
	x.strings[s] = v
	return v
}

// dateTime boxes t, in whole seconds, UTC.
func (x *boxer) dateTime(t time.Time) any {
	sec := t.Unix()
	if v, ok := x.times[sec]; ok {
		return v
	}
	if x.times == nil || len(x.times) >= boxCacheMax {
		x.times = make(map[int64]any)
	}
	var v any = time.Unix(sec, 0).UTC()
	x.times[sec] = v
	return v
}
