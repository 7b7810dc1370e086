package password

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// holder occupies a Limiter slot until released.
type holder struct {
	started chan struct{}
	release chan struct{}
	done    chan error
}

// MustHold starts a call of l.Do whose fn blocks, and returns once fn runs.
func MustHold(tb testing.TB, l *Limiter) *holder {
	tb.Helper()
	return MustHoldAs(tb, l, context.Background())
}

// MustHoldAs is MustHold with the call's context ctx (e.g. WithPriority).
func MustHoldAs(tb testing.TB, l *Limiter, ctx context.Context) *holder {
	tb.Helper()
	h := &holder{started: make(chan struct{}), release: make(chan struct{}), done: make(chan error, 1)}
	go func() {
		h.done <- l.Do(ctx, func() {
			close(h.started)
			<-h.release
		})
	}()
	select {
	case <-h.started:
	case err := <-h.done:
		tb.Fatalf("holding call returned %v before it ran", err)
	}
	return h
}

// Release lets the held call finish and returns its error.
func (h *holder) Release() error {
	close(h.release)
	return <-h.done
}

// waitFor yields until cond holds. The conditions it waits for are reached
// by goroutines that are already running, so no time needs to pass.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	for i := 0; !cond(); i++ {
		if i > 1_000_000 {
			tb.Fatalf("%s never happened", what)
		}
		runtime.Gosched()
	}
}

// startWaiter calls l.Do in a goroutine and returns the channel of its
// result and a channel closed when its fn runs.
func startWaiter(ctx context.Context, l *Limiter) (done chan error, ran chan struct{}) {
	done, ran = make(chan error, 1), make(chan struct{})
	go func() { done <- l.Do(ctx, func() { close(ran) }) }()
	return done, ran
}

// fakeTimers stands in for the maxWait timers of a Limiter, so that no real
// time passes: each timer has already fired when expired is true, and never
// fires otherwise. It records the durations asked for.
type fakeTimers struct {
	expired bool

	mu    sync.Mutex
	asked []time.Duration
}

// install makes l use f's timers.
func (f *fakeTimers) install(l *Limiter) {
	l.after = func(d time.Duration) (<-chan time.Time, func() bool) {
		f.mu.Lock()
		f.asked = append(f.asked, d)
		f.mu.Unlock()
		c := make(chan time.Time, 1)
		if f.expired {
			c <- time.Time{}
		}
		return c, func() bool { return true }
	}
}

// started returns the durations of the timers started so far.
func (f *fakeTimers) started() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.asked)
}

func assertOverloaded(tb testing.TB, err error, retryAfter int) {
	tb.Helper()
	e := ninsho.ErrorOf(err)
	if e == nil || e.Code != ninsho.CodeOverloaded {
		tb.Fatalf("error = %v, want %s", err, ninsho.CodeOverloaded)
	}
	if got := e.Params["retry_after_s"]; got != retryAfter {
		tb.Errorf("retry_after_s = %v, want %d", got, retryAfter)
	}
}

func TestLimiterRunsWithinConcurrency(t *testing.T) {
	l := NewLimiter(2, 0, 0)
	a, b := MustHold(t, l), MustHold(t, l)
	if got, want := l.InFlight(), 2; got != want {
		t.Errorf("InFlight() = %d, want %d", got, want)
	}
	// A third caller finds both slots busy and no queue.
	ran := false
	err := l.Do(context.Background(), func() { ran = true })
	assertOverloaded(t, err, 1)
	if ran {
		t.Error("fn ran although the call was refused")
	}
	if err := a.Release(); err != nil {
		t.Errorf("first call = %v, want nil", err)
	}
	if err := l.Do(context.Background(), func() { ran = true }); err != nil || !ran {
		t.Errorf("Do after a slot freed = %v (ran %v), want nil (ran true)", err, ran)
	}
	if err := b.Release(); err != nil {
		t.Errorf("second call = %v, want nil", err)
	}
	if got := l.InFlight(); got != 0 {
		t.Errorf("InFlight() after all calls = %d, want 0", got)
	}
	if got, want := l.Rejected(), uint64(1); got != want {
		t.Errorf("Rejected() = %d, want %d", got, want)
	}
}

