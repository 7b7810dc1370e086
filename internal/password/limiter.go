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
// none is admitted whose expected wait exceeds maxWait. Everything beyond that
// is refused at once with ninsho.CodeOverloaded, which the HTTP layer answers
// with 503 and Retry-After, so that a flood of sign-ins costs neither unbounded
// memory (each argon2id call holds its Memory parameter) nor unbounded latency.
//
// Admission is by expected wait, not by a fixed queue: a newcomer's wait is
// the calls ahead of it in its lane times the measured run time (a moving
// average of fn's wall time, so it follows the machine's real speed under
// load), shared over the slots. A newcomer whose expected wait exceeds maxWait
// is refused on arrival rather than after waiting in vain: under overload
// refusals are immediate and admitted calls wait about maxWait at most. An
// admitted call that, against the estimate, has waited one and a half maxWait gives up
// with the same refusal (the bound on any wait).
//
// Admit takes that decision early — before the caller spends work (database
// writes) on a call it would then have to refuse — and reserves the caller's
// place, so that callers between Admit and Do count as waiting.
//
// Waiters are admitted in arrival order: a slot that frees is handed to the
// longest waiter, never to a newcomer. A Limiter is safe for concurrent use.
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

	// Admitted callers that have not reached Do yet (see Admit), per lane.
	pending     atomic.Int64
	prioPending atomic.Int64

	// run runs fn where the calls run: in the caller's goroutine (nil) or
	// on dedicated threads (UseThreads).
	run func(fn func())

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
		reserved:   make(chan struct{}, MaxRunningFor(concurrency)-concurrency),
		queue:      int64(queue),
		maxWait:    maxWait,
		retryAfter: retry,
		after:      realTimer,
	}
}

// UseThreads makes Do run fn through run — which must run fn and return once
// fn has returned, with room for MaxRunning calls at once — instead of in the
// caller's goroutine: a workthread.Pool's Run, so that hashing runs on
// threads at a lower priority. Call it before the Limiter is in use.
func (l *Limiter) UseThreads(run func(fn func())) { l.run = run }

// MaxRunning is how many calls of Do can run at once: the slots and the
// priority lane beside them (MaxRunningFor its concurrency).
func (l *Limiter) MaxRunning() int { return cap(l.slots) + cap(l.reserved) }

// MaxRunningFor is the MaxRunning of a Limiter with concurrency slots: those
// and a priority lane of a quarter as many, at least one.
func MaxRunningFor(concurrency int) int {
	concurrency = max(concurrency, 1)
	return concurrency + max(1, concurrency/4)
}

