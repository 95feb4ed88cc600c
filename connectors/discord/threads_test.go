package discord_test

import (
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/connectors/discord"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// newID makes a snowflake for a time after the fixtures.
func newID(t time.Time, inc int) string {
	return strconv.FormatUint(uint64(t.UnixMilli()-1420070400000)<<22|uint64(inc), 10)
}

func ids(evs []connectors.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Payload.(*fairstreampb.RawDiscordMessage).GetId())
	}
	return out
}

func TestPaginationFollowsAfter(t *testing.T) {
	f, src := serve(t, func(c *discord.Config) { c.Limit = 5; c.IncludeThreads = false })
	st := src.Streams()[0]
	var got []connectors.Event
	pos := connectors.Position{}
	var pages []connectors.Page
	for range 10 {
		page, err := src.Fetch(t.Context(), st, pos)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, page)
		got = append(got, page.Events...)
		pos = page.Next
		if !page.More {
			break
		}
	}
	// 10 messages, 5 a page: two full pages (each More), then an empty one.
	if len(pages) != 3 || len(pages[0].Events) != 5 || !pages[0].More || len(pages[1].Events) != 5 || !pages[1].More ||
		len(pages[2].Events) != 0 || pages[2].More || pages[2].Done {
		t.Fatalf("pages: %d, %+v", len(pages), pages)
	}
	if pages[0].Next["after"] != m5 || pos["after"] != m10 {
		t.Fatalf("cursors %s then %s, want %s then %s (the newest ID of each page)", pages[0].Next["after"], pos["after"], m5, m10)
	}
	if !slices.IsSortedFunc(got, func(a, b connectors.Event) int { return a.Time.Compare(b.Time) }) {
		t.Fatalf("events not oldest first: %v", ids(got))
	}
	want := []string{
		"/channels/" + chanA,
		"/channels/" + chanA + "/messages?after=0&limit=5",
		"/channels/" + chanA + "/messages?after=" + m5 + "&limit=5",
		"/channels/" + chanA + "/messages?after=" + m10 + "&limit=5",
	}
	if p := f.paths(); !slices.Equal(p, want) {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(p, "\n"), strings.Join(want, "\n"))
	}
	for _, r := range f.log() {
		if r.header.Get("Authorization") != "Bot "+token || !strings.HasPrefix(r.header.Get("User-Agent"), "DiscordBot (https://github.com/fairstream/fairstream, ") {
			t.Fatalf("request headers: %v", r.header)
		}
	}
	// The empty channel: one empty page.
	evs, next, _ := poll(t, src, src.Streams()[1], connectors.Position{})
	if len(evs) != 0 || next["after"] != "" || next["guild_id"] != guild {
		t.Fatalf("empty channel: %d events, cursor %v", len(evs), next)
	}
}

