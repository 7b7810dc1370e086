package password

import (
	"context"
	"math"
	"sync/atomic"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// Limiter bounds CPU- and memory-heavy work such as password hashing: at
// most concurrency calls run at once, at most queue more wait for a slot, and
// none waits longer than maxWait. Everything beyond that is refused at once
// with ninsho.CodeOverloaded, which the HTTP layer answers with 503 and
// Retry-After, so that a flood of sign-ins costs neither unbounded memory (each
// argon2id call holds its Memory parameter) nor unbounded latency.
//
// Waiters are admitted in arrival order: a slot that frees is handed to the
// longest waiter, never to a newcomer. A newcomer whose expected wait — the
// waiters ahead of it times the average run time, shared over the slots —
// already exceeds maxWait is refused on arrival rather than after waiting in
// vain, so that under overload refusals are immediate and admitted calls wait
// at most about maxWait. A Limiter is safe for concurrent use.
type Limiter struct {
	slots      chan struct{}
	reserved   chan struct{} // the priority lane (see WithPriority)
	queue      int64
	maxWait    time.Duration
	retryAfter int

	inFlight atomic.Int64
	waiting  atomic.Int64
	rejected atomic.Uint64
	runs     atomic.Uint64
	avgRun   atomic.Int64 // moving average of fn's run time, nanoseconds

	prioWaiting atomic.Int64 // priority calls waiting for a slot
	prioRunning atomic.Int64 // priority calls running, in either lane

	// after starts the maxWait timer of a waiter: the channel receives once
	// d has passed, and stop releases the timer. Tests replace it so that
	// no real time passes.
	after func(d time.Duration) (c <-chan time.Time, stop func() bool)
}

// realTimer is the default Limiter.after.
func realTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// NewLimiter returns a Limiter with concurrency slots (at least 1; size it to
// the CPU cores given to hashing), room for queue waiters (0 refuses whenever
// every slot is busy) and the longest wait maxWait (0 or less: waiters wait
// until their context ends).
func NewLimiter(concurrency, queue int, maxWait time.Duration) *Limiter {
	concurrency = max(concurrency, 1)
	queue = max(queue, 0)
	// A refused client may come back once a waiter's worth of time has
	// passed; a second is the smallest Retry-After HTTP can say.
	retry := 1
	if maxWait > 0 {
		retry = max(1, int(math.Ceil(maxWait.Seconds())))
	}
	return &Limiter{
		slots:      make(chan struct{}, concurrency),
		reserved:   make(chan struct{}, max(1, concurrency/4)),
		queue:      int64(queue),
		maxWait:    maxWait,
		retryAfter: retry,
		after:      realTimer,
	}
}

// Do runs fn in the caller's goroutine once a slot is free and returns nil
// after fn returns. It does not run fn and returns
//   - ninsho.CodeOverloaded with the parameter retry_after_s (seconds, int)
//     when the queue is full or the wait exceeds maxWait;
//   - ninsho.CodeInternal wrapping ctx.Err() when ctx ends first.
//
// If fn panics, the slot is released and the panic continues.
func (l *Limiter) Do(ctx context.Context, fn func()) error {
	if err := ctx.Err(); err != nil {
		return ninsho.Internal("password: limiter: %w", err)
	}
	lane := l.slots
	select {
	case l.slots <- struct{}{}:
	default:
		var err error
		if isPriority(ctx) {
			lane, err = l.waitPriority(ctx)
		} else {
			err = l.wait(ctx)
		}
		if err != nil {
			return err
		}
	}
	l.inFlight.Add(1)
	prio := isPriority(ctx)
	if prio {
		l.prioRunning.Add(1)
	}
	start := time.Now()
	defer func() {
		l.observe(time.Since(start))
		if prio {
			l.prioRunning.Add(-1)
		}
		l.inFlight.Add(-1)
		<-lane
	}()
	fn()
	l.runs.Add(1)
	return nil
}

type priorityKey struct{}

// WithPriority marks ctx as work for a person the server already recognises
// (a sign-in from a device familiar to the account). The limiter serves such
// calls from a small reserved lane as well as the shared slots, and never
// queues them behind strangers: a flood of attempts from unknown devices
// cannot crowd the owners out (DESIGN §8). Only the server decides
// priority; nothing a client sends sets it.
func WithPriority(ctx context.Context) context.Context {
	return context.WithValue(ctx, priorityKey{}, true)
}

func isPriority(ctx context.Context) bool { v, _ := ctx.Value(priorityKey{}).(bool); return v }

// waitPriority waits for a shared slot or a reserved one, whichever frees
// first, for at most maxWait, and returns the lane it holds.
func (l *Limiter) waitPriority(ctx context.Context) (chan struct{}, error) {
	// Owners wait only behind owners; if even those would take longer than
	// maxWait, the answer is the same quick refusal strangers get.
	ahead := l.prioWaiting.Add(1) - 1
	defer l.prioWaiting.Add(-1)
	if l.maxWait > 0 && time.Duration((ahead+1)*l.avgRun.Load()/int64(cap(l.slots)+cap(l.reserved))) > l.maxWait {
		return nil, l.overloaded()
	}
	var timeout <-chan time.Time
	if l.maxWait > 0 {
		c, stop := l.after(l.maxWait)
		defer stop()
		timeout = c
	}
	// The reserved lane lets owners past strangers; it is not extra capacity
	// for owners among themselves: when owners already hold every shared
	// slot (a busy hour, not a flood), they wait for a shared one, so that
	// memory-hard hashes never outnumber the cores in normal operation.
	reserved := l.reserved
	if l.prioRunning.Load() >= int64(cap(l.slots)) {
		reserved = nil // a nil channel is never ready
	}
	select {
	case l.slots <- struct{}{}:
		return l.slots, nil
	case reserved <- struct{}{}:
		return l.reserved, nil
	case <-timeout:
		return nil, l.overloaded()
	case <-ctx.Done():
		return nil, ninsho.Internal("password: limiter: %w", ctx.Err())
	}
}

// observe folds one run time into the moving average (weight 1/8).
func (l *Limiter) observe(d time.Duration) {
	for {
		old := l.avgRun.Load()
		next := int64(d)
		if old != 0 {
			next = old + (int64(d)-old)/8
		}
		if l.avgRun.CompareAndSwap(old, next) {
			return
		}
	}
}

// expectedWait estimates how long a caller arriving behind ahead waiters
// would wait for a slot.
func (l *Limiter) expectedWait(ahead int64) time.Duration {
	return time.Duration((ahead + 1) * l.avgRun.Load() / int64(cap(l.slots)))
}

// wait queues the caller for a slot. On success the caller holds a slot.
func (l *Limiter) wait(ctx context.Context) error {
	ahead := l.waiting.Add(1) - 1
	if ahead >= l.queue || (l.maxWait > 0 && l.expectedWait(ahead) > l.maxWait) {
		l.waiting.Add(-1)
		return l.overloaded()
	}
	defer l.waiting.Add(-1)
	var timeout <-chan time.Time
	if l.maxWait > 0 {
		c, stop := l.after(l.maxWait)
		defer stop()
		timeout = c
	}
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-timeout:
		return l.overloaded()
	case <-ctx.Done():
		return ninsho.Internal("password: limiter: %w", ctx.Err())
	}
}

func (l *Limiter) overloaded() error {
	l.rejected.Add(1)
	return ninsho.E(ninsho.CodeOverloaded).WithParam("retry_after_s", l.retryAfter)
}

// InFlight returns the number of calls running now.
func (l *Limiter) InFlight() int { return int(l.inFlight.Load()) }

// Waiting returns the number of calls waiting for a slot now.
func (l *Limiter) Waiting() int { return int(l.waiting.Load()) }

// Rejected returns how many calls have been refused as overloaded since the
// Limiter was made.
func (l *Limiter) Rejected() uint64 { return l.rejected.Load() }

// Runs returns how many calls of fn have run to completion since the Limiter
// was made: for a Hasher's Limiter, the hashing jobs spent (a Verify of an
// imported hash may derive twice in one job). A fn that panics is not
// counted. Tests and metrics read it to tell what a workload cost.
func (l *Limiter) Runs() uint64 { return l.runs.Load() }

// Concurrency returns the number of slots.
func (l *Limiter) Concurrency() int { return cap(l.slots) }
