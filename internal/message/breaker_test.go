package message_test

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/ninsho/ninsho/internal/message"
)

func TestBreakerOpensAfterThresholdAndSkips(t *testing.T) {
	h := newHarness(t)
	a := &fakeSender{name: "a", always: errTemporary}
	b := &fakeSender{name: "b"}
	d := h.dispatcher(t, DispatcherConfig{
		Senders:          map[Channel][]Sender{ChannelEmail: {a, b}},
		FailureThreshold: 3,
		CoolOff:          time.Minute,
	})
	for i := range 3 {
		if got := d.BreakerState("a"); got != BreakerClosed {
			t.Fatalf("after %d failures: a is %v, want closed", i, got)
		}
		h.enqueue(t, ChannelEmail)
		mustRunOnce(t, d)
	}
	if got := d.BreakerState("a"); got != BreakerOpen {
		t.Fatalf("after 3 failures: a is %v, want open", got)
	}
	if want := []string{"a open"}; !slices.Equal(h.metrics.breakers, want) {
		t.Errorf("breaker metrics = %v, want %v", h.metrics.breakers, want)
	}
	// Skipped while open: ten messages go to b only.
	for range 10 {
		h.enqueue(t, ChannelEmail)
	}
	h.clock.Advance(59 * time.Second)
	if n := mustRunOnce(t, d); n != 10 {
		t.Fatalf("delivered %d, want 10", n)
	}
	if a.calls() != 3 || b.calls() != 13 {
		t.Errorf("calls a=%d b=%d, want a=3 (skipped while open) b=13", a.calls(), b.calls())
	}
}

func TestBreakerPermanentErrorsDoNotCount(t *testing.T) {
	h := newHarness(t)
	a := &fakeSender{name: "a", always: Permanent(errTemporary)}
	d := h.dispatcher(t, DispatcherConfig{
		Senders:          map[Channel][]Sender{ChannelEmail: {a, &fakeSender{name: "b"}}},
		FailureThreshold: 1,
	})
	for range 5 {
		h.enqueue(t, ChannelEmail)
	}
	mustRunOnce(t, d)
	if a.calls() != 5 || d.BreakerState("a") != BreakerClosed {
		t.Errorf("a called %d times, state %v; want 5 calls and closed (permanent errors say the provider is up)", a.calls(), d.BreakerState("a"))
	}
}

func TestBreakerProbeClosesOrDoublesBackoff(t *testing.T) {
	h := newHarness(t)
	a := &fakeSender{name: "a", script: []error{errTemporary, errTemporary, errTemporary}} // then accepts
	b := &fakeSender{name: "b"}
	d := h.dispatcher(t, DispatcherConfig{
		Senders:          map[Channel][]Sender{ChannelEmail: {a, b}},
		FailureThreshold: 1,
		CoolOff:          time.Minute,
		MaxCoolOff:       3 * time.Minute,
	})
	send := func(step string, wantTried ...string) {
		t.Helper()
		m := h.enqueue(t, ChannelEmail)
		if n := mustRunOnce(t, d); n != 1 {
			t.Fatalf("%s: delivered %d, want 1", step, n)
		}
		if tried, _, _ := h.attempts(t, m.ID); !slices.Equal(tried, wantTried) {
			t.Errorf("%s: tried %v, want %v", step, tried, wantTried)
		}
	}
	send("first failure opens", "a", "b")
	h.clock.Advance(time.Minute - time.Nanosecond)
	send("open for 1m", "b")
	h.clock.Advance(time.Nanosecond)
	if got := d.BreakerState("a"); got != BreakerHalfOpen {
		t.Fatalf("after the back-off: %v, want half-open", got)
	}
	send("probe fails", "a", "b")
	h.clock.Advance(2*time.Minute - time.Nanosecond)
	send("open for 2m (doubled)", "b")
	h.clock.Advance(time.Nanosecond)
	send("second probe fails", "a", "b")
	h.clock.Advance(3*time.Minute - time.Nanosecond)
	send("open for 3m (the cap, not 4m)", "b")
	h.clock.Advance(time.Nanosecond)
	send("probe succeeds", "a")
	if got := d.BreakerState("a"); got != BreakerClosed {
		t.Fatalf("after a successful probe: %v, want closed", got)
	}
	send("closed", "a")
	want := []string{"a open", "a half-open", "a open", "a half-open", "a open", "a half-open", "a closed"}
	if !slices.Equal(h.metrics.breakers, want) {
		t.Errorf("breaker metrics = %v, want %v", h.metrics.breakers, want)
	}
	// After closing, the back-off starts again from CoolOff.
	a.always = errTemporary
	a.script = nil
	send("fails again", "a", "b")
	h.clock.Advance(time.Minute)
	if got := d.BreakerState("a"); got != BreakerHalfOpen {
		t.Errorf("1m after reopening: %v, want half-open (back-off reset by the success)", got)
	}
}

