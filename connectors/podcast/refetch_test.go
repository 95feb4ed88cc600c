package podcast_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/connectors/connectortest"
	"github.com/fairstream/fairstream/connectors/podcast"
	"github.com/fairstream/fairstream/schemas"
	"github.com/fairstream/fairstream/schemas/fairstreampb"
)

// refetchHarness serves the fixture behind faults, to a source whose
// client retries once, quickly.
func refetchHarness(t *testing.T) (*harness, *connectortest.Faults) {
	t.Helper()
	fx := newFixture(t)
	faults := &connectortest.Faults{}
	srv := httptest.NewServer(faults.Wrap(fx))
	t.Cleanup(srv.Close)
	cfg := testConfig(t, srv.URL)
	hc := connectors.DefaultHTTPConfig()
	hc.MaxRetries = 1
	hc.BackoffInitial = time.Millisecond
	hc.BackoffMax = 5 * time.Millisecond
	src, err := podcast.New(cfg, connectors.NewClient(hc, srv.Client(), nil), podcast.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	return &harness{fx: fx, srv: srv, cfg: cfg, src: src}, faults
}

func envelope(t *testing.T, m proto.Message) *schemas.Envelope {
	t.Helper()
	env, err := schemas.Builtin().Wrap(m, schemas.Meta{Source: podcast.Name, Worker: "w1"})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func sentinel(err error) string {
	switch nf, sf := errors.Is(err, connectors.ErrNotFound), errors.Is(err, connectors.ErrSourceFault); {
	case nf && sf:
		return "both"
	case nf:
		return "not found"
	case sf:
		return "source fault"
	}
	return "neither"
}

func TestRefetchMapsAsFetchDoes(t *testing.T) {
	h, _ := refetchHarness(t)
	n := 0
	for _, feed := range feeds {
		d := drain(t, h.src, h.stream(t, feed), connectors.Position{})
		if len(d.episodes) == 0 {
			t.Fatalf("%s: no episodes", feed)
		}
		for _, orig := range d.episodes {
			got, err := h.src.Refetch(context.Background(), envelope(t, orig))
			if err != nil {
				t.Fatalf("Refetch %q of %s: %v", orig.GetGuid(), feed, err)
			}
			ep, ok := got.(*fairstreampb.RawPodcastEpisode)
			if !ok {
				t.Fatalf("Refetch gave a %T", got)
			}
			if ep.GetTitle() != orig.GetTitle() || ep.GetDescription() != orig.GetDescription() ||
				!ep.GetPublished().AsTime().Equal(orig.GetPublished().AsTime()) {
				t.Errorf("%q: refetched %q (%s), fetched %q (%s)", orig.GetGuid(), ep.GetTitle(), ep.GetPublished().AsTime(),
					orig.GetTitle(), orig.GetPublished().AsTime())
			}
			if ep.GetAudioUri() != "" || ep.GetAudioSha256() != nil || ep.GetSkippedReason() != "" {
				t.Errorf("%q: refetch reports audio: %q %x %q", orig.GetGuid(), ep.GetAudioUri(), ep.GetAudioSha256(), ep.GetSkippedReason())
			}
			want := proto.Clone(orig).(*fairstreampb.RawPodcastEpisode)
			want.AudioUri, want.AudioSha256, want.SkippedReason = "", nil, ""
			if !proto.Equal(ep, want) {
				t.Errorf("%q maps differently when refetched:\n got %v\nwant %v", orig.GetGuid(), ep, want)
			}
			n++
		}
	}
	t.Logf("%d episodes of %d feeds refetched", n, len(feeds))
}

func TestRefetchErrors(t *testing.T) {
	ctx := context.Background()
	episode := func(h *harness, feed, guid string) *fairstreampb.RawPodcastEpisode {
		return &fairstreampb.RawPodcastEpisode{FeedUrl: h.srv.URL + "/feeds/" + feed, Guid: guid, Title: "claimed"}
	}
	var existing string // a GUID of fair-ai.xml
	{
		h, _ := refetchHarness(t)
		d := drain(t, h.src, h.stream(t, "fair-ai.xml"), connectors.Position{})
		existing = d.episodes[0].GetGuid()
	}

	t.Run("no such episode", func(t *testing.T) {
		h, _ := refetchHarness(t)
		_, err := h.src.Refetch(ctx, envelope(t, episode(h, "fair-ai.xml", "fabricated-episode-1")))
		if sentinel(err) != "not found" {
			t.Fatalf("an episode the feed does not list: %v (%s), want ErrNotFound", err, sentinel(err))
		}
	})
	t.Run("no such feed", func(t *testing.T) {
		h, _ := refetchHarness(t)
		_, err := h.src.Refetch(ctx, envelope(t, episode(h, "gone.xml", existing)))
		if sentinel(err) != "not found" {
			t.Fatalf("a feed that answers 404: %v (%s), want ErrNotFound", err, sentinel(err))
		}
	})
	t.Run("not a feed URL", func(t *testing.T) {
		h, _ := refetchHarness(t)
		_, err := h.src.Refetch(ctx, envelope(t, &fairstreampb.RawPodcastEpisode{FeedUrl: "feed.xml", Guid: existing}))
		if sentinel(err) != "not found" {
			t.Fatalf("a relative feed URL: %v (%s), want ErrNotFound", err, sentinel(err))
		}
	})
	t.Run("503", func(t *testing.T) {
		h, faults := refetchHarness(t)
		down := connectortest.Fault{Status: http.StatusServiceUnavailable, ContentType: "text/html", Body: "<html><body>503 Service Temporarily Unavailable</body></html>"}
		faults.Queue(down, down)
		_, err := h.src.Refetch(ctx, envelope(t, episode(h, "fair-ai.xml", existing)))
		if sentinel(err) != "source fault" {
			t.Fatalf("a 503: %v (%s), want ErrSourceFault", err, sentinel(err))
		}
	})
	t.Run("not a feed", func(t *testing.T) {
		h, faults := refetchHarness(t)
		faults.Queue(connectortest.Fault{Status: http.StatusOK, ContentType: "text/html", Body: "<!DOCTYPE html><html><body>Parked domain</body></html>"})
		_, err := h.src.Refetch(ctx, envelope(t, episode(h, "fair-ai.xml", existing)))
		if sentinel(err) != "source fault" {
			t.Fatalf("an HTML page for the feed: %v (%s), want ErrSourceFault", err, sentinel(err))
		}
	})
	t.Run("401", func(t *testing.T) {
		h, faults := refetchHarness(t)
		faults.Queue(connectortest.Fault{Status: http.StatusUnauthorized, ContentType: "text/plain", Body: "Unauthorized"})
		_, err := h.src.Refetch(ctx, envelope(t, episode(h, "fair-ai.xml", existing)))
		if sentinel(err) != "neither" || !errors.Is(err, connectors.ErrAuth) {
			t.Fatalf("a 401: %v (%s), want ErrAuth and neither sentinel", err, sentinel(err))
		}
	})
	t.Run("other record types", func(t *testing.T) {
		h, _ := refetchHarness(t)
		_, err := h.src.Refetch(ctx, envelope(t, &fairstreampb.RawWebPage{Url: h.srv.URL + "/feeds/fair-ai.xml"}))
		if sentinel(err) != "neither" || !errors.Is(err, connectors.ErrNotRefetchable) || len(h.fx.requested("/feeds/fair-ai.xml")) != 0 {
			t.Fatalf("a web page: %v (%s), want ErrNotRefetchable", err, sentinel(err))
		}
	})
}
