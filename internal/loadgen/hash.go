package loadgen

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"time"

	"github.com/ninsho/ninsho/internal/password"
)

// HashRate is the bare cost of the password hash.
type HashRate struct {
	Workers int
	Hashes  int
	// PerHash is the mean wall time of one verification while Workers run
	// at once.
	PerHash time.Duration
	// PerSecond is the hash-bound limit: Workers ÷ PerHash, summed per
	// worker.
	PerSecond float64
	// CPU is the CPU time of one verification: what this process used
	// while measuring, divided by Hashes. Unlike PerHash it does not grow
	// when other processes take the cores.
	CPU time.Duration
}

// MeasureHash verifies the right password against an argon2id hash with
// params (what a sign-in does), sequentially in each of workers goroutines
// at once, for about d, with no limiter and no server in the way.
func MeasureHash(ctx context.Context, params password.Params, workers int, d time.Duration) (HashRate, error) {
	if workers < 1 || d <= 0 {
		return HashRate{}, errors.New("loadgen: MeasureHash needs a worker and a duration")
	}
	h := &password.Hasher{Params: params}
	const plain = "Bench-hash-0000-kirishima"
	encoded, err := h.Hash(ctx, plain)
	if err != nil {
		return HashRate{}, err
	}
	type tally struct {
		n    int
		busy time.Duration
		err  error
	}
	tallies := make([]tally, workers)
	cpu0 := SelfCPU()
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			t := &tallies[w]
			for time.Now().Before(deadline) && ctx.Err() == nil {
				start := time.Now()
				ok, _, err := h.Verify(ctx, plain, encoded)
				t.busy += time.Since(start)
				t.n++
				if err == nil && !ok {
					err = errors.New("loadgen: the right password did not verify")
				}
				if err != nil {
					t.err = err
					return
				}
			}
		})
	}
	wg.Wait()
	cpu := SelfCPU() - cpu0
	r := HashRate{Workers: workers}
	var busy time.Duration
	for _, t := range tallies {
		if t.err != nil {
			return r, t.err
		}
		r.Hashes += t.n
		busy += t.busy
		// Each worker's rate is its count over its own busy time, so a
		// hash that ends after the deadline is not a partial one.
		r.PerSecond += float64(t.n) / t.busy.Seconds()
	}
	r.PerHash = busy / time.Duration(r.Hashes)
	r.CPU = cpu / time.Duration(r.Hashes)
	return r, nil
}

// SelfCPU returns the CPU time this process has used so far.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