func TestLimiterQueueAdmitsThenRefuses(t *testing.T) {
	l := NewLimiter(1, 2, 0)
	h := MustHold(t, l)

	w1, ran1 := startWaiter(context.Background(), l)
	waitFor(t, "first waiter queued", func() bool { return l.Waiting() == 1 })
	w2, ran2 := startWaiter(context.Background(), l)
	waitFor(t, "second waiter queued", func() bool { return l.Waiting() == 2 })

	// The queue is full: the next caller is refused at once.
	assertOverloaded(t, l.Do(context.Background(), func() { t.Error("refused fn ran") }), 1)
	if got, want := l.Waiting(), 2; got != want {
		t.Errorf("Waiting() after a refusal = %d, want %d", got, want)
	}

	// Freeing the slot admits the waiters in order.
	if err := h.Release(); err != nil {
		t.Fatalf("held call = %v", err)
	}
	<-ran1
	if err := <-w1; err != nil {
		t.Errorf("first waiter = %v, want nil", err)
	}
	<-ran2
	if err := <-w2; err != nil {
		t.Errorf("second waiter = %v, want nil", err)
	}
	if got := l.Waiting(); got != 0 {
		t.Errorf("Waiting() at the end = %d, want 0", got)
	}
}

func TestLimiterMaxWait(t *testing.T) {
	// The waiter's timer (one and a half maxWait: the bound of a wait the estimate
	// admitted) has fired: it gives up, overloaded.
	l := NewLimiter(1, 1, 750*time.Millisecond)
	timers := &fakeTimers{expired: true}
	timers.install(l)
	h := MustHold(t, l)
	defer h.Release()
	err := l.Do(context.Background(), func() { t.Error("fn ran after the wait expired") })
	assertOverloaded(t, err, 1)
	if got := l.Waiting(); got != 0 {
		t.Errorf("Waiting() after the timeout = %d, want 0", got)
	}
	if got, want := timers.started(), []time.Duration{1125 * time.Millisecond}; !slices.Equal(got, want) {
		t.Errorf("timers started: got %v, want %v (one wait of one and a half maxWait)", got, want)
	}
}

func TestLimiterRetryAfterFollowsMaxWait(t *testing.T) {
	l := NewLimiter(1, 0, 2500*time.Millisecond)
	h := MustHold(t, l)
	defer h.Release()
	assertOverloaded(t, l.Do(context.Background(), func() {}), 3)
}

func TestLimiterContextCancelledWhileWaiting(t *testing.T) {
	l := NewLimiter(1, 1, 0)
	h := MustHold(t, l)
	defer h.Release()

	ctx, cancel := context.WithCancel(context.Background())
	done, ran := startWaiter(ctx, l)
	waitFor(t, "waiter queued", func() bool { return l.Waiting() == 1 })
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || ninsho.CodeOf(err) != ninsho.CodeInternal {
		t.Errorf("Do with cancelled ctx = %v, want internal wrapping context.Canceled", err)
	}
	select {
	case <-ran:
		t.Error("fn ran although ctx was cancelled")
	default:
	}
	if got := l.Waiting(); got != 0 {
		t.Errorf("Waiting() after cancel = %d, want 0", got)
	}
}

