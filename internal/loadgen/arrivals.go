package loadgen

import (
	"context"
	"sync"
	"time"
)

// Arrivals is what an open loop did: how many iterations it was asked to
// start, how many it started and how many it dropped because MaxInFlight
// were still unanswered.
type Arrivals struct {
	Offered int
	Started int
	// Dropped counts arrivals not started because the in-flight cap was
	// reached: "dropped by generator", never sent to the server.
	Dropped int
	// LastStart is when the last iteration started, from the loop's start:
	// an open loop that keeps its schedule starts the last one just before
	// the duration ends, however slow the answers.
	LastStart time.Duration
	// MaxInFlight is the most iterations that were running at once.
	MaxInFlight int
}

// OpenArrivals starts fn at a fixed arrival rate (per second) for d: the i-th
// arrival is due at i/rate from the start, whatever the answers to the
// earlier ones, each in its own goroutine. When cap iterations are still
// running at an arrival, that arrival is dropped (counted, not started), so
// a server that stops answering cannot make the generator hold unbounded
// goroutines. It waits for every started iteration before it returns. A
// generator that falls behind its schedule (a busy machine) starts the late
// arrivals at once, so the count stays the offered one.
func OpenArrivals(ctx context.Context, rate float64, d time.Duration, capacity int, fn func(ctx context.Context, i int)) Arrivals {
	n := int(rate * d.Seconds())
	a := Arrivals{Offered: n}
	if n <= 0 || capacity <= 0 {
		return a
	}
	slots := make(chan struct{}, capacity)
	var wg sync.WaitGroup
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for i := range n {
		at := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		if wait := time.Until(at); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
			case <-timer.C:
			}
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case slots <- struct{}{}:
		default:
			a.Dropped++
			continue
		}
		a.Started++
		a.LastStart = time.Since(start)
		a.MaxInFlight = max(a.MaxInFlight, len(slots))
		wg.Go(func() {
			defer func() { <-slots }()
			fn(ctx, i)
		})
	}
	wg.Wait()
	return a
}
