package validator

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/connectors/identity"
	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// Event types the scorer reads besides the raw records.
const (
	jobType       = "job/v1"
	jobStatusType = "job.status/v1"
	jobDone       = "done"
)

// Added says what Add made of an event.
type Added struct {
	// Window is the start of the event's window.
	Window time.Time
	// Late: the event came after its window's allowed lateness; it is
	// counted in Stats.LateDropped and not scored.
	Late bool
	// Err says why the event is invalid (nil when valid).
	Err error
	// Unique: the record is the first of its content.
	Unique bool
	// Duplicate is "exact" or "near" for a valid record that repeats an
	// earlier one, "none" for a valid first one, empty for an invalid one.
	Duplicate string
	// Sample: the validator should re-fetch this record (Verify) and
	// report the verdict with AddVerification.
	Sample bool
}

// Stats counts what the scorer has seen since it was made.
type Stats struct {
	Events            int64
	Invalid           int64
	LateDropped       int64
	LateVerifications int64
	// Unattributed counts events without a worker (in-house stages).
	Unattributed int64
	// Indexed is the number of contents the duplicate index remembers.
	Indexed int
}

// Scorer computes the windows. It is a pure function of the calls made to
// it: the same calls in the same order give the same windows, byte for
// byte. It is not safe for concurrent use.
type Scorer struct {
	cfg       Config
	reg       *schemas.Registry
	verifier  *identity.Verifier
	seedKey   [32]byte
	threshold uint64 // sample when the keyed hash is below it
	sampleAll bool
	idx       *index
	mh        *minhash
	norm      []byte   // scratch: the normalised text
	feats     []uint64 // scratch
	bandKeys  []uint64 // scratch
	workers   map[string]*workerState
	watermark time.Time
	jobs      map[string]*jobState
	jobsSweep time.Time
	stats     Stats
	scratch   window // counts of late events, thrown away

	// Decoding targets, reused.
	tweet    fairstreampb.RawTweet
	web      fairstreampb.RawWebPage
	discord  fairstreampb.RawDiscordMessage
	telegram fairstreampb.RawTelegramMessage
	podcast  fairstreampb.RawPodcastEpisode
	status   fairstreampb.JobStatus
	job      fairstreampb.Job
}

type jobState struct {
	time time.Time
	done bool
}

// workerState is a worker's committed credibility and its open windows.
type workerState struct {
	// m and w are the EMAs of the window pass rates and of 1 over the
	// windows with a verdict: credibility is m/w (a bias-corrected EMA).
	m, w    float64
	windows []*window // by start
}

type window struct {
	start    time.Time
	emitted  bool
	dirty    bool
	revision int32

	records, bytes, valid, unique, exact, near int64
	freshness                                  float64
	jobs                                       int64
	jobLatency, jobScore                       float64
	processing                                 int64
	sampled, verified, mismatched, unverif     int64
}

// New returns a scorer. reg decodes payloads (schemas.Builtin() in
// production); verifier checks signatures (nil: a new one caching 4096
// batch roots).
func New(cfg Config, reg *schemas.Registry, verifier *identity.Verifier) (*Scorer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("validator config: %w", err)
	}
	if reg == nil {
		return nil, errors.New("validator: nil registry")
	}
	if verifier == nil {
		verifier = identity.NewVerifier(4096)
	}
	s := &Scorer{
		cfg:      cfg,
		reg:      reg,
		verifier: verifier,
		seedKey:  sha256.Sum256([]byte("fairstream/validator/sample/v1\x00" + cfg.Seed)),
		idx:      newIndex(cfg),
		mh:       newMinhash(cfg.NearDuplicateBands, cfg.NearDuplicateRows),
		workers:  make(map[string]*workerState),
		jobs:     make(map[string]*jobState),
	}
	if cfg.SampleRate >= 1 {
		s.sampleAll = true
	} else {
		s.threshold = uint64(cfg.SampleRate * (1 << 64))
	}
	return s, nil
}

// Config returns the scorer's configuration.
func (s *Scorer) Config() Config { return s.cfg }

// Stats returns the counters.
func (s *Scorer) Stats() Stats {
	st := s.stats
	st.Indexed = s.idx.size()
	return st
}

// Watermark is the latest watermark passed to Advance.
func (s *Scorer) Watermark() time.Time { return s.watermark }