func TestBreakerOneProbeAtATime(t *testing.T) {
	// Unit: many callers after the back-off, exactly one probe.
	bs := NewBreakers(1, time.Minute, time.Hour, nil)
	t0 := testT0
	bs.Failed("a", t0, false)
	var (
		wg     sync.WaitGroup
		probes atomic.Int32
	)
	for range 64 {
		wg.Go(func() {
			if ok, probe := bs.Allow("a", t0.Add(time.Minute)); ok && probe {
				probes.Add(1)
			}
		})
	}
	wg.Wait()
	if probes.Load() != 1 {
		t.Fatalf("%d probes allowed at once, want 1", probes.Load())
	}
	if ok, _ := bs.Allow("a", t0.Add(2*time.Minute)); ok {
		t.Error("a second probe was allowed while the first is in flight")
	}
	bs.Released("a", true)
	if ok, probe := bs.Allow("a", t0.Add(2*time.Minute)); !ok || !probe {
		t.Error("after a released probe, the next caller does not probe")
	}

	// Dispatcher: eight messages delivered in parallel while a is
	// half-open; exactly one goes to a, and a holds it until the others
	// have gone to b.
	h := newHarness(t)
	var inA atomic.Int32
	release := make(chan struct{})
	a := &fakeSender{name: "a", script: []error{errTemporary}}
	b := &fakeSender{name: "b"}
	d := h.dispatcher(t, DispatcherConfig{
		Senders:          map[Channel][]Sender{ChannelEmail: {a, b}},
		FailureThreshold: 1,
		CoolOff:          time.Minute,
		Parallel:         8,
	})
	h.enqueue(t, ChannelEmail)
	mustRunOnce(t, d) // a fails: open
	h.clock.Advance(time.Minute)
	a.hook = func(*Outgoing) {
		inA.Add(1)
		<-release
	}
	b.hook = func(*Outgoing) {
		if b.calls() == 1+7 { // the first message, and the seven non-probes
			close(release)
		}
	}
	for range 8 {
		h.enqueue(t, ChannelEmail)
	}
	if n := mustRunOnce(t, d); n != 8 {
		t.Fatalf("delivered %d, want 8", n)
	}
	if inA.Load() != 1 || d.BreakerState("a") != BreakerClosed {
		t.Errorf("a got %d messages while half-open, state %v; want exactly 1 probe, then closed", inA.Load(), d.BreakerState("a"))
	}
}

func TestBreakerAllOpenWaitsWithoutUsingAttempts(t *testing.T) {
	h := newHarness(t)
	a := &fakeSender{name: "a", always: errTemporary}
	b := &fakeSender{name: "b", always: errTemporary}
	d := h.dispatcher(t, DispatcherConfig{
		Senders:          map[Channel][]Sender{ChannelEmail: {a, b}},
		FailureThreshold: 1,
		CoolOff:          3 * time.Second,
		MaxAttempts:      2,
	})
	if d.ChannelDown("jp", ChannelEmail) {
		t.Error("ChannelDown before any failure: true")
	}
	m := h.enqueue(t, ChannelEmail)
	mustRunOnce(t, d) // both fail once: both open
	got := h.message(t, m.ID)
	if !d.ChannelDown("jp", ChannelEmail) || !d.ChannelDown("jp", ChannelVoice) {
		t.Error("ChannelDown with every provider open (or none for the channel): false")
	}
	if got.Attempts != 1 || d.BreakerState("a") != BreakerOpen || d.BreakerState("b") != BreakerOpen {
		t.Fatalf("after one round: %d attempts, a %v, b %v", got.Attempts, d.BreakerState("a"), d.BreakerState("b"))
	}
	// Every provider open: the message is looked at many times and never
	// tried, never failed, and keeps its one attempt.
	fresh := h.enqueue(t, ChannelEmail)
	h.clock.Set(got.NextAttemptAt)
	for range 5 {
		mustRunOnce(t, d)
		h.clock.Advance(100 * time.Millisecond)
	}
	for _, id := range []string{m.ID, fresh.ID} {
		got := h.message(t, id)
		if got.Status != StatusPending || got.SealedVars == nil {
			t.Errorf("%s: status %s, want pending with its variables", id, got.Status)
		}
		if !strings.Contains(got.LastError, "circuit open: a, b") {
			t.Errorf("%s: LastError %q, want the open providers named", id, got.LastError)
		}
	}
	if n := h.message(t, fresh.ID).Attempts; n != 0 {
		t.Errorf("fresh message used %d attempts while every provider was open, want 0", n)
	}
	if n := h.message(t, m.ID).Attempts; n != 1 {
		t.Errorf("message used %d attempts, want still 1 (MaxAttempts 2 not reached)", n)
	}
	if a.calls() != 1 || b.calls() != 1 {
		t.Errorf("calls a=%d b=%d, want 1 each (skipped while open)", a.calls(), b.calls())
	}
	// It is due again when the first breaker half-opens (not later).
	reopen := testT0.Add(3 * time.Second)
	if next := h.message(t, fresh.ID).NextAttemptAt; next.After(reopen) || next.Before(h.clock.Now().Add(-time.Second)) {
		t.Errorf("next attempt at %v, want by %v (when a half-opens)", next, reopen)
	}
	// The providers recover: the probes deliver both.
	a.always, b.always = nil, nil
	h.clock.Set(reopen)
	if d.ChannelDown("jp", ChannelEmail) {
		t.Error("ChannelDown once a breaker half-opens: true")
	}
	if n := mustRunOnce(t, d); n != 2 {
		t.Fatalf("after the back-off: delivered %d, want 2", n)
	}
}
