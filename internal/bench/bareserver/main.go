// Command bareserver serves a bare net/http handler that answers a small JSON
// body: the baseline the session-check benchmark compares GET /api/v1/me
// with. See internal/bench.
package main

import (
	"os"

	"github.com/ninsho/ninsho/internal/bench"
)

func main() { os.Exit(bench.BareMain(os.Args[1:], os.Stdout, os.Stderr)) }
