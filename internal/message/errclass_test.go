package message

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"permanent wins over a given class", Permanent(Classify(ClassProvider, errors.New("550"))), ClassRejected},
		{"a class given inside permanent", Classify(ClassProvider, Permanent(errors.New("550"))), ClassRejected},
		{"given class", Classify(ClassThrottled, errors.New("429")), ClassThrottled},
		{"deadline", fmt.Errorf("send: %w", context.DeadlineExceeded), ClassTimeout},
		{"net timeout", &net.OpError{Op: "read", Err: timeoutErr{}}, ClassTimeout},
		{"refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), ClassConnection},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), ClassConnection},
		{"closed by the peer", fmt.Errorf("smtp: %w", io.EOF), ClassConnection},
		{"op error", &net.OpError{Op: "dial", Err: errors.New("no route")}, ClassConnection},
		{"dns", &net.DNSError{Err: "no such host", Name: "x.invalid"}, ClassConnection},
		{"anything else", errors.New("strange"), ClassOther},
	} {
		if got := ClassOf(tc.err); got != tc.want {
			t.Errorf("%s: ClassOf(%v) = %q, want %q", tc.name, tc.err, got, tc.want)
		}
	}
	if HTTPClass(429) != ClassThrottled || HTTPClass(503) != ClassProvider {
		t.Error("HTTPClass: 429 must be throttled and 503 provider")
	}
}
