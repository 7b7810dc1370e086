package message

import (
	"errors"
	"time"
)

// Metrics observes deliveries; the dispatcher calls it for every outcome.
// Implementations must be safe for concurrent use and must not block. The
// package messageprom implements it with Prometheus metrics. Provider names
// are those of the configuration (a fixed set); channels are the Channel
// constants.
type Metrics interface {
	// Sent counts a message that provider accepted, sinceEnqueue after it
	// was written to the outbox.
	Sent(ch Channel, provider string, sinceEnqueue time.Duration)
	// AttemptFailed counts one failed attempt on provider.
	AttemptFailed(ch Channel, provider string)
	// Failed counts a message given up (status failed); provider is the
	// last one tried ("" when none was).
	Failed(ch Channel, provider string)
	// Breaker reports that provider's circuit breaker moved to s.
	Breaker(provider string, s BreakerState)
}

type noMetrics struct{}

func (noMetrics) Sent(Channel, string, time.Duration) {}
func (noMetrics) AttemptFailed(Channel, string)       {}
func (noMetrics) Failed(Channel, string)              {}
func (noMetrics) Breaker(string, BreakerState)        {}

// Permanent marks a provider error as permanent: retrying the same message
// cannot succeed (the recipient or the content was refused). The dispatcher
// still tries the channel's other providers, does not count the error against
// the provider's breaker, and fails the message at once when every provider it
// tried answered with a permanent error. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err or an error it wraps was marked by Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }
