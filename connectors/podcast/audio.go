package podcast

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/fairstream/fairstream/connectors"
)

// audioAliases maps media types seen in real feeds to the standard ones
// that audio_types lists.
var audioAliases = map[string]string{
	"audio/mp3":       "audio/mpeg",
	"audio/x-mp3":     "audio/mpeg",
	"audio/mpeg3":     "audio/mpeg",
	"audio/x-mpeg":    "audio/mpeg",
	"audio/x-mpeg-3":  "audio/mpeg",
	"audio/mpg":       "audio/mpeg",
	"audio/m4a":       "audio/x-m4a",
	"audio/x-aac":     "audio/aac",
	"audio/x-wav":     "audio/wav",
	"audio/wave":      "audio/wav",
	"audio/vnd.wave":  "audio/wav",
	"audio/x-opus":    "audio/opus",
	"application/ogg": "audio/ogg",
}

// extByType is the file extension a blob of each audio type gets.
var extByType = map[string]string{
	"audio/mpeg":  "mp3",
	"audio/mp4":   "m4a",
	"audio/x-m4a": "m4a",
	"audio/aac":   "aac",
	"audio/ogg":   "ogg",
	"audio/opus":  "opus",
	"audio/wav":   "wav",
	"audio/flac":  "flac",
}

// typeByExt guesses the type of an enclosure that declares none from its
// URL.
var typeByExt = map[string]string{
	".mp3": "audio/mpeg", ".m4a": "audio/x-m4a", ".mp4": "audio/mp4", ".aac": "audio/aac",
	".ogg": "audio/ogg", ".oga": "audio/ogg", ".opus": "audio/opus", ".wav": "audio/wav", ".flac": "audio/flac",
}

// mediaType normalizes a Content-Type or enclosure type: lower case, no
// parameters, aliases resolved.
func mediaType(t string) string {
	t = strings.TrimSpace(t)
	if t == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(t)
	if err != nil {
		mt, _, _ = strings.Cut(strings.ToLower(t), ";")
		mt = strings.TrimSpace(mt)
	}
	if a, ok := audioAliases[mt]; ok {
		return a
	}
	return mt
}

// generic says a served type tells nothing about the content.
func generic(mt string) bool {
	return mt == "" || mt == "application/octet-stream" || mt == "binary/octet-stream" || mt == "application/binary"
}

// errTooLarge ends a download that grew past max_audio_bytes.
var errTooLarge = errors.New("over max_audio_bytes")

// capReader fails with errTooLarge once more than left bytes were read.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n, errTooLarge
	}
	return n, err
}

// audio is the outcome of one enclosure: stored, or skipped with a reason.
type audio struct {
	blob    Blob
	skipped string
}

// download fetches an episode's enclosure into the blob store, unless a
// limit skips it. An error is transient (a 5xx, a 429, a network failure,
// a full disk): the stream backs off and the episode is tried again.
func (s *Source) download(ctx context.Context, ep *episode) (audio, error) {
	enc := ep.raw.GetEnclosure()
	switch {
	case !s.cfg.DownloadAudio:
		return audio{skipped: "audio download disabled (download_audio is false)"}, nil
	case enc.GetUrl() == "":
		return audio{skipped: "no enclosure"}, nil
	case ep.duration > s.cfg.MaxDuration:
		return audio{skipped: fmt.Sprintf("duration %s (itunes:duration) is over max_duration %s", ep.duration, s.cfg.MaxDuration)}, nil
	}
	declared := mediaType(enc.GetType())
	if declared != "" && !s.allowed[declared] {
		return audio{skipped: fmt.Sprintf("enclosure type %s is not in audio_types", declared)}, nil
	}
	if enc.GetLength() > s.cfg.MaxAudioBytes {
		return audio{skipped: fmt.Sprintf("enclosure declares %d bytes, over max_audio_bytes %d", enc.GetLength(), s.cfg.MaxAudioBytes)}, nil
	}
	u, err := url.Parse(enc.GetUrl())
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return audio{skipped: fmt.Sprintf("enclosure URL %q is not http(s)", enc.GetUrl())}, nil
	}

	dctx, cancel := context.WithTimeout(ctx, s.cfg.DownloadTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(dctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return audio{skipped: fmt.Sprintf("enclosure URL %q: %v", enc.GetUrl(), err)}, nil
	}
	req.Header.Set("User-Agent", s.userAgent)
	start := time.Now()
	resp, err := s.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return audio{}, ctx.Err()
		}
		return audio{}, fmt.Errorf("download %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests:
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if wait, ok := connectors.RetryAfter(resp.Header, body, time.Now()); ok {
			return audio{}, &connectors.RateLimitError{URL: u.Redacted(), Until: time.Now().Add(wait)}
		}
		return audio{}, fmt.Errorf("download %s: 429 Too Many Requests", u.Redacted())
	case code >= 500 || code == http.StatusRequestTimeout:
		return audio{}, fmt.Errorf("download %s: server error %d %s", u.Redacted(), code, http.StatusText(code))
	case code < 200 || code > 299:
		return audio{skipped: fmt.Sprintf("enclosure answered %d %s", code, http.StatusText(code))}, nil
	}
	served := mediaType(resp.Header.Get("Content-Type"))
	if generic(served) {
		served = declared
	}
	if served == "" {
		served = typeByExt[strings.ToLower(path.Ext(u.Path))]
	}
	if !s.allowed[served] {
		what := served
		if what == "" {
			what = "no type"
		}
		return audio{skipped: fmt.Sprintf("enclosure served as %s, not in audio_types", what)}, nil
	}
	if resp.ContentLength > s.cfg.MaxAudioBytes {
		return audio{skipped: fmt.Sprintf("enclosure is %d bytes (Content-Length), over max_audio_bytes %d", resp.ContentLength, s.cfg.MaxAudioBytes)}, nil
	}
	ext := extByType[served]
	if ext == "" {
		ext = path.Ext(u.Path)
	}
	blob, err := s.store.Put(dctx, &capReader{r: resp.Body, left: s.cfg.MaxAudioBytes}, ext)
	switch {
	case errors.Is(err, errTooLarge):
		return audio{skipped: fmt.Sprintf("enclosure is larger than max_audio_bytes %d", s.cfg.MaxAudioBytes)}, nil
	case err != nil && ctx.Err() != nil:
		return audio{}, ctx.Err()
	case err != nil:
		return audio{}, fmt.Errorf("download %s: %w", u.Redacted(), err)
	}
	s.metrics.downloads.WithLabelValues("stored").Inc()
	s.metrics.bytes.Add(float64(blob.Size))
	s.log.Info("audio stored", "feed", ep.raw.GetFeedUrl(), "guid", ep.raw.GetGuid(), "bytes", blob.Size,
		"took", time.Since(start).Round(time.Millisecond), "sha256", hex.EncodeToString(blob.SHA256[:]), "uri", blob.URI)
	return audio{blob: blob}, nil
}
