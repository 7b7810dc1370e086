package message

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
)

// Error classes recorded with every failed attempt (Attempt.Class), so that
// an operator tells an outage from a refusal at a glance.
const (
	ClassTimeout    = "timeout"    // the provider did not answer within the send timeout
	ClassConnection = "connection" // no connection, or it broke (refused, reset, closed)
	ClassThrottled  = "throttled"  // the provider asked to slow down (HTTP 429, SMTP 421/452)
	ClassProvider   = "provider"   // the provider answered with a temporary error (5xx, 4xx)
	ClassRejected   = "rejected"   // the provider refused this message for good (Permanent)
	ClassOther      = "other"      // anything else
)

// Classify marks err with class (one of the Class constants), for a
// provider that knows better than ClassOf can guess, e.g. from an HTTP
// status. Classify(class, nil) is nil; Permanent and IsPermanent see through
// it.
func Classify(class string, err error) error {
	if err == nil {
		return nil
	}
	return &classedError{class: class, err: err}
}

type classedError struct {
	class string
	err   error
}

func (e *classedError) Error() string { return e.err.Error() }
func (e *classedError) Unwrap() error { return e.err }

// ClassOf returns the class of a provider's error: a permanent error is
// rejected, then the class a provider gave it (Classify), then a time-out or
// a connection failure found in its chain, else other.
func ClassOf(err error) string {
	if err == nil {
		return ""
	}
	if IsPermanent(err) {
		return ClassRejected
	}
	var c *classedError
	if errors.As(err, &c) {
		return c.class
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return ClassTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed):
		return ClassConnection
	}
	var oe *net.OpError
	var de *net.DNSError
	if errors.As(err, &oe) || errors.As(err, &de) {
		return ClassConnection
	}
	return ClassOther
}

// HTTPClass is the class of a temporary HTTP answer: throttled for 429,
// else provider.
func HTTPClass(status int) string {
	if status == 429 {
		return ClassThrottled
	}
	return ClassProvider
}