// windowStart is the start of t's window, aligned on the Unix epoch.
func (s *Scorer) windowStart(t time.Time) time.Time {
	ns, w := t.UnixNano(), int64(s.cfg.Window)
	r := ns % w
	if r < 0 {
		r += w
	}
	return time.Unix(0, ns-r).UTC()
}

// late reports whether the window starting at start can no longer change.
func (s *Scorer) late(start time.Time) bool {
	return !s.watermark.IsZero() && !start.Add(s.cfg.Window+s.cfg.AllowedLateness).After(s.watermark)
}

func (s *Scorer) worker(id string) *workerState {
	ws := s.workers[id]
	if ws == nil {
		ws = &workerState{}
		s.workers[id] = ws
	}
	return ws
}

// window returns the worker's window starting at start, made if need be.
func (ws *workerState) window(start time.Time) *window {
	i, found := slices.BinarySearchFunc(ws.windows, start, func(w *window, t time.Time) int { return w.start.Compare(t) })
	if found {
		return ws.windows[i]
	}
	w := &window{start: start}
	ws.windows = slices.Insert(ws.windows, i, w)
	return w
}

// Add scores one event: a raw record, a job, a job status. ingested is the
// time the bus got it (the record timestamp); zero takes env's ingested.
func (s *Scorer) Add(env *schemas.Envelope, ingested time.Time) Added {
	s.stats.Events++
	if ingested.IsZero() {
		ingested = env.GetIngested().AsTime()
	}
	t := env.GetTime().AsTime()
	out := Added{Window: s.windowStart(t)}
	if env.GetType() == jobType {
		s.addJob(env, t)
		return out
	}
	if env.GetWorker() == "" {
		s.stats.Unattributed++
		return out
	}
	// A late event is not scored, but its content is remembered: it was
	// first published, and a later copy must not take its credit.
	// An event dated after its ingestion (beyond the skew) is invalid; it
	// opens no window, so that a flood of them holds no memory.
	late := s.late(out.Window)
	w := &s.scratch
	if late || t.After(ingested.Add(s.cfg.MaxClockSkew)) {
		s.scratch = window{}
		if late {
			s.stats.LateDropped++
			out.Late = true
		}
	} else {
		w = s.worker(env.GetWorker()).window(out.Window)
		w.dirty = true
	}
	w.records++
	w.bytes += int64(len(env.GetPayload()))

	msg, err := s.check(env, t, ingested)
	if err != nil {
		s.stats.Invalid++
		out.Err = err
		return out
	}
	w.valid++
	if env.GetType() == jobStatusType {
		s.addJobStatus(env, w, t)
		return out
	}
	c, ok := Extract(msg)
	var key [16]byte
	bands := s.bandKeys[:0]
	if ok {
		norm := appendNormalized(s.norm[:0], c.Text)
		s.norm = norm
		if len(norm) > 0 {
			sum := sha256.Sum256(norm)
			key = [16]byte(sum[:16])
			feats, words := features(norm, s.feats[:0])
			s.feats = feats
			if words >= s.cfg.NearDuplicateMinTokens {
				bands = s.mh.keys(feats, bands)
				s.bandKeys = bands
			}
		} else {
			ok = false
		}
	}
	if !ok {
		key = [16]byte(env.GetContentHash()[:16])
	}
	p := s.idx.probe(key, bands)
	switch {
	case s.idx.seenExact(p):
		w.exact++
		out.Duplicate = "exact"
	case s.idx.seenNear(p):
		w.near++
		out.Duplicate = "near"
		s.idx.add(p, t)
	default:
		w.unique++
		out.Duplicate = "none"
		out.Unique = !late
		s.idx.add(p, t)
		src := c.Time
		if src.IsZero() {
			src = t
		}
		age := max(ingested.Sub(src), 0)
		w.freshness += math.Exp2(-age.Seconds() / s.cfg.FreshnessHalfLife.Seconds())
	}
	if !late && s.sample(out.Window, env) {
		w.sampled++
		out.Sample = true
	}
	return out
}