func TestThreadsAreWalkedAndResumed(t *testing.T) {
	f, src := serve(t)
	st := src.Streams()[0]
	evs, pos, _ := poll(t, src, st, connectors.Position{})
	if len(evs) != wantA {
		t.Fatalf("first poll: %d events, want %d", len(evs), wantA)
	}
	// The archived threads (four, three a page) were walked in two pages.
	var archived []string
	for _, p := range f.paths() {
		if strings.Contains(p, "/threads/archived/public") {
			archived = append(archived, p)
		}
	}
	t4Archived := "2025-11-18T08:09:00.000000+00:00"
	if len(archived) != 2 || archived[0] != "/channels/"+chanA+"/threads/archived/public?limit=3" ||
		archived[1] != "/channels/"+chanA+"/threads/archived/public?before="+url.QueryEscape(t4Archived)+"&limit=3" {
		t.Fatalf("archived listings: %v", archived)
	}
	for _, p := range f.paths() {
		if strings.Contains(p, threadT6) || strings.Contains(p, threadT7) {
			t.Fatalf("read another channel's or a private thread: %s", p)
		}
	}
	if pos["after"] != m10 || pos["queue"] != "" || pos["archived_before"] != "" || pos["archived_since"] != "2025-11-21T13:00:00Z" {
		t.Fatalf("position after the first poll: %v", pos)
	}

	// Nothing new: one page of the channel, the two listings, no thread
	// read again (T5's listed last message was deleted: it is not behind).
	before := len(f.log())
	evs, pos, _ = poll(t, src, st, pos)
	if len(evs) != 0 {
		t.Fatalf("second poll: %v", ids(evs))
	}
	want := []string{
		"/channels/" + chanA + "/messages?after=" + m10 + "&limit=3",
		"/guilds/" + guild + "/threads/active",
		"/channels/" + chanA + "/threads/archived/public?limit=3",
	}
	if p := f.paths()[before:]; !slices.Equal(p, want) {
		t.Fatalf("second poll requests:\n%s\nwant:\n%s", strings.Join(p, "\n"), strings.Join(want, "\n"))
	}

	// New messages in the channel, in an archived thread (which unarchives
	// it) and in the thread whose last message was deleted.
	later := time.Date(2025, 11, 26, 10, 0, 0, 0, time.UTC)
	inA, inT2, inT5 := newID(later, 1), newID(later.Add(time.Minute), 2), newID(later.Add(2*time.Minute), 3)
	f.post(chanA, inA, "177328462233731072", "back again ✨")
	f.post(threadT2, inT2, "177328462233731072", "Reopening: the envelope spec changed.")
	f.post(threadT5, inT5, "177328462233731072", "Meeting is on 📅")
	evs, pos, _ = poll(t, src, st, pos)
	got := payloads(t, evs)
	if len(got) != 3 || got[inA].GetChannelId() != chanA || got[inA].GetThreadId() != "" ||
		got[inT2].GetThreadId() != threadT2 || got[inT2].GetContent() != "Reopening: the envelope spec changed." ||
		got[inT5].GetThreadId() != threadT5 {
		t.Fatalf("third poll: %v", got)
	}
	if evs, _, _ = poll(t, src, st, pos); len(evs) != 0 {
		t.Fatalf("fourth poll: %v", ids(evs))
	}
}

func TestDeletedThreadIsSkipped(t *testing.T) {
	f, src := serve(t)
	st := src.Streams()[0]
	// Fetch until the threads are queued, then delete one of them.
	pos := connectors.Position{}
	for pos["queue"] == "" {
		page, err := src.Fetch(t.Context(), st, pos)
		if err != nil {
			t.Fatal(err)
		}
		pos = page.Next
	}
	f.mu.Lock()
	delete(f.chans, threadT1)
	delete(f.msgs, threadT1)
	f.mu.Unlock()
	evs, pos, _ := poll(t, src, st, pos)
	for _, e := range evs {
		if e.Key == threadT1 {
			t.Fatalf("a message of the deleted thread: %v", e.Payload)
		}
	}
	if len(evs) != wantA-10-4 {
		t.Fatalf("%d thread messages, want %d (every thread but the deleted one)", len(evs), wantA-10-4)
	}
	if pos["queue"] != "" {
		t.Fatalf("queue left: %v", pos)
	}
	if !slices.Contains(f.paths(), "/channels/"+threadT1+"/messages?after=0&limit=3") {
		t.Fatalf("the deleted thread was not tried: %v", f.paths())
	}
}

func job(params map[string]string) *fairstreampb.Job {
	return &fairstreampb.Job{Id: "01JDISCORDJOB", Connector: discord.Name, Kind: discord.JobKind, Params: params}
}

