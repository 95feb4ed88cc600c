package analytics

import (
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// ErrRejected is wrapped by a Mapper's error for a record that can never
// become a row (it does not decode, is of another event type, carries
// values the table cannot hold). The sink sends such a record to its
// topic's dead-letter twin with the reason and goes on.
var ErrRejected = errors.New("record rejected")

// Mapper turns one record into one row of its route's columns. An error
// sends the record to the DLQ; it never stops the sink.
type Mapper func(rec *kgo.Record) ([]any, error)

// Route sends one topic's records into one table: Map's values fill
// Columns, in order.
type Route struct {
	Topic   string
	Table   string
	Columns []string
	Map     Mapper
	// NewMap, if set, returns another Mapper like Map for one more
	// goroutine: when every route has one, the sink maps a poll's records
	// on GOMAXPROCS goroutines.
	NewMap func() Mapper
}

// Default topics and the sink's name.
const (
	// WindowsTopic carries fairstreampb.WorkerWindow (scores.window/v1).
	WindowsTopic = "scores.windows.v1"
	// SinkName is the sink's stage name and consumer group. Renaming it
	// makes the sink read every topic again from the start (harmless:
	// the tables are idempotent, but slow).
	SinkName = "analytics-sink"
)

// WindowRoute maps scores.windows.v1 into worker_utility with
// WindowMapper.
func WindowRoute(reg *schemas.Registry, signers *Signers) Route {
	return Route{Topic: WindowsTopic, Table: WorkerUtilityTable, Columns: WorkerUtilityColumns, Map: WindowMapper(reg, signers),
		NewMap: func() Mapper { return WindowMapper(reg, signers.Clone()) }}
}

// ContributionsTopic carries fairstreampb.Contribution
// (scores.contribution/v1).
const ContributionsTopic = "scores.contributions.v1"

// ContributionsRoute maps scores.contributions.v1 into contributions.
func ContributionsRoute(reg *schemas.Registry, signers *Signers) Route {
	if reg == nil {
		reg = schemas.Builtin()
	}
	r := contributionsRoute(reg, signers)
	r.NewMap = func() Mapper { return contributionsRoute(reg, signers.Clone()).Map }
	return r
}

func contributionsRoute(reg *schemas.Registry, signers *Signers) Route {
	return ContributionRoute(ContributionsTopic, func(rec *kgo.Record) (Contribution, error) {
		env, err := schemas.UnmarshalEnvelope(rec.Value)
		if err != nil {
			return Contribution{}, err
		}
		var c fairstreampb.Contribution
		if err := reg.DecodeInto(env, &c); err != nil {
			return Contribution{}, err
		}
		if err := signers.Check(env); err != nil {
			return Contribution{}, err
		}
		if err := checkWorker(c.GetWorker()); err != nil {
			return Contribution{}, err
		}
		if c.GetBytes() < 0 || c.GetRevision() < 0 {
			return Contribution{}, fmt.Errorf("contribution %s: negative bytes or revision", c.GetEventId())
		}
		out := Contribution{
			EventID: c.GetEventId(), Worker: c.GetWorker(), Source: c.GetSource(), EventType: c.GetEventType(),
			EventTime: c.GetEventTime().AsTime(), Ingested: c.GetIngested().AsTime(), Bytes: uint64(c.GetBytes()),
			ContentHash: c.GetContentHash(), Valid: c.GetValid(), InvalidReason: c.GetInvalidReason(), Unique: c.GetUnique(),
			WindowStart: c.GetWindowStart().AsTime(), Revision: uint32(c.GetRevision()),
		}
		switch c.GetDuplicate() {
		case "exact":
			out.Duplicate = ExactDuplicate
		case "near":
			out.Duplicate = NearDuplicate
		default:
			out.Duplicate = NotDuplicate
		}
		switch c.GetVerification() {
		case "sampled":
			out.Verification = Sampled
		case "verified":
			out.Verification = Verified
		case "mismatch", "mismatched":
			out.Verification = Mismatched
		case "unverifiable":
			out.Verification = Unverifiable
		default:
			out.Verification = Unsampled
		}
		return out, nil
	})
}

// WindowMapper decodes a scores.window/v1 envelope and returns its
// worker_utility row. It checks the envelope's structure and type as
// schemas.Registry.DecodeIntoTrusted does (a ULID id, the
// scores.window/v1 type, a valid time), then the signature and signer
// with signers (which also checks the content hash). The Mapper it
// returns is for one goroutine (the sink's). A record that does not
// decode, is of another type, is not signed by a validator signers
// trusts, or has a worker that is not an address, no window start or a
// negative revision is rejected (ErrRejected).
func WindowMapper(reg *schemas.Registry, signers *Signers) Mapper {
	if reg == nil {
		reg = schemas.Builtin()
	}
	want, err := schemas.TypeFor[*fairstreampb.WorkerWindow](reg)
	x := &boxer{}
	return func(rec *kgo.Record) ([]any, error) {
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrRejected, err)
		}
		env, err := schemas.UnmarshalEnvelope(rec.Value)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrRejected, err)
		}
		if env.GetType() != want {
			return nil, fmt.Errorf("%w: %w: payload is %s, want %s", ErrRejected, schemas.ErrInvalidEnvelope, env.GetType(), want)
		}
		if _, err := ulid.ParseStrict(env.GetId()); err != nil {
			return nil, fmt.Errorf("%w: %w: id %q is not a ULID: %v", ErrRejected, schemas.ErrInvalidEnvelope, env.GetId(), err)
		}
		if err := env.GetTime().CheckValid(); err != nil {
			return nil, fmt.Errorf("%w: %w: event %s: time: %v", ErrRejected, schemas.ErrInvalidEnvelope, env.GetId(), err)
		}
		var w fairstreampb.WorkerWindow
		if err := unmarshalWindow(env.GetPayload(), &w); err != nil {
			return nil, fmt.Errorf("%w: %w: payload does not decode as %s: %v", ErrRejected, schemas.ErrInvalidEnvelope, want, err)
		}
		if err := signers.Check(env); err != nil {
			return nil, err
		}
		if err := checkWorker(w.GetWorker()); err != nil {
			return nil, err
		}
		return windowRow(x, env, &w)
	}
}