// check verifies env's signature and time and decodes its payload.
func (s *Scorer) check(env *schemas.Envelope, t, ingested time.Time) (proto.Message, error) {
	if err := s.verifier.Verify(env); err != nil {
		return nil, err
	}
	if t.After(ingested.Add(s.cfg.MaxClockSkew)) {
		return nil, fmt.Errorf("event %s: time %s is after its ingestion %s", env.GetId(), t.UTC().Format(time.RFC3339), ingested.UTC().Format(time.RFC3339))
	}
	var m proto.Message
	switch env.GetType() {
	case "raw.tweet/v1":
		m = &s.tweet
	case "raw.web/v1":
		m = &s.web
	case "raw.discord/v1":
		m = &s.discord
	case "raw.telegram/v1":
		m = &s.telegram
	case "raw.podcast/v1":
		m = &s.podcast
	case jobStatusType:
		m = &s.status
	default:
		if !strings.HasPrefix(env.GetType(), "raw.") {
			return nil, fmt.Errorf("%w: %s is not a contribution", schemas.ErrInvalidEnvelope, env.GetType())
		}
		n, err := s.reg.New(env.GetType())
		if err != nil {
			return nil, fmt.Errorf("%w: %w", schemas.ErrInvalidEnvelope, err)
		}
		m = n
	}
	proto.Reset(m)
	if err := s.reg.DecodeIntoTrusted(env, m); err != nil { // the content hash was checked with the signature
		return nil, err
	}
	return m, nil
}

