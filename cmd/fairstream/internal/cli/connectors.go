package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/connectors/discord"
	"github.com/fairstream/fairstream/connectors/identity"
	"github.com/fairstream/fairstream/connectors/podcast"
	"github.com/fairstream/fairstream/connectors/telegram"
	"github.com/fairstream/fairstream/connectors/twitter"
	"github.com/fairstream/fairstream/connectors/web"
)

// connectorDef wires one connector to the configuration.
type connectorDef struct {
	name    string
	summary string
	// enabled reports whether `fairstream dev` runs it.
	enabled  func(c Config) bool
	validate func(c Config) error
	// build returns the source; it refuses unusable credentials.
	build func(c Config, client *connectors.Client) (connectors.Source, error)
	// httpClient, if set, is the transport the source's client uses.
	httpClient *http.Client
}

// connectorDefs lists every connector the binary can run.
func connectorDefs() []connectorDef {
	return []connectorDef{
		{
			name:     twitter.Name,
			summary:  "X API v2: recent search, timelines, profiles, trends → raw.twitter.v1, .profiles.v1, .trends.v1",
			enabled:  func(c Config) bool { return c.Connectors.Twitter.Enabled },
			validate: func(c Config) error { return c.Connectors.Twitter.Validate() },
			build: func(c Config, client *connectors.Client) (connectors.Source, error) {
				return twitter.New(c.Connectors.Twitter, client)
			},
		},
		{
			name:     discord.Name,
			summary:  "Discord REST API: channel and thread messages → raw.discord.v1",
			enabled:  func(c Config) bool { return c.Connectors.Discord.Enabled },
			validate: func(c Config) error { return c.Connectors.Discord.Validate() },
			build: func(c Config, client *connectors.Client) (connectors.Source, error) {
				return discord.New(c.Connectors.Discord, client)
			},
		},
		{
			name:     web.Name,
			summary:  "a polite crawler: robots.txt, per-host delay, conditional GETs → raw.web.v1",
			enabled:  func(c Config) bool { return c.Connectors.Web.Enabled },
			validate: func(c Config) error { return c.Connectors.Web.Validate() },
			build: func(c Config, client *connectors.Client) (connectors.Source, error) {
				return web.New(c.Connectors.Web, client)
			},
			// The crawler follows redirects itself, checking hosts and robots.txt.
			httpClient: web.NoRedirects(nil),
		},
		{
			name:     podcast.Name,
			summary:  "RSS and Atom podcast feeds, audio stored content-addressed → raw.podcast.v1",
			enabled:  func(c Config) bool { return c.Connectors.Podcast.Enabled },
			validate: func(c Config) error { return c.Connectors.Podcast.Validate() },
			build: func(c Config, client *connectors.Client) (connectors.Source, error) {
				pc := c.Connectors.Podcast
				if pc.BlobDir == "" {
					pc.BlobDir = filepath.Join(c.DataDir, "blobs")
				}
				return podcast.New(pc, client, podcast.WithUserAgent(c.Connectors.HTTP.UserAgent))
			},
		},
		{
			name:     telegram.Name,
			summary:  "Telegram Bot API getUpdates → raw.telegram.v1",
			enabled:  func(c Config) bool { return c.Connectors.Telegram.Enabled },
			validate: func(c Config) error { return c.Connectors.Telegram.Validate() },
			build: func(c Config, client *connectors.Client) (connectors.Source, error) {
				return telegram.New(c.Connectors.Telegram, client)
			},
		},
	}
}

func connectorNames() []string {
	var names []string
	for _, d := range connectorDefs() {
		names = append(names, d.name)
	}
	return names
}

func lookupConnector(name string) (connectorDef, error) {
	for _, d := range connectorDefs() {
		if d.name == name {
			return d, nil
		}
	}
	return connectorDef{}, exitError{exitUsage, fmt.Errorf("unknown connector %q (known: %s)", name, strings.Join(connectorNames(), ", "))}
}

// loadIdentity decrypts the worker's key.
func (a *app) loadIdentity() (*identity.Identity, error) {
	id, err := identity.Load(a.cfg.keyFile(), a.cfg.Worker.Passphrase)
	if err != nil {
		if errors.Is(err, identity.ErrNoKey) {
			return nil, exitError{exitUsage, fmt.Errorf("%w (the worker key signs every event; set worker.key_file to use another file)", err)}
		}
		return nil, exitError{exitUsage, err}
	}
	return id, nil
}

// source builds a connector's source, checking its credentials.
func (a *app) source(def connectorDef) (connectors.Source, error) {
	client := connectors.NewClient(a.cfg.Connectors.HTTP, def.httpClient, a.log.With("connector", def.name))
	src, err := def.build(a.cfg, client)
	if err != nil {
		return nil, exitError{exitUsage, err}
	}
	return src, nil
}

// worker builds the runtime for a source.
func (a *app) worker(src connectors.Source, id *identity.Identity) (*connectors.Worker, error) {
	return connectors.NewWorker(a.cfg.Kafka, a.cfg.Connectors.Config, src, id,
		connectors.WithLogger(a.log), connectors.WithMetrics(a.reg), connectors.WithStreamsOptions(a.streamOpts()...))
}

func (a *app) connectorCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "connector",
		Short: "Run or list connectors (the worker's sources)",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the connectors",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, d := range connectorDefs() {
				fmt.Fprintf(a.stdout, "%-10s %s\n", d.name, d.summary)
			}
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "run NAME",
		Short: "Run one connector against the configured Kafka cluster",
		Long: `Run one connector until SIGINT or SIGTERM: fetch its streams, sign every event
with the worker key (worker.key_file, passphrase from FAIRSTREAM_WORKER_PASSPHRASE),
and write pages with their cursors in Kafka transactions. A restarted
connector resumes from its cursors. It stops with an error naming the
setting when the source refuses its credentials.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			def, err := lookupConnector(args[0])
			if err != nil {
				return err
			}
			if err := a.setup(); err != nil {
				return err
			}
			src, err := a.source(def)
			if err != nil {
				return err
			}
			id, err := a.loadIdentity()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			stopMetrics, _, err := a.serveMetrics(ctx)
			if err != nil {
				return err
			}
			defer stopMetrics()
			w, err := a.worker(src, id)
			if err != nil {
				return err
			}
			return runConnector(ctx, w)
		},
	})
	return cmd
}

func runConnector(ctx context.Context, w *connectors.Worker) error {
	if err := w.Run(ctx); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}
