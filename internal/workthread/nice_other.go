//go:build !linux

package workthread

import (
	"errors"
	"time"
)

var errUnsupported = errors.New("workthread: no per-thread priority or affinity here")

// lowerThread does nothing where priorities are per process: lowering the
// process would lower everything the pool is meant to make way for.
func lowerThread(int) error { return errUnsupported }

func allowedCPUs() []int { return nil }

func pinThread(int) error { return errUnsupported }

func threadCPU() (time.Duration, bool) { return 0, false }
