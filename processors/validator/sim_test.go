package validator

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/fairstream/fairstream/schemas"
)

// The adversarial simulation: honest workers next to cheaters, every
// record a real envelope signed by a real key, scored by the real Scorer.

const (
	simWindows = 12
	simPerWin  = 300 // records per worker per window
)

// world is one simulated log and who is who in it.
type world struct {
	log   []logEntry
	truth *truth
	role  map[string]string // worker address → role
	keys  map[string][]*simWorker
}

// buildWorld generates the log. split puts the sybil operator's records
// on five keys instead of one; everything else is the same, record for
// record, whatever split is.
func buildWorld(t testing.TB, split bool) *world {
	t.Helper()
	w := &world{truth: newTruth(), role: make(map[string]string), keys: make(map[string][]*simWorker)}
	add := func(role string, n int) []*simWorker {
		var ks []*simWorker
		for i := range n {
			k := newWorker(t, fmt.Sprintf("%s-%d", role, i))
			w.role[k.id.Address()] = role
			ks = append(ks, k)
		}
		w.keys[role] = ks
		return ks
	}
	honest := add("honest", 3)
	faulty := add("honest-fault", 1)[0]
	dup := add("duplicator", 1)[0]
	stale := add("stale", 1)[0]
	fab := add("fabricator", 1)[0]
	spam := add("spammer", 1)[0]
	opKeys := 1
	if split {
		opKeys = 5
	}
	op := add("operator", opKeys)

	serial := 0
	rec := func(r *rand.Rand, text string, created, event, ingest time.Time) tweetRec {
		serial++
		return tweetRec{id: fmt.Sprintf("%d", 1_000_000+serial), text: text, created: created, event: event, ingest: ingest}
	}
	// Each role draws from its own generator, so that splitting the
	// operator changes nothing else.
	rng := func(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 99)) }
	rHonest, rDup, rStale, rFab, rSpam, rOp := rng(1), rng(2), rng(3), rng(4), rng(5), rng(6)
	honestDelay := func(r *rand.Rand) time.Duration { return 30*time.Second + time.Duration(r.IntN(150))*time.Second }

	for k := range simWindows {
		base := t0.Add(time.Duration(k) * 10 * time.Minute)
		at := func(r *rand.Rand) time.Time { return base.Add(time.Duration(r.IntN(600)) * time.Second) }
		// Honest workers scrape fresh, unique records.
		var h0 []tweetRec
		for i, hw := range append(honest[:len(honest):len(honest)], faulty) {
			var recs []tweetRec
			for range simPerWin {
				ev := at(rHonest)
				r := rec(rHonest, sentence(rHonest, 20), ev, ev, ev.Add(honestDelay(rHonest)))
				w.truth.put(r)
				recs = append(recs, r)
			}
			if i == 0 {
				h0 = recs
			}
			w.log = append(w.log, hw.publish(t, recs)...)
		}
		// The duplicator re-publishes honest-0's records under its key, a
		// minute after it saw them.
		var recs []tweetRec
		for _, r := range h0 {
			c := r
			c.event = r.ingest.Add(time.Minute)
			c.ingest = c.event.Add(time.Duration(rDup.IntN(30)) * time.Second)
			recs = append(recs, c)
		}
		w.log = append(w.log, dup.publish(t, recs)...)
		// The stale replayer publishes real records two days old, dated
		// now; a tenth dated honestly, which are too late to score.
		recs = nil
		for i := range simPerWin {
			ev := at(rStale)
			created := ev.Add(-48 * time.Hour)
			r := rec(rStale, sentence(rStale, 20), created, ev, ev.Add(time.Minute))
			if i%10 == 0 {
				r.event = created
			}
			w.truth.put(r)
			recs = append(recs, r)
		}
		w.log = append(w.log, stale.publish(t, recs)...)
		// The fabricator makes up plausible records the source never had.
		recs = nil
		for range simPerWin {
			ev := at(rFab)
			recs = append(recs, rec(rFab, sentence(rFab, 20), ev, ev, ev.Add(time.Minute)))
		}
		w.log = append(w.log, fab.publish(t, recs)...)
		// The volume spammer posts small edits of six texts (they exist at
		// the source: its own bots posted them).
		recs = nil
		for range 6 {
			text := sentence(rSpam, 20)
			for j := range simPerWin / 6 {
				ev := at(rSpam)
				v := text
				if j > 0 {
					v = edit(rSpam, text)
				}
				r := rec(rSpam, v, ev, ev, ev.Add(time.Minute))
				w.truth.put(r)
				recs = append(recs, r)
			}
		}
		w.log = append(w.log, spam.publish(t, recs)...)
		// The operator: honest records, on one key or split over five.
		parts := make([][]tweetRec, len(op))
		for i := range simPerWin {
			ev := at(rOp)
			r := rec(rOp, sentence(rOp, 20), ev, ev, ev.Add(honestDelay(rOp)))
			w.truth.put(r)
			parts[i%len(op)] = append(parts[i%len(op)], r)
		}
		for i, k := range op {
			w.log = append(w.log, k.publish(t, parts[i])...)
		}
	}
	sortLog(w.log)
	return w
}

