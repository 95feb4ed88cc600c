package validator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fairstream/fairstream/connectors/identity"
	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// t0 is the start of every simulated run.
var t0 = time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)

// logEntry is one record of the simulated log.
type logEntry struct {
	env      *schemas.Envelope
	ingested time.Time
}

// tweetRec is a tweet as a worker claims it.
type tweetRec struct {
	id      string
	text    string
	created time.Time
	event   time.Time
	ingest  time.Time
}

// truth is the in-memory source: what the validator's own connector sees.
type truth struct {
	mu     sync.Mutex
	tweets map[string]Content
	// fault, when set, makes the validator fail for the envelopes it
	// matches (a validator-side outage).
	fault func(env *schemas.Envelope) bool
	calls int
}

func newTruth() *truth { return &truth{tweets: make(map[string]Content)} }

func (s *truth) put(r tweetRec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tweets[r.id] = Content{Text: r.text, Time: r.created}
}

func (s *truth) Refetch(ctx context.Context, env *schemas.Envelope) (Content, error) {
	if err := ctx.Err(); err != nil {
		return Content{}, fmt.Errorf("%w: %w", ErrValidatorFault, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.fault != nil && s.fault(env) {
		return Content{}, fmt.Errorf("%w: connector down", ErrValidatorFault)
	}
	var tw fairstreampb.RawTweet
	if err := schemas.Builtin().DecodeIntoTrusted(env, &tw); err != nil {
		return Content{}, fmt.Errorf("%w: %w", ErrValidatorFault, err)
	}
	c, ok := s.tweets[tw.GetId()]
	if !ok {
		return Content{}, fmt.Errorf("%w: tweet %s", ErrNotFound, tw.GetId())
	}
	return c, nil
}

// simWorker is one key.
type simWorker struct {
	name string
	id   *identity.Identity
}

// newWorker returns the key named name, the same in every run (so that the
// sampling, keyed by the worker, is too).
func newWorker(t testing.TB, name string) *simWorker {
	t.Helper()
	seed := sha256.Sum256([]byte("fairstream/validator/test/" + name))
	id, err := identity.FromHex(hex.EncodeToString(seed[:]))
	if err != nil {
		t.Fatal(err)
	}
	return &simWorker{name: name, id: id}
}

// publish wraps the tweets in envelopes and signs them in pages of 100.
func (w *simWorker) publish(t testing.TB, recs []tweetRec) []logEntry {
	t.Helper()
	reg := schemas.Builtin()
	var out []logEntry
	for page := range slices.Chunk(recs, 100) {
		envs := make([]*schemas.Envelope, len(page))
		for i, r := range page {
			env, err := reg.Wrap(&fairstreampb.RawTweet{Id: r.id, Text: r.text, AuthorId: "a" + r.id, CreatedAt: timestamppb.New(r.created)}, schemas.Meta{
				ID:       schemas.DeriveID(w.id.Address()+"/"+r.id, "sim", 0, r.event),
				Source:   "twitter",
				Worker:   w.id.Address(),
				Time:     r.event,
				Ingested: r.ingest,
				Key:      r.id,
			})
			if err != nil {
				t.Fatal(err)
			}
			envs[i] = env
		}
		if err := w.id.SignBatch(envs); err != nil {
			t.Fatal(err)
		}
		for i, env := range envs {
			out = append(out, logEntry{env: env, ingested: page[i].ingest})
		}
	}
	return out
}

// vocab is the simulation's word list.
var vocab = func() []string {
	r := rand.New(rand.NewPCG(7, 7))
	const letters = "abcdefghijklmnopqrstuvwxyz"
	words := make([]string, 5000)
	for i := range words {
		n := 3 + r.IntN(7)
		var b strings.Builder
		for range n {
			b.WriteByte(letters[r.IntN(len(letters))])
		}
		words[i] = b.String()
	}
	return words
}()

func sentence(r *rand.Rand, n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = vocab[r.IntN(len(vocab))]
	}
	return strings.Join(w, " ")
}

// edit changes a text a little: one word replaced, or case and punctuation.
func edit(r *rand.Rand, text string) string {
	w := strings.Fields(text)
	switch r.IntN(3) {
	case 0:
		w[r.IntN(len(w))] = vocab[r.IntN(len(vocab))]
	case 1:
		i := r.IntN(len(w))
		w[i] = strings.ToUpper(w[i]) + "!"
	default:
		i := r.IntN(len(w))
		w = slices.Insert(w, i, vocab[r.IntN(len(vocab))])
	}
	return strings.Join(w, " ")
}

// replay feeds the log to a new scorer in ingestion order, verifying every
// sampled record through ref, advancing the watermark every simulated
// minute, and returns every window emitted.
func replay(t testing.TB, cfg Config, ref Refetcher, log []logEntry) ([]*fairstreampb.WorkerWindow, *Scorer) {
	t.Helper()
	reg := schemas.Builtin()
	s, err := New(cfg, reg, identity.NewVerifier(4096))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var out []*fairstreampb.WorkerWindow
	var next time.Time
	for _, e := range log {
		if next.IsZero() {
			next = e.ingested.Truncate(time.Minute).Add(time.Minute)
		}
		for !e.ingested.Before(next) {
			out = append(out, s.Advance(next)...)
			next = next.Add(time.Minute)
		}
		a := s.Add(e.env, e.ingested)
		if a.Sample {
			s.AddVerification(Verify(ctx, ref, reg, e.env))
		}
	}
	out = append(out, s.Advance(next.Add(24*time.Hour))...)
	return out, s
}

// sortLog orders the log by ingestion time, stably.
func sortLog(log []logEntry) {
	slices.SortStableFunc(log, func(a, b logEntry) int { return a.ingested.Compare(b.ingested) })
}

// latest keeps the last revision of each (worker, window).
func latest(ws []*fairstreampb.WorkerWindow) map[string]*fairstreampb.WorkerWindow {
	m := make(map[string]*fairstreampb.WorkerWindow)
	for _, w := range ws {
		k := WindowKey(w)
		if o := m[k]; o == nil || o.GetRevision() <= w.GetRevision() {
			m[k] = w
		}
	}
	return m
}

// totals sums the latest windows per worker.
type total struct {
	records, unique int64
	utility         float64
	freshness       float64
	verified        int64
	mismatched      int64
	unverifiable    int64
}

func totals(ws []*fairstreampb.WorkerWindow) map[string]*total {
	out := make(map[string]*total)
	for _, w := range latest(ws) {
		tt := out[w.GetWorker()]
		if tt == nil {
			tt = &total{}
			out[w.GetWorker()] = tt
		}
		tt.records += w.GetRecords()
		tt.unique += w.GetUniqueRecords()
		tt.utility += w.GetUtility()
		tt.freshness += w.GetFreshness()
		tt.verified += w.GetVerified()
		tt.mismatched += w.GetMismatched()
		tt.unverifiable += w.GetUnverifiable()
	}
	return out
}

func (tt *total) perRecord() float64 {
	if tt == nil || tt.records == 0 {
		return 0
	}
	return tt.utility / float64(tt.records)
}

func tweetPayload(id, text string, created time.Time) *fairstreampb.RawTweet {
	return &fairstreampb.RawTweet{Id: id, Text: text, AuthorId: "a" + id, CreatedAt: timestamppb.New(created)}
}