// sample decides, from the validator's secret, the window and the event,
// whether to re-fetch it. Without the secret a worker cannot tell.
func (s *Scorer) sample(start time.Time, env *schemas.Envelope) bool {
	if s.sampleAll {
		return true
	}
	if s.threshold == 0 {
		return false
	}
	var buf [256]byte
	b := append(buf[:0], s.seedKey[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(start.Unix()))
	b = append(b, env.GetWorker()...)
	b = append(b, 0)
	b = append(b, env.GetId()...)
	sum := sha256.Sum256(b)
	return binary.BigEndian.Uint64(sum[:8]) < s.threshold
}

func (s *Scorer) addJob(env *schemas.Envelope, t time.Time) {
	proto.Reset(&s.job)
	if err := s.reg.DecodeInto(env, &s.job); err != nil {
		s.stats.Invalid++
		return
	}
	id := s.job.GetId()
	if id == "" {
		return
	}
	if j := s.jobs[id]; j == nil || j.time.Before(s.watermark.Add(-s.cfg.JobHorizon)) {
		s.jobs[id] = &jobState{time: t}
	}
}

// addJobStatus credits the first "done" status of a known job to its
// worker, with its latency from the job's time.
func (s *Scorer) addJobStatus(env *schemas.Envelope, w *window, t time.Time) {
	st := &s.status
	if st.GetState() != jobDone || st.GetWorker() != env.GetWorker() {
		return
	}
	j := s.jobs[st.GetJobId()]
	// A job older than the horizon is forgotten whether or not the sweep
	// in Advance got to it yet: what is credited must not depend on when
	// Advance was called.
	if j == nil || j.done || j.time.Before(s.watermark.Add(-s.cfg.JobHorizon)) {
		return
	}
	j.done = true
	lat := max(t.Sub(j.time), 0).Seconds()
	w.jobs++
	w.jobLatency += lat
	w.jobScore += math.Exp2(-lat / s.cfg.JobLatencyHalfLife.Seconds())
}

// AddVerification records the verdict on a sampled record. A verdict for a
// window past its allowed lateness is counted in Stats.LateVerifications
// and dropped.
func (s *Scorer) AddVerification(v Verification) {
	start := s.windowStart(v.Time)
	if s.late(start) {
		s.stats.LateVerifications++
		return
	}
	w := s.worker(v.Worker).window(start)
	w.dirty = true
	switch v.Result {
	case Verified:
		w.verified++
	case Mismatch:
		w.mismatched++
	default:
		w.unverif++
	}
}

// AddProcessing credits a worker with processing results (leased stages)
// accepted after verification by recomputation, at event time t.
func (s *Scorer) AddProcessing(worker string, t time.Time, accepted int64) {
	start := s.windowStart(t)
	if s.late(start) {
		s.stats.LateDropped++
		return
	}
	w := s.worker(worker).window(start)
	w.dirty = true
	w.processing += accepted
}

// step folds a window's pass rate into (m, w).
func (s *Scorer) step(m, w float64, win *window) (float64, float64) {
	decided := win.verified + win.mismatched
	if decided == 0 {
		return m, w
	}
	a := s.cfg.CredibilityAlpha
	r := float64(win.verified) / float64(decided)
	return (1-a)*m + a*r, (1-a)*w + a
}

func (s *Scorer) credibility(m, w float64) float64 {
	if w == 0 {
		return s.cfg.InitialCredibility
	}
	return min(m/w, 1)
}

// Advance moves the watermark (event time) and returns the windows that
// closed (end <= watermark) or that changed since they were emitted,
// sorted by window start then worker. A watermark before the current one
// is ignored.
func (s *Scorer) Advance(watermark time.Time) []*fairstreampb.WorkerWindow {
	if watermark.Before(s.watermark) {
		return nil
	}
	s.watermark = watermark
	var out []*fairstreampb.WorkerWindow
	for id, ws := range s.workers {
		m, wt := ws.m, ws.w
		for _, win := range ws.windows {
			m, wt = s.step(m, wt, win)
			if win.start.Add(s.cfg.Window).After(watermark) {
				break
			}
			if win.emitted && !win.dirty {
				continue
			}
			if win.emitted {
				win.revision++
			}
			win.emitted, win.dirty = true, false
			out = append(out, s.emit(id, win, s.credibility(m, wt)))
		}
		n := 0
		for _, win := range ws.windows {
			if !s.late(win.start) {
				break
			}
			ws.m, ws.w = s.step(ws.m, ws.w, win)
			n++
		}
		if n > 0 {
			clear(ws.windows[:n])
			ws.windows = ws.windows[n:]
		}
		if len(ws.windows) == 0 && ws.w == 0 {
			delete(s.workers, id) // nothing to remember: no window, no verdict
		}
	}
	slices.SortFunc(out, func(a, b *fairstreampb.WorkerWindow) int {
		if c := a.GetWindowStart().AsTime().Compare(b.GetWindowStart().AsTime()); c != 0 {
			return c
		}
		return strings.Compare(a.GetWorker(), b.GetWorker())
	})
	s.idx.expire(watermark)
	if watermark.Sub(s.jobsSweep) > s.cfg.JobHorizon/8 {
		s.jobsSweep = watermark
		cut := watermark.Add(-s.cfg.JobHorizon)
		for id, j := range s.jobs {
			if j.time.Before(cut) {
				delete(s.jobs, id)
			}
		}
	}
	return out
}

// Utility is the scoring function: credibility^κ × (w_record × freshness +
// w_job × Σ 2^(−latency/half-life) over fulfilled jobs + w_processing ×
// processing accepted).
func (s *Scorer) utility(win *window, cred float64) float64 {
	base := s.cfg.WeightRecord*win.freshness + s.cfg.WeightJob*win.jobScore + s.cfg.WeightProcessing*float64(win.processing)
	if base == 0 {
		return 0
	}
	return math.Pow(cred, s.cfg.CredibilityExponent) * base
}

func (s *Scorer) emit(worker string, win *window, cred float64) *fairstreampb.WorkerWindow {
	out := &fairstreampb.WorkerWindow{
		Worker:             worker,
		WindowStart:        timestamppb.New(win.start),
		WindowEnd:          timestamppb.New(win.start.Add(s.cfg.Window)),
		Revision:           win.revision,
		Records:            win.records,
		Bytes:              win.bytes,
		ValidRecords:       win.valid,
		UniqueRecords:      win.unique,
		ExactDuplicates:    win.exact,
		NearDuplicates:     win.near,
		Freshness:          win.freshness,
		JobsFulfilled:      win.jobs,
		ProcessingAccepted: win.processing,
		Sampled:            win.sampled,
		Verified:           win.verified,
		Mismatched:         win.mismatched,
		Unverifiable:       win.unverif,
		Credibility:        cred,
		Utility:            s.utility(win, cred),
		Validator:          s.cfg.ValidatorID,
		ScoringVersion:     ScoringVersion,
	}
	if win.jobs > 0 {
		out.JobLatencySeconds = win.jobLatency / float64(win.jobs)
	}
	return out
}

// WindowKey is a window's record key: "<worker>/<window start RFC 3339>".
func WindowKey(w *fairstreampb.WorkerWindow) string {
	return w.GetWorker() + "/" + w.GetWindowStart().AsTime().UTC().Format(time.RFC3339)
}

// Envelope wraps a window for scores.windows.v1 with everything derived
// from the window, so a replay writes the same bytes: the ID is derived
// from (key, revision), the event and ingested times are the window's end.
func Envelope(reg *schemas.Registry, validatorID string, w *fairstreampb.WorkerWindow) (*schemas.Envelope, error) {
	key := WindowKey(w)
	end := w.GetWindowEnd().AsTime()
	return reg.Wrap(w, schemas.Meta{
		ID:       schemas.DeriveID(key, "validator/"+validatorID, int(w.GetRevision()), end),
		Source:   "validator",
		Time:     end,
		Ingested: end,
		Key:      key,
	})
}
