package podcast

import (
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strings"
	"time"
)

// Config configures the connector (connectors.podcast).
type Config struct {
	// Enabled runs it in `fairstream dev`.
	Enabled bool `mapstructure:"enabled"`
	// Feeds are the RSS or Atom feed URLs followed continuously; more come
	// as `feed` jobs.
	Feeds []string `mapstructure:"feeds"`
	// BlobDir is where downloaded audio is stored, content-addressed
	// (<blob_dir>/sha256/<aa>/<hash>.<ext>). Empty means <data_dir>/blobs;
	// the CLI fills it in.
	BlobDir string `mapstructure:"blob_dir"`
	// DownloadAudio downloads each episode's enclosure; off, episodes are
	// recorded with skipped_reason "audio download disabled".
	DownloadAudio bool `mapstructure:"download_audio"`
	// MaxAudioBytes skips an enclosure that declares, announces
	// (Content-Length) or turns out to be larger.
	MaxAudioBytes int64 `mapstructure:"max_audio_bytes"`
	// MaxDuration skips an episode whose itunes:duration is longer. An
	// episode without itunes:duration is not checked.
	MaxDuration time.Duration `mapstructure:"max_duration"`
	// AudioTypes are the media types downloaded; an enclosure of another
	// type (video/mp4, text/html) is skipped.
	AudioTypes []string `mapstructure:"audio_types"`
	// MaxEpisodesPerFetch bounds the new episodes one fetch of a feed
	// emits (and downloads); the rest follow at once in further pages.
	MaxEpisodesPerFetch int `mapstructure:"max_episodes_per_fetch"`
	// DownloadTimeout bounds one enclosure download.
	DownloadTimeout time.Duration `mapstructure:"download_timeout"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		DownloadAudio:       true,
		MaxAudioBytes:       200 << 20,
		MaxDuration:         4 * time.Hour,
		AudioTypes:          []string{"audio/mpeg", "audio/mp4", "audio/x-m4a", "audio/aac", "audio/ogg", "audio/opus", "audio/wav"},
		MaxEpisodesPerFetch: 20,
		DownloadTimeout:     30 * time.Minute,
	}
}

// Validate reports invalid settings, naming their keys.
func (c Config) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, f := range c.Feeds {
		if err := checkFeedURL(f); err != nil {
			errs = append(errs, fmt.Errorf("feeds[%d]: %w", i, err))
		} else if seen[f] {
			errs = append(errs, fmt.Errorf("feeds[%d]: %q is listed twice", i, f))
		}
		seen[f] = true
	}
	if c.MaxAudioBytes <= 0 {
		errs = append(errs, fmt.Errorf("max_audio_bytes: must be > 0, got %d", c.MaxAudioBytes))
	}
	if c.MaxDuration <= 0 {
		errs = append(errs, fmt.Errorf("max_duration: must be > 0, got %s", c.MaxDuration))
	}
	if c.DownloadAudio && len(c.AudioTypes) == 0 {
		errs = append(errs, errors.New("audio_types: must list at least one media type while download_audio is true"))
	}
	for i, t := range c.AudioTypes {
		if mt, _, err := mime.ParseMediaType(t); err != nil || !strings.Contains(mt, "/") {
			errs = append(errs, fmt.Errorf("audio_types[%d]: %q is not a media type (audio/mpeg)", i, t))
		}
	}
	if c.MaxEpisodesPerFetch < 1 || c.MaxEpisodesPerFetch > 1000 {
		errs = append(errs, fmt.Errorf("max_episodes_per_fetch: must be between 1 and 1000, got %d", c.MaxEpisodesPerFetch))
	}
	if c.DownloadTimeout <= 0 {
		errs = append(errs, fmt.Errorf("download_timeout: must be > 0, got %s", c.DownloadTimeout))
	}
	return errors.Join(errs...)
}

// checkFeedURL accepts an absolute http(s) URL.
func checkFeedURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) feed URL", s)
	}
	return nil
}