func TestLimiterContextAlreadyDone(t *testing.T) {
	l := NewLimiter(1, 1, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := l.Do(ctx, func() { t.Error("fn ran with a done ctx") })
	if !errors.Is(err, context.Canceled) || ninsho.CodeOf(err) != ninsho.CodeInternal {
		t.Errorf("Do = %v, want internal wrapping context.Canceled", err)
	}
}

func TestLimiterPanicReleasesSlot(t *testing.T) {
	l := NewLimiter(1, 0, 0)
	mustPanicThroughDo(t, l)
	if err := l.Do(context.Background(), func() {}); err != nil {
		t.Errorf("Do after panic = %v, want nil", err)
	}
}

func TestNewLimiterClampsArguments(t *testing.T) {
	l := NewLimiter(0, -1, -time.Second)
	if got := l.Concurrency(); got != 1 {
		t.Errorf("Concurrency() = %d, want 1", got)
	}
	h := MustHold(t, l)
	defer h.Release()
	assertOverloaded(t, l.Do(context.Background(), func() {}), 1)
}

func TestLimiterRefusesOnArrivalWhenTheWaitWouldBeTooLong(t *testing.T) {
	l := NewLimiter(1, 100, 500*time.Millisecond)
	timers := &fakeTimers{expired: true} // a wait would end at once, but start a timer
	timers.install(l)
	l.avgRun.Store(int64(time.Second)) // each run takes about a second
	hold, release := make(chan struct{}), make(chan struct{})
	go l.Do(context.Background(), func() { close(hold); <-release })
	<-hold
	defer close(release)
	err := l.Do(context.Background(), func() { t.Error("ran although the wait would exceed maxWait") })
	if ninsho.CodeOf(err) != ninsho.CodeOverloaded {
		t.Fatalf("Do = %v, want overloaded", err)
	}
	if got := timers.started(); len(got) != 0 {
		t.Errorf("timers started: got %v, want none (refused on arrival, without waiting)", got)
	}
	if l.Rejected() != 1 {
		t.Errorf("Rejected() = %d, want 1", l.Rejected())
	}
}

// TestLimiterRunsCountsCompletedCallsOnly: Runs counts the calls whose fn
// returned, not those refused, cancelled or panicking.
func TestLimiterRunsCountsCompletedCallsOnly(t *testing.T) {
	l := NewLimiter(1, 0, 0)
	for i := 0; i < 3; i++ {
		if err := l.Do(context.Background(), func() {}); err != nil {
			t.Fatalf("Do: %v", err)
		}
	}
	if got, want := l.Runs(), uint64(3); got != want {
		t.Fatalf("Runs() after 3 calls = %d, want %d", got, want)
	}
	h := MustHold(t, l)
	assertOverloaded(t, l.Do(context.Background(), func() { t.Error("ran although every slot was busy") }), 1)
	if err := h.Release(); err != nil {
		t.Fatalf("held call: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Do(ctx, func() { t.Error("ran with a done ctx") }); err == nil {
		t.Fatal("Do with a done ctx = nil, want an error")
	}
	func() {
		defer func() { _ = recover() }()
		_ = l.Do(context.Background(), func() { panic("boom") })
	}()
	if got, want := l.Runs(), uint64(4); got != want {
		t.Errorf("Runs() = %d, want %d (3 calls and the held one; not the refused, cancelled or panicking ones)", got, want)
	}
}

func TestPriorityCallsAreNotQueuedBehindStrangers(t *testing.T) {
	l := NewLimiter(1, 0, time.Minute) // one slot, no queue: strangers are refused at once
	hold, release := make(chan struct{}), make(chan struct{})
	go l.Do(context.Background(), func() { close(hold); <-release })
	<-hold
	defer close(release)
	if err := l.Do(context.Background(), func() {}); ninsho.CodeOf(err) != ninsho.CodeOverloaded {
		t.Fatalf("stranger with every slot busy: %v, want overloaded", err)
	}
	ran := false
	if err := l.Do(WithPriority(context.Background()), func() { ran = true }); err != nil || !ran {
		t.Fatalf("priority call with every shared slot busy: %v, ran %v; want it served from the reserved lane", err, ran)
	}
}

func TestOwnersDoNotOutnumberTheSlotsAmongThemselves(t *testing.T) {
	owner := WithPriority(context.Background())
	// The only shared slot is an owner's: another owner waits for it rather
	// than taking the reserved lane. Its max_wait never passes here, so it
	// runs once the first frees the slot, and runs in the shared lane.
	l := NewLimiter(1, 0, 200*time.Millisecond)
	timers := &fakeTimers{}
	timers.install(l)
	first := MustHoldAs(t, l, owner)
	second := make(chan error, 1)
	go func() {
		second <- l.Do(owner, func() {
			if n := len(l.reserved); n != 0 {
				t.Error("a second owner ran in the reserved lane beside the first on one slot")
			}
		})
	}()
	waitFor(t, "the second owner waiting", func() bool { return len(timers.started()) == 1 })
	if err := first.Release(); err != nil {
		t.Fatalf("first owner: %v", err)
	}
	if err := <-second; err != nil {
		t.Fatalf("second owner after the first: %v, want nil", err)
	}
	if got, want := timers.started(), []time.Duration{300 * time.Millisecond}; !slices.Equal(got, want) {
		t.Errorf("timers started: got %v, want %v (the second owner waited up to one and a half max_wait)", got, want)
	}

	// When its max_wait has passed first, the second owner is refused.
	l = NewLimiter(1, 0, 200*time.Millisecond)
	(&fakeTimers{expired: true}).install(l)
	first = MustHoldAs(t, l, owner)
	defer first.Release()
	err := l.Do(owner, func() { t.Error("a second owner ran beside the first on one slot") })
	if ninsho.CodeOf(err) != ninsho.CodeOverloaded {
		t.Fatalf("second owner: %v, want overloaded after max_wait", err)
	}
}

// TestAdmitRefusesEarlyAndReservesPlaces: Admit answers what Do would on
// arrival, without waiting, and the places it reserves count for the callers
// after it until Do takes them or they are released.
func TestAdmitRefusesEarlyAndReservesPlaces(t *testing.T) {
	l := NewLimiter(1, 100, 500*time.Millisecond)
	timers := &fakeTimers{}
	timers.install(l)
	l.avgRun.Store(int64(200 * time.Millisecond))

	// A free slot: admitted whatever a run costs.
	t0, err := l.Admit(context.Background())
	if err != nil {
		t.Fatalf("Admit with a free slot: %v", err)
	}
	t0.Release()
	t0.Release() // twice does nothing
	if got := l.pending.Load(); got != 0 {
		t.Fatalf("pending after Release = %d, want 0", got)
	}

	h := MustHold(t, l)
	// One run in flight: a newcomer expects 200 ms, the next 400 ms, the
	// next 600 ms > 500 ms. The first two are admitted and counted, so the
	// third is refused although nobody waits in Do yet.
	a, err := l.Admit(context.Background())
	if err != nil {
		t.Fatalf("first Admit: %v", err)
	}
	b, err := l.Admit(context.Background())
	if err != nil {
		t.Fatalf("second Admit: %v", err)
	}
	if _, err := l.Admit(context.Background()); ninsho.CodeOf(err) != ninsho.CodeOverloaded {
		t.Fatalf("third Admit = %v, want overloaded (two places reserved ahead)", err)
	}
	if got := timers.started(); len(got) != 0 {
		t.Errorf("timers started by Admit: %v, want none", got)
	}
	// A caller that gives up frees its place for the next one.
	b.Release()
	c, err := l.Admit(context.Background())
	if err != nil {
		t.Fatalf("Admit after a release: %v", err)
	}
	defer c.Release()

	// Do with the ticket waits even though the estimate now says too long
	// (the run got slower): it was admitted already.
	l.avgRun.Store(int64(10 * time.Second))
	done, ran := startWaiter(WithTicket(context.Background(), a), l)
	waitFor(t, "the admitted caller waiting", func() bool { return l.Waiting() == 1 })
	if got := l.pending.Load(); got != 1 {
		t.Errorf("pending while the first waits in Do = %d, want 1 (c's)", got)
	}
	if err := h.Release(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Do with a ticket: %v", err)
	}
	<-ran
	a.Release() // after Do: nothing
	if got := l.pending.Load(); got != 1 {
		t.Errorf("pending after Do and a late Release = %d, want 1", got)
	}
}

// TestStrangersCountOwnersAhead: owners are served first, so a stranger's
// expected wait includes them; an owner's does not include strangers.
func TestStrangersCountOwnersAhead(t *testing.T) {
	l := NewLimiter(1, 100, 500*time.Millisecond)
	l.avgRun.Store(int64(200 * time.Millisecond))
	h := MustHold(t, l)
	defer h.Release()
	owner := WithPriority(context.Background())
	for i := 0; i < 2; i++ {
		tk, err := l.Admit(owner)
		if err != nil {
			t.Fatalf("owner %d: %v", i, err)
		}
		defer tk.Release()
	}
	if _, err := l.Admit(context.Background()); ninsho.CodeOf(err) != ninsho.CodeOverloaded {
		t.Fatalf("stranger behind two owners = %v, want overloaded (600 ms expected)", err)
	}
	// A third owner expects 600 ms behind the two owners: refused too.
	if _, err := l.Admit(owner); ninsho.CodeOf(err) != ninsho.CodeOverloaded {
		t.Fatalf("third owner = %v, want overloaded", err)
	}
	// Strangers' places do not delay owners.
	l2 := NewLimiter(1, 100, 500*time.Millisecond)
	l2.avgRun.Store(int64(200 * time.Millisecond))
	h2 := MustHold(t, l2)
	defer h2.Release()
	for i := 0; i < 2; i++ {
		tk, err := l2.Admit(context.Background())
		if err != nil {
			t.Fatalf("stranger %d: %v", i, err)
		}
		defer tk.Release()
	}
	tk, err := l2.Admit(owner)
	if err != nil {
		t.Fatalf("owner behind two strangers: %v, want admitted (strangers are not ahead of owners)", err)
	}
	tk.Release()
}

// TestSaturated: the limiter is saturated when even an owner arriving now
// would be refused; the Hasher's form counts that refusal once.
func TestSaturated(t *testing.T) {
	l := NewLimiter(1, 100, 500*time.Millisecond)
	l.avgRun.Store(int64(200 * time.Millisecond))
	h := &Hasher{Params: DefaultParams(), Limiter: l}
	if l.Saturated() || h.Saturated() != nil {
		t.Fatal("saturated with a free slot")
	}
	hold := MustHold(t, l)
	defer hold.Release()
	// Strangers waiting do not saturate it: owners go past them.
	for i := 0; i < 5; i++ {
		tk, err := l.Admit(context.Background())
		if err == nil {
			defer tk.Release()
		}
	}
	if l.Saturated() {
		t.Fatal("saturated by strangers alone")
	}
	owner := WithPriority(context.Background())
	for i := 0; i < 2; i++ {
		tk, err := l.Admit(owner)
		if err != nil {
			t.Fatalf("owner %d: %v", i, err)
		}
		defer tk.Release()
	}
	if !l.Saturated() {
		t.Fatal("not saturated with two owners expecting 600 ms for a third")
	}
	before := l.Rejected()
	assertOverloaded(t, h.Saturated(), 1)
	if got := l.Rejected() - before; got != 1 {
		t.Errorf("Rejected grew by %d, want 1", got)
	}
}

func TestMaxRunningIsTheSlotsAndTheOwnersLane(t *testing.T) {
	for _, c := range []struct{ concurrency, want int }{{0, 2}, {1, 2}, {2, 3}, {4, 5}, {8, 10}, {16, 20}} {
		if got := MaxRunningFor(c.concurrency); got != c.want {
			t.Errorf("MaxRunningFor(%d) = %d, want %d", c.concurrency, got, c.want)
		}
		if got := NewLimiter(c.concurrency, 0, 0).MaxRunning(); got != c.want {
			t.Errorf("NewLimiter(%d).MaxRunning() = %d, want %d", c.concurrency, got, c.want)
		}
	}
}

func TestUseThreadsRunsEveryCallThroughRun(t *testing.T) {
	l := NewLimiter(2, 4, 0)
	var mu sync.Mutex
	through := 0
	l.UseThreads(func(fn func()) {
		mu.Lock()
		through++
		mu.Unlock()
		fn()
	})
	ran := 0
	for range 3 {
		if err := l.Do(context.Background(), func() { ran++ }); err != nil {
			t.Fatal(err)
		}
	}
	if ran != 3 || through != 3 {
		t.Fatalf("fn ran %d times, %d of them through run; want 3 and 3", ran, through)
	}
	// A panic raised through run releases the slot, as one in the
	// caller's goroutine does.
	mustPanicThroughDo(t, l)
}

// mustPanicThroughDo calls l.Do with a function that panics "boom" and
// checks that the panic reaches the caller and that no call stays in flight.
func mustPanicThroughDo(t *testing.T, l *Limiter) {
	t.Helper()
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want boom", r)
			}
		}()
		_ = l.Do(context.Background(), func() { panic("boom") })
	}()
	if got := l.InFlight(); got != 0 {
		t.Errorf("InFlight() after a panic = %d, want 0", got)
	}
}
