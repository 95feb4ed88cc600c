// Command fairstream is the one binary of the fairstream data network: the
// single-machine dev stack, processors, and tools for the bus. See README.md.
package main

import (
	"os"

	"github.com/fairstream/fairstream/cmd/fairstream/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