// runJob fetches a job's stream until it is done.
func runJob(t *testing.T, src connectors.Source, j *fairstreampb.Job) []connectors.Event {
	t.Helper()
	st, err := src.StreamForJob(j)
	if err != nil {
		t.Fatal(err)
	}
	st.ID, st.JobID = "job:"+j.GetId(), j.GetId()
	var all []connectors.Event
	pos := connectors.Position{}
	for range 100 {
		page, err := src.Fetch(t.Context(), st, pos)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Events...)
		pos = page.Next
		if page.Done {
			if page.More {
				t.Fatal("a page both Done and More")
			}
			return all
		}
		if !page.More {
			t.Fatalf("a job's page neither More nor Done: %+v", page)
		}
	}
	t.Fatal("the job never finished")
	return nil
}

func TestJobReadsAForumThroughItsPosts(t *testing.T) {
	f, src := serve(t)
	evs := runJob(t, src, job(map[string]string{"channel_id": forum}))
	got := payloads(t, evs)
	if len(got) != 2 || got[postP1].GetThreadId() != postP1 || got[postP1].GetContent() != "How do I rotate my worker key? 🔑" ||
		got["1441340357345411072"].GetReferencedMessageId() != postP1 {
		t.Fatalf("forum post: %v", got)
	}
	for _, p := range f.paths() {
		if strings.HasPrefix(p, "/channels/"+forum+"/messages") {
			t.Fatalf("a forum's own messages were asked for: %s", p)
		}
	}
}

func TestJobAfterAMessage(t *testing.T) {
	_, src := serve(t)
	evs := runJob(t, src, job(map[string]string{"channel_id": chanA, "after": m7, "include_threads": "false"}))
	if got := ids(evs); !slices.Equal(got, []string{"1441035347558531072", m9, m10}) {
		t.Fatalf("job after %s: %v", m7, got)
	}
	// With threads: only their messages after it too (T2's), and no walk
	// through threads archived before it.
	f, src := serve(t)
	evs = runJob(t, src, job(map[string]string{"channel_id": chanA, "after": m7}))
	got := payloads(t, evs)
	if len(got) != 5 || got["1441051705344131072"].GetThreadId() != threadT2 {
		t.Fatalf("job with threads after %s: %v", m7, ids(evs))
	}
	for _, p := range f.paths() {
		if strings.Contains(p, "/channels/"+threadT3+"/") || strings.Contains(p, "before=") {
			t.Fatalf("read what was archived before the job's start: %s", p)
		}
	}
}

func TestJobReadsAThread(t *testing.T) {
	f, src := serve(t)
	evs := runJob(t, src, job(map[string]string{"channel_id": threadT1}))
	if len(evs) != 4 {
		t.Fatalf("%d messages, want 4", len(evs))
	}
	for _, e := range evs {
		if m := e.Payload.(*fairstreampb.RawDiscordMessage); m.GetThreadId() != threadT1 || m.GetChannelId() != threadT1 {
			t.Fatalf("thread message: %v", m)
		}
	}
	for _, p := range f.paths() {
		if strings.Contains(p, "/threads/") {
			t.Fatalf("a thread's threads were listed: %s", p)
		}
	}
}

func TestStreamForJobRefuses(t *testing.T) {
	_, src := serve(t)
	for _, j := range []*fairstreampb.Job{
		{Id: "1", Connector: discord.Name, Kind: "search", Params: map[string]string{"query": "fair"}},
		job(nil),
		job(map[string]string{"channel_id": "#fair-ai"}),
		job(map[string]string{"channel_id": chanA, "after": "yesterday"}),
		job(map[string]string{"channel_id": chanA, "include_threads": "maybe"}),
	} {
		if _, err := src.StreamForJob(j); !errors.Is(err, connectors.ErrUnsupportedJob) {
			t.Errorf("job %v: %v", j, err)
		}
	}
	st, err := src.StreamForJob(job(map[string]string{"channel_id": chanA, "include_threads": "0"}))
	if err != nil || st.Params["channel_id"] != chanA || st.Params["include_threads"] != "false" {
		t.Fatalf("%+v, %v", st, err)
	}
}
