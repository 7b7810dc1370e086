package cli

import (
	"runtime"
	"testing"

	"github.com/ninsho/ninsho/internal/password"
)

// TestSpareProcessor: serve gives the runtime a processor for every hash
// that can run at once and one more, never fewer than it had, and leaves a
// GOMAXPROCS set by the operator alone.
func TestSpareProcessor(t *testing.T) {
	was := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(was) })
	t.Setenv("GOMAXPROCS", "")

	runtime.GOMAXPROCS(2)
	if got := spareProcessor(0); got != 2 {
		t.Errorf("spareProcessor(0) on 2 processors = %d, want 2 (one slot per processor)", got)
	}
	// 2 slots and the owners' lane: 3 hashes at once, and one more.
	if got := runtime.GOMAXPROCS(0); got != password.MaxRunningFor(2)+1 || got != 4 {
		t.Errorf("GOMAXPROCS = %d, want 4", got)
	}

	runtime.GOMAXPROCS(16)
	if got := spareProcessor(1); got != 1 {
		t.Errorf("spareProcessor(1) = %d, want 1", got)
	}
	if got := runtime.GOMAXPROCS(0); got != 16 {
		t.Errorf("GOMAXPROCS = %d after a configured concurrency of 1 on 16, want 16 (never fewer)", got)
	}

	t.Setenv("GOMAXPROCS", "2")
	runtime.GOMAXPROCS(2)
	spareProcessor(2)
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Errorf("GOMAXPROCS = %d with the variable set to 2, want 2", got)
	}
}
