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
		Short: "Manage the worker key",
		Long: `The worker key is one secp256k1 key: its Ethereum address is the worker ID and
the address rewards are paid to, it gives the worker's libp2p peer ID, and it
signs every event. It lives in an encrypted keystore file (worker.key_file,
default <data_dir>/worker.key, mode 0600) whose passphrase comes from the
environment: FAIRSTREAM_WORKER_PASSPHRASE.`,
	}
	var force bool
	gen := &cobra.Command{
		Use:   "gen",
		Short: "Create the worker key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.setup(); err != nil {
				return err
			}
			if a.cfg.Worker.Passphrase == "" {
				return exitError{exitUsage, fmt.Errorf("worker.passphrase is empty: set FAIRSTREAM_WORKER_PASSPHRASE to the passphrase that will encrypt the key")}
			}
			id, err := identity.Generate()
			if err != nil {
				return err
			}
			path := a.cfg.keyFile()
			if err := id.Save(path, a.cfg.Worker.Passphrase, identity.StandardScryptN, force); err != nil {
				return err
			}
			return a.printIdentity(id, path)
		},
	}
	gen.Flags().BoolVar(&force, "force", false, "replace an existing key (its identity, and what it earned, is lost)")
	show := &cobra.Command{
		Use:   "show",
		Short: "Show the worker ID (address), peer ID and key file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.setup(); err != nil {
				return err
			}
			id, err := a.loadIdentity()
			if err != nil {
				return err
			}
			return a.printIdentity(id, a.cfg.keyFile())
		},
	}
	cmd.AddCommand(gen, show)
	return cmd
}

func (a *app) printIdentity(id *identity.Identity, path string) error {
	pid, err := id.PeerID()
	if err != nil {
		return err
	}
	mode := "?"
	if fi, err := os.Stat(path); err == nil {
		mode = fmt.Sprintf("%o", fi.Mode().Perm())
	}
	fmt.Fprintf(a.stdout, "worker   %s\npeer     %s\nkey file %s (mode %s)\n", id.Address(), pid, path, mode)
	return nil
}
