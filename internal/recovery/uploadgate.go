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
// one at a time per account (a second, to the same flow or to a later
// draft of the account, is refused with conflict) and at most
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
// uploads: four per GOMAXPROCS, at least 16 (at most 10 MB each in
// memory). With one per account, holding them all takes as many accounts
// with two-step verification on, each upload for at most UploadTime.
func DefaultUploads() int { return max(16, 4*runtime.GOMAXPROCS(0)) }

// Enter admits one upload of key (the account's id: EnterUpload) and
// returns the function that ends it (call it exactly once), or refuses
// it: conflict while another upload of the key runs, overloaded
// (retry_after_s) when the process holds its capacity already.
func (g *UploadGate) Enter(key string) (func(), error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.busy[key] {
		return nil, ninsho.E(ninsho.CodeConflict)
	}
	if len(g.busy) >= g.slots {
		return nil, ninsho.E(ninsho.CodeOverloaded).WithParam("retry_after_s", UploadRetryAfter)
	}
	g.busy[key] = true
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			delete(g.busy, key)
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
