package cli

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fairstream/fairstream/connectors"
	"github.com/fairstream/fairstream/connectors/identity"
	"github.com/fairstream/fairstream/processors/validator"
)

// ValidatorConfig is the validator's section: the scoring and its run
// settings, and the key it signs its outputs with.
type ValidatorConfig struct {
	validator.Config `mapstructure:",squash"`
	// Identity locates the validator's key (default
	// <data_dir>/validator.key; passphrase from
	// FAIRSTREAM_VALIDATOR_IDENTITY_PASSPHRASE).
	Identity identity.Config `mapstructure:"identity"`
}

// devValidatorPassphrase encrypts the validator key `fairstream dev`
// creates when validator.identity.passphrase is empty. It is public: such
// a key protects nothing but a dev stack.
const devValidatorPassphrase = "fairstream-dev-validator"

// validatorKeyFile is the validator's key file.
func (c Config) validatorKeyFile() string {
	if c.Validator.Identity.KeyFile != "" {
		return c.Validator.Identity.KeyFile
	}
	return filepath.Join(c.DataDir, "validator.key")
}

// validatorDef runs the validator scoring processor.
func validatorDef() processorDef {
	return processorDef{
		name:    validator.Name,
		summary: "raw.* + jobs → scores.windows.v1 (+ .contributions, .verifications): per-worker utility windows, signed by the validator key",
		build: func(a *app) ([]component, error) {
			p, err := a.buildValidator()
			if err != nil {
				return nil, err
			}
			return []component{p}, nil
		},
	}
}

// loadValidatorIdentity decrypts the validator's key. In dev (create set)
// a missing key is created, so that `make run` needs no setup.
func (a *app) loadValidatorIdentity(create bool) (*identity.Identity, error) {
	path := a.cfg.validatorKeyFile()
	pass := a.cfg.Validator.Identity.Passphrase
	if pass == "" {
		// The key `fairstream dev` makes when no passphrase is set, so
		// that `make run` needs no setup (and `keys show --validator`
		// opens it).
		pass = devValidatorPassphrase
	}
	id, err := identity.Load(path, pass)
	if errors.Is(err, identity.ErrNoKey) && create {
		if id, err = identity.Generate(); err != nil {
			return nil, err
		}
		if err := id.Save(path, pass, identity.LightScryptN, false); err != nil {
			return nil, err
		}
		if pass == devValidatorPassphrase {
			a.log.Warn("created the dev validator key with the well-known dev passphrase; set FAIRSTREAM_VALIDATOR_IDENTITY_PASSPHRASE to protect a key that matters", "key_file", path)
		}
		a.log.Info("created the validator key", "key_file", path, "validator", id.Address())
		return id, nil
	}
	if err != nil {
		if errors.Is(err, identity.ErrNoKey) {
			return nil, exitError{exitUsage, fmt.Errorf("%w: the validator signs its windows with its own key; create it with `fairstream keys gen --validator` (validator.identity.key_file names another file)", err)}
		}
		if a.cfg.Validator.Identity.Passphrase == "" {
			return nil, exitError{exitUsage, fmt.Errorf("validator key %s: %w (set FAIRSTREAM_VALIDATOR_IDENTITY_PASSPHRASE to its passphrase)", path, err)}
		}
		return nil, exitError{exitUsage, fmt.Errorf("validator key %s: %w", path, err)}
	}
	return id, nil
}

// buildValidator loads the validator's key and its re-fetching connectors
// and returns the processor. A connector that cannot be built (no
// credentials) leaves its records unverifiable, which costs their workers
// nothing; the log says which.
func (a *app) buildValidator() (*validator.Processor, error) {
	id, err := a.loadValidatorIdentity(a.dev)
	if err != nil {
		return nil, err
	}
	cfg := a.cfg.Validator.Config
	if cfg.Seed == "" {
		cfg.Seed = id.Secret("fairstream/validator/seed")
	}
	refs := map[string]validator.Refetcher{}
	var with, without []string
	for _, def := range connectorDefs() {
		client := connectors.NewClient(a.cfg.Connectors.HTTP, def.httpClient, a.log.With("connector", def.name, "for", "validator"))
		src, err := def.build(a.cfg, client)
		if err != nil {
			without = append(without, fmt.Sprintf("%s (%v)", def.name, err))
			continue
		}
		r, ok := src.(connectors.Refetcher)
		if !ok {
			without = append(without, def.name+" (cannot re-fetch)")
			continue
		}
		refs[def.name] = validator.FromConnector(r)
		with = append(with, def.name)
	}
	a.log.Info("validator: re-fetches samples through its own connectors", "connectors", strings.Join(with, ", "))
	if len(without) > 0 {
		a.log.Warn("validator: these sources' samples stay unverifiable (which costs their workers nothing)", "connectors", strings.Join(without, "; "))
	}
	p, err := validator.NewProcessor(a.cfg.Kafka, cfg, id, refs, validator.WithLogger(a.log), validator.WithMetrics(a.reg),
		validator.WithStreamsOptions(a.streamOpts()...))
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (a *app) validatorCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "validator",
		Short: "Run the validator: score every worker's contributions",
		Long: `The validator reads every contribution (the raw topics and the jobs), scores each
worker per window of event time (validity, uniqueness, freshness, jobs,
verification by re-fetching a sample through its own connectors) and writes
signed windows to scores.windows.v1, what it made of each record to
scores.contributions.v1 and its verdicts to scores.verifications.v1. The
README's "Scoring" section gives the formula.`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "run",
		Short: "Run the validator against the configured Kafka cluster",
		Long: `Run the validator until SIGINT or SIGTERM. It signs with the validator key
(validator.identity.key_file, default <data_dir>/validator.key; create it with
'fairstream keys gen --validator'), replays its inputs to rebuild its state,
and writes only what comes after its checkpoint. Run one per validator_id.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runProcessor(cmd, validatorDef())
		},
	})
	return cmd
}
