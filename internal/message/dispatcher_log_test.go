package message_test

import (
	"strings"
	"testing"
	"time"

	. "github.com/ninsho/ninsho/internal/message"
)

func TestDispatcherLogsDurationsInMilliseconds(t *testing.T) {
	h := newHarness(t)
	slow := func(d time.Duration) func(*Outgoing) { return func(*Outgoing) { h.clock.Advance(d) } }
	a := &fakeSender{name: "a", always: errTemporary, hook: slow(1250 * time.Microsecond)}
	b := &fakeSender{name: "b", hook: slow(40 * time.Millisecond)}
	d := h.dispatcher(t, DispatcherConfig{Senders: map[Channel][]Sender{ChannelEmail: {a, b}}})
	h.enqueue(t, ChannelEmail)
	if n := mustRunOnce(t, d); n != 1 {
		t.Fatalf("delivered %d, want 1", n)
	}
	logs := h.logs.String()
	for _, want := range []string{
		`msg="message: attempt failed"`, "provider=a attempt=1 duration_ms=1.25 ",
		`msg="message: sent"`, "provider=b attempt=1 duration_ms=40\n",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q:\n%s", want, logs)
		}
	}
}