// WindowRow returns w's worker_utility row (WorkerUtilityColumns); env,
// which may be nil, gives event_id and ingested.
func WindowRow(env *schemas.Envelope, w *fairstreampb.WorkerWindow) ([]any, error) {
	// A boxer of its own, sized to one row: the row keeps its slab alive.
	return windowRow(&boxer{slab: make([]any, len(WorkerUtilityColumns))}, env, w)
}

func windowRow(x *boxer, env *schemas.Envelope, w *fairstreampb.WorkerWindow) ([]any, error) {
	switch {
	case w.GetWorker() == "":
		return nil, fmt.Errorf("%w: window has no worker", ErrRejected)
	case w.GetWindowStart() == nil:
		return nil, fmt.Errorf("%w: window of %s has no window_start", ErrRejected, w.GetWorker())
	case w.GetRevision() < 0:
		return nil, fmt.Errorf("%w: window of %s has revision %d", ErrRejected, w.GetWorker(), w.GetRevision())
	}
	start, end := w.GetWindowStart().AsTime(), w.GetWindowEnd().AsTime()
	if w.GetWindowEnd() == nil {
		end = start
	}
	if err := dateTimeRange(start, end); err != nil {
		return nil, err
	}
	ingested := time.Unix(0, 0)
	if ts := env.GetIngested(); ts != nil && dateTimeRange(ts.AsTime()) == nil {
		ingested = ts.AsTime()
	}
	r := x.row(len(WorkerUtilityColumns))
	r[0], r[1], r[2], r[3] = x.str(w.GetWorker()), x.dateTime(start), x.dateTime(end), uint32(w.GetRevision())
	r[4], r[5], r[6], r[7], r[8], r[9] = w.GetRecords(), w.GetBytes(), w.GetValidRecords(), w.GetUniqueRecords(), w.GetExactDuplicates(), w.GetNearDuplicates()
	r[10], r[11], r[12], r[13] = w.GetFreshness(), w.GetJobsFulfilled(), w.GetJobLatencySeconds(), w.GetProcessingAccepted()
	r[14], r[15], r[16], r[17] = w.GetSampled(), w.GetVerified(), w.GetMismatched(), w.GetUnverifiable()
	r[18], r[19], r[20], r[21] = w.GetCredibility(), w.GetUtility(), x.str(w.GetValidator()), x.str(w.GetScoringVersion())
	r[22], r[23] = env.GetId(), time.Unix(ingested.Unix(), 0).UTC()
	return r, nil
}