// byRole sums the totals of each role's keys.
func (w *world) byRole(tot map[string]*total) map[string]*total {
	out := make(map[string]*total)
	for addr, tt := range tot {
		role := w.role[addr]
		o := out[role]
		if o == nil {
			o = &total{}
			out[role] = o
		}
		o.records += tt.records
		o.unique += tt.unique
		o.utility += tt.utility
		o.freshness += tt.freshness
		o.verified += tt.verified
		o.mismatched += tt.mismatched
		o.unverifiable += tt.unverifiable
	}
	return out
}

func TestSimulationCheatersEarnAtMostFivePercent(t *testing.T) {
	w := buildWorld(t, false)
	cfg := DefaultConfig()
	windows, s := replay(t, cfg, w.truth, w.log)
	roles := w.byRole(totals(windows))
	honest := roles["honest"].perRecord()
	t.Logf("%-12s %8s %8s %12s %12s %9s %9s", "role", "records", "unique", "utility", "per record", "vs honest", "mismatch")
	for _, role := range []string{"honest", "honest-fault", "operator", "duplicator", "stale", "fabricator", "spammer"} {
		tt := roles[role]
		t.Logf("%-12s %8d %8d %12.3f %12.5f %8.2f%% %9d", role, tt.records, tt.unique, tt.utility, tt.perRecord(), 100*tt.perRecord()/honest, tt.mismatched)
	}
	if honest < 0.5 {
		t.Fatalf("honest utility per record = %.3f, want > 0.5", honest)
	}
	for _, role := range []string{"duplicator", "stale", "fabricator", "spammer"} {
		if got := roles[role].perRecord(); got > 0.05*honest {
			t.Errorf("%s earns %.4f per record, more than 5%% of honest %.4f", role, got, honest)
		}
	}
	// Each cheater was stopped by the mechanism meant for it.
	if r := roles["duplicator"]; r.unique != 0 {
		t.Errorf("duplicator has %d unique records, want 0", r.unique)
	}
	if r := roles["fabricator"]; r.mismatched == 0 || r.verified != 0 {
		t.Errorf("fabricator: %d mismatched, %d verified; want some and none", r.mismatched, r.verified)
	}
	if r := roles["spammer"]; r.unique > 2*6*simWindows {
		t.Errorf("spammer has %d unique records, want at most %d", r.unique, 2*6*simWindows)
	}
	if r := roles["stale"]; r.freshness > 1e-6 || r.verified == 0 {
		t.Errorf("stale replayer: freshness %g, %d verified; want ~0 and some", r.freshness, r.verified)
	}
	if st := s.Stats(); st.LateDropped != simWindows*simPerWin/10 {
		t.Errorf("late dropped = %d, want %d", st.LateDropped, simWindows*simPerWin/10)
	}
}