// Do runs fn (in the caller's goroutine, or through UseThreads) once a slot is free and returns nil
// after fn returns. It does not run fn and returns
//   - ninsho.CodeOverloaded with the parameter retry_after_s (seconds, int)
//     when, on arrival, the queue is full or the expected wait exceeds
//     maxWait (a caller holding a Ticket from Admit was admitted already and
//     skips that check), or when the wait exceeds one and a half maxWait;
//   - ninsho.CodeInternal wrapping ctx.Err() when ctx ends first.
//
// If fn panics, the slot is released and the panic continues.
func (l *Limiter) Do(ctx context.Context, fn func()) error {
	admitted := ticketOf(ctx).take()
	if err := ctx.Err(); err != nil {
		return ninsho.Internal("password: limiter: %w", err)
	}
	lane := l.slots
	select {
	case l.slots <- struct{}{}:
	default:
		var err error
		if isPriority(ctx) {
			lane, err = l.waitPriority(ctx, admitted)
		} else {
			err = l.wait(ctx, admitted)
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
	if l.run != nil {
		l.run(fn)
	} else {
		fn()
	}
	l.runs.Add(1)
	return nil
}

// Ticket is a place Admit reserved for a call of Do. Pass it to Do in the
// call's context (WithTicket); Do takes it. A caller that ends without calling
// Do must Release it, or the place stays counted as waiting. Release after Do
// does nothing, so `defer t.Release()` is the usual form. A nil *Ticket does
// nothing.
type Ticket struct {
	l    *Limiter
	prio bool
	used atomic.Bool
}

// Release gives the reserved place back unless Do took it.
func (t *Ticket) Release() { t.take() }

// take uses the ticket once and reports whether it held a place.
func (t *Ticket) take() bool {
	if t == nil || !t.used.CompareAndSwap(false, true) {
		return false
	}
	if t.prio {
		t.l.prioPending.Add(-1)
	} else {
		t.l.pending.Add(-1)
	}
	return true
}

type ticketKey struct{}

// WithTicket returns ctx carrying t, for the Do that uses the reserved place.
func WithTicket(ctx context.Context, t *Ticket) context.Context {
	if t == nil {
		return ctx
	}
	return context.WithValue(ctx, ticketKey{}, t)
}

func ticketOf(ctx context.Context) *Ticket { t, _ := ctx.Value(ticketKey{}).(*Ticket); return t }

// Admit decides now, for a call of Do in ctx's lane (WithPriority or not),
// whether it would be admitted: it is refused with ninsho.CodeOverloaded
// (retry_after_s) exactly when Do would refuse it on arrival. Callers use it
// before they spend work on the call (a sign-in's database writes), so that a
// refusal under overload costs them nothing and takes no time. An admitted
// caller holds a place (counted as waiting by later arrivals) until its Do
// takes the Ticket or it releases it.
func (l *Limiter) Admit(ctx context.Context) (*Ticket, error) {
	prio := isPriority(ctx)
	var ahead int64
	if prio {
		ahead = l.prioWaiting.Load() + l.prioPending.Load()
	} else {
		// Owners are served before strangers: they are ahead too.
		ahead = l.waiting.Load() + l.pending.Load() + l.prioWaiting.Load() + l.prioPending.Load()
		if l.waiting.Load()+l.pending.Load() >= l.queue && l.InFlight() >= cap(l.slots) {
			return nil, l.overloaded()
		}
	}
	if l.tooLong(ahead) {
		return nil, l.overloaded()
	}
	if prio {
		l.prioPending.Add(1)
	} else {
		l.pending.Add(1)
	}
	return &Ticket{l: l, prio: prio}, nil
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
// first, for at most one and a half maxWait, and returns the lane it holds. An
// admitted caller (Admit) skips the arrival check.
func (l *Limiter) waitPriority(ctx context.Context, admitted bool) (chan struct{}, error) {
	// Owners wait only behind owners; if even those would take longer than
	// maxWait, the answer is the same quick refusal strangers get.
	ahead := l.prioWaiting.Add(1) - 1
	defer l.prioWaiting.Add(-1)
	if !admitted && l.tooLong(ahead+l.prioPending.Load()) {
		return nil, l.overloaded()
	}
	timeout, stop := l.timeout()
	defer stop()
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
// would wait for a slot: nothing while a slot is free for it, otherwise one
// average run, shared over the slots, for every call that must start before
// it (the waiters ahead, and one of the runs in flight).
func (l *Limiter) expectedWait(ahead int64) time.Duration {
	n := ahead + l.inFlight.Load() - int64(cap(l.slots)) + 1
	if n <= 0 {
		return 0
	}
	return time.Duration(n * l.avgRun.Load() / int64(cap(l.slots)))
}

// tooLong reports whether a caller behind ahead waiters would expect to
// wait longer than maxWait.
func (l *Limiter) tooLong(ahead int64) bool {
	return l.maxWait > 0 && l.expectedWait(ahead) > l.maxWait
}

// timeout starts the bound of one wait: one and a half maxWait, or never
// when maxWait is 0. Admission keeps expected waits within maxWait; the bound
// only cuts the tail when the estimate was wrong (a run far slower than the
// average).
func (l *Limiter) timeout() (<-chan time.Time, func() bool) {
	if l.maxWait <= 0 {
		return nil, func() bool { return false }
	}
	return l.after(l.maxWait * 3 / 2)
}

// wait queues the caller for a slot. On success the caller holds a slot. An
// admitted caller (Admit) skips the arrival check.
func (l *Limiter) wait(ctx context.Context, admitted bool) error {
	ahead := l.waiting.Add(1) - 1
	if !admitted {
		all := ahead + l.pending.Load() + l.prioWaiting.Load() + l.prioPending.Load()
		if ahead >= l.queue || l.tooLong(all) {
			l.waiting.Add(-1)
			return l.overloaded()
		}
	}
	defer l.waiting.Add(-1)
	timeout, stop := l.timeout()
	defer stop()
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

// Admit asks h's Limiter whether a hashing call in ctx's lane would be
// admitted now (Limiter.Admit). Without a Limiter everything is admitted
// with a nil Ticket. Pass the Ticket to the hashing call with WithTicket.
func (h *Hasher) Admit(ctx context.Context) (*Ticket, error) {
	if h.Limiter == nil {
		return nil, nil
	}
	return h.Limiter.Admit(ctx)
}

// Saturated reports whether even a priority call (an owner's) arriving now
// would be refused on arrival: then every call would be. Callers check it
// before they read anything for a call they may have to refuse.
func (l *Limiter) Saturated() bool {
	return l.tooLong(l.prioWaiting.Load() + l.prioPending.Load())
}

// Saturated returns ninsho.CodeOverloaded (retry_after_s) when h's Limiter is
// saturated (Limiter.Saturated), else nil. It reserves nothing and counts no
// refusal twice: the refusal it returns is counted once.
func (h *Hasher) Saturated() error {
	if h.Limiter == nil || !h.Limiter.Saturated() {
		return nil
	}
	return h.Limiter.overloaded()
}