// dateTimeRange rejects times a DateTime column cannot hold (1970 to 2105).
func dateTimeRange(ts ...time.Time) error {
	for _, t := range ts {
		if s := t.Unix(); s < 0 || s > 1<<32-1 {
			return fmt.Errorf("%w: time %s is outside DateTime's range", ErrRejected, t.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// Duplicate says whether a contribution repeats an earlier one.
type Duplicate string

// Duplicate kinds, the values of contributions.duplicate.
const (
	NotDuplicate   Duplicate = "none"
	ExactDuplicate Duplicate = "exact" // same content hash as an earlier record
	NearDuplicate  Duplicate = "near"  // SimHash close to an earlier record
)

// Verification is what the validator's re-fetch of a sampled record found.
type Verification string

// Verification outcomes, the values of contributions.verification.
const (
	Unsampled    Verification = "unsampled"
	Sampled      Verification = "sampled" // the verdict is pending
	Verified     Verification = "verified"
	Mismatched   Verification = "mismatched"
	Unverifiable Verification = "unverifiable" // source error or validator fault
)

// Contribution is one contributed record's metadata, as the validator saw
// it: a row of contributions. It never holds the record's content. The
// validator's contribution topic maps its payload to a Contribution and
// passes Row to a Route.
type Contribution struct {
	EventID       string
	Worker        string
	Source        string
	EventType     string
	EventTime     time.Time
	Ingested      time.Time
	Bytes         uint64
	ContentHash   []byte
	Valid         bool
	InvalidReason string
	Unique        bool
	Duplicate     Duplicate
	DuplicateOf   string
	Verification  Verification
	WindowStart   time.Time
	// Revision versions the row: a later revision of the same event ID
	// replaces an earlier one.
	Revision uint32
}

// Row returns c's values in ContributionColumns order.
func (c Contribution) Row() ([]any, error) {
	if c.EventID == "" {
		return nil, fmt.Errorf("%w: contribution has no event ID", ErrRejected)
	}
	if err := dateTimeRange(c.EventTime, c.Ingested, c.WindowStart); err != nil {
		return nil, fmt.Errorf("contribution %s: %w", c.EventID, err)
	}
	dup, ver := c.Duplicate, c.Verification
	if dup == "" {
		dup = NotDuplicate
	}
	if ver == "" {
		ver = Unsampled
	}
	return []any{
		c.EventID, c.Worker, c.Source, c.EventType, c.EventTime, c.Ingested, c.Bytes, hex.EncodeToString(c.ContentHash),
		c.Valid, c.InvalidReason, c.Unique, string(dup), c.DuplicateOf, string(ver), c.WindowStart, c.Revision,
	}, nil
}

// ContributionRoute maps topic into contributions; decode turns a record
// into its Contribution (an error rejects the record to the DLQ).
func ContributionRoute(topic string, decode func(rec *kgo.Record) (Contribution, error)) Route {
	return Route{Topic: topic, Table: ContributionsTable, Columns: ContributionColumns, Map: func(rec *kgo.Record) ([]any, error) {
		c, err := decode(rec)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrRejected, err)
		}
		return c.Row()
	}}
}
