package recovery

import (
	"runtime"
	"sync"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// UploadRetryAfter is the retry_after_s of an upload refused as
// overloaded.
const UploadRetryAfter = 5

// UploadGate bounds the uploads that hold a document in memory: at most
// one at a time per flow (a second is refused with conflict) and at most
// its capacity in the whole process (the excess is refused with overloaded
// and retry_after_s). Refusals are immediate: nothing waits and nothing of
// the body is read. The zero value is not usable; see NewUploadGate.
type UploadGate struct {
	mu    sync.Mutex
	slots int
	busy  map[string]bool
}

// NewUploadGate returns a gate of n uploads at once in the process (n <= 0:
// DefaultUploads).
func NewUploadGate(n int) *UploadGate {
	if n <= 0 {
		n = DefaultUploads()
	}
	return &UploadGate{slots: n, busy: map[string]bool{}}
}

// DefaultUploads is the process-wide number of concurrent document
// uploads: twice GOMAXPROCS.
func DefaultUploads() int { return 2 * runtime.GOMAXPROCS(0) }

// Enter admits one upload to flowID and returns the function that ends it
// (call it exactly once), or refuses it: conflict (field slot) while
// another upload to the flow runs, overloaded (retry_after_s) when the
// process holds its capacity already.
func (g *UploadGate) Enter(flowID string) (func(), error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.busy[flowID] {
		return nil, ninsho.E(ninsho.CodeConflict)
	}
	if len(g.busy) >= g.slots {
		return nil, ninsho.E(ninsho.CodeOverloaded).WithParam("retry_after_s", UploadRetryAfter)
	}
	g.busy[flowID] = true
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			delete(g.busy, flowID)
			g.mu.Unlock()
		})
	}, nil
}

// Running is how many uploads the gate holds now.
func (g *UploadGate) Running() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.busy)
}