func TestSimulationSybilEarnsNoMore(t *testing.T) {
	cfg := DefaultConfig()
	one := buildWorld(t, false)
	five := buildWorld(t, true)
	w1, _ := replay(t, cfg, one.truth, one.log)
	w5, _ := replay(t, cfg, five.truth, five.log)
	r1 := one.byRole(totals(w1))["operator"]
	r5 := five.byRole(totals(w5))["operator"]
	t.Logf("operator on 1 key: %d records, utility %.4f (freshness %.4f); on 5 keys: %d records, utility %.4f (freshness %.4f)",
		r1.records, r1.utility, r1.freshness, r5.records, r5.utility, r5.freshness)
	if r1.records != r5.records || r1.unique != r5.unique {
		t.Fatalf("the two worlds differ: %d/%d records, %d/%d unique", r1.records, r5.records, r1.unique, r5.unique)
	}
	if math.Abs(r1.freshness-r5.freshness) > 1e-9*r1.freshness {
		t.Errorf("unweighted utility depends on the split: %.9f on one key, %.9f on five", r1.freshness, r5.freshness)
	}
	if r5.utility > r1.utility*(1+1e-9) {
		t.Errorf("the sybil split earns %.6f, more than %.6f on one key", r5.utility, r1.utility)
	}
	if r1.utility < 0.5*float64(r1.records) {
		t.Errorf("operator earns %.3f for %d records; want an honest worker's utility", r1.utility, r1.records)
	}
}

func TestSimulationValidatorFaultCostsNothing(t *testing.T) {
	w := buildWorld(t, false)
	faulty := w.keys["honest-fault"][0].id.Address()
	cfg := DefaultConfig()
	clean, _ := replay(t, cfg, w.truth, w.log)
	// The validator's connector fails for this worker's records in
	// windows 3 to 7: every sample is unverifiable.
	from, to := t0.Add(30*time.Minute), t0.Add(80*time.Minute)
	w.truth.fault = func(env *schemas.Envelope) bool {
		et := env.GetTime().AsTime()
		return env.GetWorker() == faulty && !et.Before(from) && et.Before(to)
	}
	faultRun, _ := replay(t, cfg, w.truth, w.log)

	a, b := latest(clean), latest(faultRun)
	var unverif, windows int
	var ua, ub float64
	for k, wa := range a {
		if wa.GetWorker() != faulty {
			continue
		}
		wb := b[k]
		if wb == nil {
			t.Fatalf("window %s missing in the faulty run", k)
		}
		windows++
		unverif += int(wb.GetUnverifiable())
		ua += wa.GetUtility()
		ub += wb.GetUtility()
		if wa.GetUtility() != wb.GetUtility() {
			t.Errorf("window %s: utility %v with the fault, %v without (credibility %v, %v)", k, wb.GetUtility(), wa.GetUtility(), wb.GetCredibility(), wa.GetCredibility())
		}
	}
	t.Logf("honest worker, %d windows: utility %.6f without the fault, %.6f with it (%d samples unverifiable)", windows, ua, ub, unverif)
	if unverif == 0 {
		t.Fatal("the fault made no sample unverifiable")
	}
	if windows != simWindows {
		t.Fatalf("%d windows of the worker, want %d", windows, simWindows)
	}
}

func TestReplayIsByteIdentical(t *testing.T) {
	w := buildWorld(t, false)
	cfg := DefaultConfig()
	reg := schemas.Builtin()
	run := func() [][]byte {
		windows, _ := replay(t, cfg, w.truth, w.log)
		var out [][]byte
		for _, win := range windows {
			env, err := Envelope(reg, cfg.ValidatorID, win)
			if err != nil {
				t.Fatal(err)
			}
			b, err := schemas.MarshalEnvelope(env)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
		return out
	}
	first, second := run(), run()
	if len(first) == 0 || len(first) != len(second) {
		t.Fatalf("%d windows, then %d", len(first), len(second))
	}
	for i := range first {
		if !bytes.Equal(first[i], second[i]) {
			t.Fatalf("window %d differs between two replays of the same log", i)
		}
	}
}
