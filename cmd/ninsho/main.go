// Command ninsho is the Ninsho sign-in server. See `ninsho help`.
package main

import (
	"os"

	"github.com/ninsho/ninsho/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) }
