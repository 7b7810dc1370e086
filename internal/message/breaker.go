package message

import (
	"sync"
	"time"
)

// BreakerState is the state of a provider's circuit breaker.
type BreakerState int

// Breaker states; the numbers are those of the breaker state gauge.
const (
	BreakerClosed   BreakerState = 0 // messages go to the provider
	BreakerHalfOpen BreakerState = 1 // the back-off ended: one probe message at a time
	BreakerOpen     BreakerState = 2 // skipped until the back-off ends
)

// String names the state ("closed", "half-open", "open").
func (s BreakerState) String() string {
	switch s {
	case BreakerClosed:
		return "closed"
	case BreakerHalfOpen:
		return "half-open"
	case BreakerOpen:
		return "open"
	}
	return "unknown"
}

// DefaultMaxCoolOff caps the doubling back-off of an open breaker.
const DefaultMaxCoolOff = 10 * time.Minute

// Breakers are the circuit breakers of the providers, one per provider name.
// A closed breaker opens after threshold consecutive failures (errors other
// than Permanent ones, and timeouts); an open one is skipped for its back-off
// (coolOff, doubled on each failed probe up to maxCoolOff); then it is
// half-open: Allow lets exactly one probe message at a time through, whose
// success closes the breaker (and resets the back-off) and whose failure
// opens it again with the doubled back-off. A half-open breaker leaves its
// open state lazily, when Allow is asked after the back-off.
//
// Breakers are in-process state: each dispatcher (each server instance) has
// its own and learns of a provider's health only from its own attempts. They
// are safe for concurrent use. onChange, when set, is called (under the
// breakers' lock: it must not block) with every state change.
type Breakers struct {
	threshold  int
	coolOff    time.Duration
	maxCoolOff time.Duration
	onChange   func(provider string, s BreakerState)

	mu     sync.Mutex
	byName map[string]*breaker
}

type breaker struct {
	state     BreakerState
	failures  int           // consecutive failures while closed
	backoff   time.Duration // the back-off of the current (or next) opening
	openUntil time.Time
	probing   bool // a half-open probe is in flight
}

// NewBreakers returns the breakers; threshold ≥ 1 and coolOff > 0; maxCoolOff
// below coolOff is raised to it.
func NewBreakers(threshold int, coolOff, maxCoolOff time.Duration, onChange func(string, BreakerState)) *Breakers {
	return &Breakers{
		threshold: max(threshold, 1), coolOff: coolOff, maxCoolOff: max(maxCoolOff, coolOff),
		onChange: onChange, byName: map[string]*breaker{},
	}
}

func (b *Breakers) get(name string) *breaker {
	br := b.byName[name]
	if br == nil {
		br = &breaker{backoff: b.coolOff}
		b.byName[name] = br
	}
	return br
}

func (b *Breakers) set(name string, br *breaker, s BreakerState) {
	if br.state == s {
		return
	}
	br.state = s
	if b.onChange != nil {
		b.onChange(name, s)
	}
}

// Allow reports whether a message may go to the provider at now, and
// whether it goes as the half-open probe. Every allowed probe must be
// followed by exactly one of Succeeded, Failed or Released with probe true.
func (b *Breakers) Allow(name string, now time.Time) (ok, probe bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	br := b.get(name)
	switch br.state {
	case BreakerClosed:
		return true, false
	case BreakerOpen:
		if now.Before(br.openUntil) {
			return false, false
		}
		b.set(name, br, BreakerHalfOpen)
	}
	if br.probing {
		return false, false
	}
	br.probing = true
	return true, true
}

// Succeeded records that the provider accepted a message: the breaker
// closes and its back-off starts again from coolOff.
func (b *Breakers) Succeeded(name string, probe bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	br := b.get(name)
	if probe {
		br.probing = false
	}
	br.failures, br.backoff = 0, b.coolOff
	b.set(name, br, BreakerClosed)
}

// Failed records a failure (or timeout) of the provider at now: the
// threshold-th consecutive one opens a closed breaker for the back-off; a
// failed probe opens it again with the back-off doubled (up to maxCoolOff).
// A failure of a message sent while the breaker was already open or
// half-open (it was allowed before another message opened it) changes
// nothing.
func (b *Breakers) Failed(name string, now time.Time, probe bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	br := b.get(name)
	switch {
	case probe:
		br.probing = false
		br.backoff = min(2*br.backoff, b.maxCoolOff)
		br.openUntil = now.Add(br.backoff)
		b.set(name, br, BreakerOpen)
	case br.state == BreakerClosed:
		br.failures++
		if br.failures >= b.threshold {
			br.failures = 0
			br.openUntil = now.Add(br.backoff)
			b.set(name, br, BreakerOpen)
		}
	}
}

// Released gives back a probe that says nothing of the provider's health
// (a Permanent error, or a send interrupted by shutdown): the breaker stays
// half-open and the next message probes.
func (b *Breakers) Released(name string, probe bool) {
	if !probe {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.get(name).probing = false
}

// State returns the provider's state at now, as Allow would see it (an open
// breaker whose back-off ended reads half-open).
func (b *Breakers) State(name string, now time.Time) BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	br := b.byName[name]
	if br == nil {
		return BreakerClosed
	}
	if br.state == BreakerOpen && !now.Before(br.openUntil) {
		return BreakerHalfOpen
	}
	return br.state
}

// Reopens returns the earliest time at or after now when one of the named
// providers may be tried: now for a closed one or a half-open one without a
// probe in flight, the end of the back-off for an open one, and zero when
// the only candidates are half-open ones busy with a probe (the probe's end
// is unknown).
func (b *Breakers) Reopens(names []string, now time.Time) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	var first time.Time
	for _, n := range names {
		br := b.byName[n]
		t := now
		switch {
		case br == nil || br.state == BreakerClosed:
		case br.state == BreakerOpen && now.Before(br.openUntil):
			t = br.openUntil
		case br.probing:
			continue
		}
		if first.IsZero() || t.Before(first) {
			first = t
		}
	}
	return first
}
