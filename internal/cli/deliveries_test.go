package cli_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/ninsho/ninsho/internal/message"
)

// deliveries records the messages an app's development inbox has stored
// (cli.Options.Delivered), so that a test waits for the delivery it expects
// instead of polling the inbox against the clock. It is safe for concurrent
// use.
type deliveries struct {
	mu      sync.Mutex
	pending []*message.Outgoing // stored and not yet waited for, oldest first
	more    chan struct{}       // closed at the next delivery
}

func newDeliveries() *deliveries { return &deliveries{more: make(chan struct{})} }

// record is the app's Delivered hook.
func (d *deliveries) record(m *message.Outgoing) {
	c := *m
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pending = append(d.pending, &c)
	close(d.more)
	d.more = make(chan struct{})
}

// wait returns the oldest delivery not yet waited for to to that match
// accepts, once the inbox has stored it. It fails the test if ctx ends
// first; without a deadline on ctx, go test's -timeout ends a wait that
// never returns.
func (d *deliveries) wait(tb testing.TB, ctx context.Context, to string, match func(*message.Outgoing) bool) *message.Outgoing {
	tb.Helper()
	for {
		d.mu.Lock()
		for i, m := range d.pending {
			if m.To == to && match(m) {
				d.pending = slices.Delete(d.pending, i, i+1)
				d.mu.Unlock()
				return m
			}
		}
		more := d.more
		d.mu.Unlock()
		select {
		case <-more:
		case <-ctx.Done():
			tb.Fatalf("no message to %s was delivered: %v", to, ctx.Err())
		}
	}
}

// inboxes maps the base URL of each running test app to its deliveries.
var inboxes sync.Map

// registerDeliveries makes d the deliveries of the app at base until the test
// ends.
func registerDeliveries(tb testing.TB, base string, d *deliveries) {
	tb.Helper()
	inboxes.Store(base, d)
	tb.Cleanup(func() { inboxes.Delete(base) })
}

// deliveriesOf returns the deliveries of the app at base.
func deliveriesOf(tb testing.TB, base string) *deliveries {
	tb.Helper()
	d, ok := inboxes.Load(base)
	if !ok {
		tb.Fatalf("no test app at %s records its deliveries", base)
	}
	return d.(*deliveries)
}

// hasCode accepts a message that carries a code.
func hasCode(m *message.Outgoing) bool { return m.Code != "" }

// fromTemplate accepts a message made from template.
func fromTemplate(template string) func(*message.Outgoing) bool {
	return func(m *message.Outgoing) bool { return m.Template == template }
}
