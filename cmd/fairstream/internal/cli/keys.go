package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/fairstream/fairstream/connectors/identity"
)

func (a *app) keysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage the worker key (or, with --validator, the validator key)",
		Long: `The worker key is one secp256k1 key: its Ethereum address is the worker ID and
the address rewards are paid to, it gives the worker's libp2p peer ID, and it
signs every event. It lives in an encrypted keystore file (worker.key_file,
default <data_dir>/worker.key, mode 0600) whose passphrase comes from the
environment: FAIRSTREAM_WORKER_PASSPHRASE.

With --validator the commands manage the validator's key instead, which signs
its windows (validator.identity.key_file, default <data_dir>/validator.key;
passphrase FAIRSTREAM_VALIDATOR_IDENTITY_PASSPHRASE).`,
	}
	var force, forValidator bool
	cmd.PersistentFlags().BoolVar(&forValidator, "validator", false, "the validator's key rather than the worker's")
	label := func() string {
		if forValidator {
			return "validator"
		}
		return "worker"
	}
	keyFile := func() (path, pass, passEnv string) {
		if forValidator {
			return a.cfg.validatorKeyFile(), a.cfg.Validator.Identity.Passphrase, "FAIRSTREAM_VALIDATOR_IDENTITY_PASSPHRASE"
		}
		return a.cfg.keyFile(), a.cfg.Worker.Passphrase, "FAIRSTREAM_WORKER_PASSPHRASE"
	}
	gen := &cobra.Command{
		Use:   "gen",
		Short: "Create the worker key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.setup(); err != nil {
				return err
			}
			path, pass, passEnv := keyFile()
			if pass == "" {
				return exitError{exitUsage, fmt.Errorf("the passphrase is empty: set %s to the passphrase that will encrypt the key", passEnv)}
			}
			id, err := identity.Generate()
			if err != nil {
				return err
			}
			if err := id.Save(path, pass, identity.StandardScryptN, force); err != nil {
				return err
			}
			return a.printIdentity(id, path, label())
		},
	}
	gen.Flags().BoolVar(&force, "force", false, "replace an existing key (its identity, and what it earned, is lost)")
	show := &cobra.Command{
		Use:   "show",
		Short: "Show the worker ID (address), peer ID and key file (--validator: the validator's)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.setup(); err != nil {
				return err
			}
			var id *identity.Identity
			var err error
			if forValidator {
				id, err = a.loadValidatorIdentity(false)
			} else {
				id, err = a.loadIdentity()
			}
			if err != nil {
				return err
			}
			path, _, _ := keyFile()
			return a.printIdentity(id, path, label())
		},
	}
	cmd.AddCommand(gen, show)
	return cmd
}

func (a *app) printIdentity(id *identity.Identity, path string, label string) error {
	pid, err := id.PeerID()
	if err != nil {
		return err
	}
	mode := "?"
	if fi, err := os.Stat(path); err == nil {
		mode = fmt.Sprintf("%o", fi.Mode().Perm())
	}
	fmt.Fprintf(a.stdout, "%-8s %s\npeer     %s\nkey file %s (mode %s)\n", label, id.Address(), pid, path, mode)
	return nil
}
