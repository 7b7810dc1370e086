package storetest

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// Message checks message.Store: the outbox round trip, leases that only one
// claimer gets even under concurrency, and attempts finished only by the
// lease holder.
func Message(t *testing.T, open func(tb testing.TB) Stores) {
	ctx := context.Background()

	t.Run("round trip", func(t *testing.T) {
		s := open(t)
		m := NewMessage("jp", "hanako@example.jp")
		m.Status = "" // EnqueueMessage makes it pending
		MustEnqueue(t, s, m)
		if m.Status != message.StatusPending {
			t.Errorf("EnqueueMessage: got status %q, want %q", m.Status, message.StatusPending)
		}
		got, err := s.Message(ctx, m.ID)
		mustNil(t, "Message", err)
		if !reflect.DeepEqual(got, m) {
			t.Errorf("Message:\ngot  %s\nwant %s", show(got), show(m))
		}
		_, err = s.Message(ctx, NewID())
		wantCode(t, "Message of an unknown id", err, ninsho.CodeNotFound)
	})

	t.Run("claim", func(t *testing.T) {
		s := open(t)
		now := at(time.Hour)
		lease := now.Add(time.Minute)
		due := func(d time.Duration, change func(*message.Message)) *message.Message {
			m := NewMessage("jp", "hanako@example.jp")
			m.NextAttemptAt = now.Add(d)
			if change != nil {
				change(m)
			}
			return MustEnqueue(t, s, m)
		}
		// A message sent long ago is never claimed again.
		sent := due(-3*time.Hour, nil)
		markSent(t, s, sent.ID, at(-2*time.Hour))
		oldest := due(-time.Hour, nil)
		atNow := due(0, nil)
		leaseEnded := due(-time.Minute, func(m *message.Message) { m.LeaseOwner, m.LeaseUntil = "gone", now })
		due(time.Microsecond, nil) // not yet due
		due(-time.Minute, func(m *message.Message) { m.LeaseOwner, m.LeaseUntil = "busy", now.Add(time.Second) })

		got, err := s.ClaimMessages(ctx, "worker-1", now, lease, 2)
		mustNil(t, "ClaimMessages", err)
		if ids(got) != ids([]*message.Message{oldest, leaseEnded}) {
			t.Fatalf("ClaimMessages with limit 2: got %s, want %s", ids(got), ids([]*message.Message{oldest, leaseEnded}))
		}
		for _, m := range got {
			if m.LeaseOwner != "worker-1" || !m.LeaseUntil.Equal(lease) {
				t.Errorf("claimed message: got lease %q until %v, want %q until %v", m.LeaseOwner, m.LeaseUntil, "worker-1", lease)
			}
		}
		got, err = s.ClaimMessages(ctx, "worker-2", now, lease, 10)
		mustNil(t, "ClaimMessages again", err)
		if ids(got) != ids([]*message.Message{atNow}) {
			t.Fatalf("second ClaimMessages: got %s, want %s", ids(got), ids([]*message.Message{atNow}))
		}
		got, err = s.ClaimMessages(ctx, "worker-3", now, lease, 10)
		mustNil(t, "ClaimMessages when all are leased", err)
		if len(got) != 0 {
			t.Fatalf("third ClaimMessages: got %s, want none", ids(got))
		}
		// When the first leases end, another worker takes them over, and the
		// message that was busy until now+1s is free too.
		got, err = s.ClaimMessages(ctx, "worker-4", lease, lease.Add(time.Minute), 10)
		mustNil(t, "ClaimMessages after the leases ended", err)
		if len(got) != 5 {
			t.Errorf("ClaimMessages after the leases ended: got %d messages %s, want 5 (all due, unsent)", len(got), ids(got))
		}
	})

	t.Run("finish attempt", func(t *testing.T) {
		s := open(t)
		now := at(time.Hour)
		MustEnqueue(t, s, NewMessage("jp", "hanako@example.jp"))
		claimed, err := s.ClaimMessages(ctx, "worker-1", now, now.Add(time.Minute), 1)
		mustNil(t, "ClaimMessages", err)
		if len(claimed) != 1 {
			t.Fatalf("ClaimMessages: got %d, want 1", len(claimed))
		}
		mine := claimed[0]
		// worker-1 stalls past its lease; worker-2 takes the message over.
		stolen, err := s.ClaimMessages(ctx, "worker-2", now.Add(2*time.Minute), now.Add(3*time.Minute), 1)
		mustNil(t, "ClaimMessages after the lease ended", err)
		if len(stolen) != 1 || stolen[0].ID != mine.ID {
			t.Fatalf("ClaimMessages after the lease ended: got %s, want [%s]", ids(stolen), mine.ID)
		}

		late := *mine
		late.Status, late.Attempts, late.Provider, late.LastError = message.StatusFailed, 1, "smtp", "too late"
		ok, err := s.FinishAttempt(ctx, &late)
		mustNil(t, "FinishAttempt by the old holder", err)
		if ok {
			t.Errorf("FinishAttempt by the old holder: got true, want false (lease lost)")
		}

		theirs := stolen[0]
		theirs.Status, theirs.Attempts, theirs.Provider, theirs.ProviderMessageID = message.StatusSent, 1, "devinbox", "dev-1"
		theirs.SentAt, theirs.SealedVars, theirs.LastError = ptr(now.Add(2*time.Minute)), nil, ""
		theirs.NextAttemptAt = now.Add(2 * time.Minute)
		ok, err = s.FinishAttempt(ctx, theirs)
		mustNil(t, "FinishAttempt by the holder", err)
		if !ok {
			t.Fatalf("FinishAttempt by the holder: got false, want true")
		}
		if theirs.LeaseOwner != "" || !theirs.LeaseUntil.IsZero() {
			t.Errorf("FinishAttempt: got lease %q until %v left on the message, want it cleared", theirs.LeaseOwner, theirs.LeaseUntil)
		}
		got, err := s.Message(ctx, mine.ID)
		mustNil(t, "Message", err)
		if !reflect.DeepEqual(got, theirs) {
			t.Errorf("Message after FinishAttempt:\ngot  %s\nwant %s", show(got), show(theirs))
		}
		ok, err = s.FinishAttempt(ctx, &late)
		if err != nil || ok {
			t.Errorf("FinishAttempt after the lease was cleared: got %v, %v; want false, nil", ok, err)
		}
		again, err := s.ClaimMessages(ctx, "worker-3", now.Add(time.Hour), now.Add(2*time.Hour), 10)
		mustNil(t, "ClaimMessages", err)
		if len(again) != 0 {
			t.Errorf("ClaimMessages after sending: got %s, want none", ids(again))
		}

		a := &message.Attempt{ID: NewID(), MessageID: mine.ID, Provider: "devinbox", OK: true, At: now, Duration: 1500 * time.Microsecond}
		mustNil(t, "RecordAttempt", s.RecordAttempt(ctx, a))
	})

	t.Run("delivery reports", func(t *testing.T) { deliveryReports(t, open) })
	t.Run("recent messages", func(t *testing.T) { recentMessages(t, open) })

	t.Run("concurrent claims", func(t *testing.T) {
		s := open(t)
		const total, workers = 60, 8
		for range total {
			MustEnqueue(t, s, NewMessage("jp", "hanako@example.jp"))
		}
		now := at(time.Hour)
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			byID   = map[string]string{}
			double []string
		)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := fmt.Sprintf("worker-%d", w)
				for {
					got, err := s.ClaimMessages(ctx, owner, now, now.Add(time.Minute), 3)
					if err != nil {
						t.Errorf("ClaimMessages(%s): %v", owner, err)
						return
					}
					if len(got) == 0 {
						return
					}
					if len(got) > 3 {
						t.Errorf("ClaimMessages(%s, limit 3): got %d messages", owner, len(got))
					}
					mu.Lock()
					for _, m := range got {
						if prev, ok := byID[m.ID]; ok {
							double = append(double, fmt.Sprintf("%s to %s and %s", m.ID, prev, owner))
						}
						byID[m.ID] = owner
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(double) > 0 {
			t.Errorf("messages handed out twice: %v", double)
		}
		if len(byID) != total {
			t.Errorf("claimed: got %d distinct messages, want %d", len(byID), total)
		}
	})
}

// deliveryReports checks message.ReportStore: statuses only move forward,
// a replay changes nothing, a report through another provider is refused,
// a report may precede the dispatcher's own "sent", and a report may name the
// message by the provider's id.
func deliveryReports(t *testing.T, open func(tb testing.TB) Stores) {
	ctx := context.Background()
	s := open(t)
	m := MustEnqueue(t, s, NewMessage("jp", "+819012345678"))
	d, err := s.Delivery(ctx, m.ID)
	mustNil(t, "Delivery", err)
	if d.Status != message.DeliveryQueued || !d.UpdatedAt.Equal(Epoch) || !d.CreatedAt.Equal(Epoch) || d.Channel != message.ChannelEmail {
		t.Fatalf("Delivery of a new message: got %+v, want queued at the epoch", d)
	}
	_, err = s.Delivery(ctx, NewID())
	wantCode(t, "Delivery of an unknown id", err, ninsho.CodeNotFound)

	apply := func(r message.DeliveryReport) bool {
		t.Helper()
		_, ok, err := s.ApplyDeliveryReport(ctx, &r)
		mustNil(t, "ApplyDeliveryReport", err)
		return ok
	}
	at := Epoch.Add(time.Minute)
	// A pending message may be reported on by the provider that is sending it.
	if !apply(message.DeliveryReport{Provider: "kannel", MessageID: m.ID, Status: message.DeliverySent, At: at}) {
		t.Fatal("ApplyDeliveryReport sent on a queued message: got false, want true")
	}
	if apply(message.DeliveryReport{Provider: "kannel", MessageID: m.ID, Status: message.DeliverySent, At: at.Add(time.Second)}) {
		t.Error("ApplyDeliveryReport: a replayed sent changed the message")
	}
	// The dispatcher finishes after the report: the status stays and the
	// provider is written.
	got, err := s.ClaimMessages(ctx, "w", Epoch, Epoch.Add(time.Minute), 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("ClaimMessages: got %d, %v", len(got), err)
	}
	c := got[0]
	c.Status, c.Attempts, c.SentAt, c.Provider, c.ProviderMessageID, c.DeliveryUpdatedAt = message.StatusSent, 1, ptr(at), "kannel", "k-1", at
	if ok, err := s.FinishAttempt(ctx, c); err != nil || !ok {
		t.Fatalf("FinishAttempt: %v, %v", ok, err)
	}
	if apply(message.DeliveryReport{Provider: "twilio", MessageID: m.ID, Status: message.DeliveryDelivered, At: at}) {
		t.Error("ApplyDeliveryReport from another provider changed the message")
	}
	later := at.Add(5 * time.Second)
	r := message.DeliveryReport{Provider: "kannel", ProviderMessageID: "k-1", Status: message.DeliveryUndelivered, At: later}
	returned, ok, err := s.ApplyDeliveryReport(ctx, &r)
	if err != nil || !ok || r.MessageID != m.ID {
		t.Fatalf("ApplyDeliveryReport by provider id: got %v, %v, id %q; want true, nil, %q", ok, err, r.MessageID, m.ID)
	}
	for _, st := range []message.DeliveryStatus{message.DeliverySent, message.DeliveryDelivered, message.DeliveryFailed, message.DeliveryUndelivered} {
		if apply(message.DeliveryReport{Provider: "kannel", MessageID: m.ID, Status: st, At: later.Add(time.Hour)}) {
			t.Errorf("ApplyDeliveryReport %s after a final status changed the message", st)
		}
	}
	if apply(message.DeliveryReport{Provider: "kannel", MessageID: NewID(), Status: message.DeliveryDelivered, At: later}) {
		t.Error("ApplyDeliveryReport on an unknown message: got true")
	}
	d, err = s.Delivery(ctx, m.ID)
	mustNil(t, "Delivery", err)
	if d.Status != message.DeliveryUndelivered || !d.UpdatedAt.Equal(later) {
		t.Errorf("Delivery: got %s at %v, want undelivered at %v", d.Status, d.UpdatedAt, later)
	}
	if returned.MessageID != d.MessageID || returned.Channel != d.Channel || returned.Status != d.Status ||
		!returned.UpdatedAt.Equal(d.UpdatedAt) || !returned.CreatedAt.Equal(d.CreatedAt) {
		t.Errorf("ApplyDeliveryReport returned %+v, want what Delivery reads: %+v", returned, d)
	}

	// A message finished as sent, then reported delivered; the dispatcher's
	// failed never lowers a final report either.
	m2 := MustEnqueue(t, s, NewMessage("jp", "+819012345679"))
	markSent(t, s, m2.ID, Epoch.Add(time.Hour))
	d, err = s.Delivery(ctx, m2.ID)
	mustNil(t, "Delivery", err)
	if d.Status != message.DeliverySent {
		t.Errorf("Delivery after FinishAttempt sent: got %s, want sent", d.Status)
	}
}

// markSent claims the one message due at now and finishes it as sent.
func markSent(tb testing.TB, s Stores, id string, now time.Time) {
	tb.Helper()
	ctx := context.Background()
	got, err := s.ClaimMessages(ctx, "setup", now, now.Add(time.Second), 10)
	if err != nil || len(got) != 1 || got[0].ID != id {
		tb.Fatalf("markSent: claim: got %s, %v; want [%s]", ids(got), err, id)
	}
	m := got[0]
	m.Status, m.Attempts, m.SentAt, m.SealedVars = message.StatusSent, 1, ptr(now), nil
	if ok, err := s.FinishAttempt(ctx, m); err != nil || !ok {
		tb.Fatalf("markSent: finish: got %v, %v; want true, nil", ok, err)
	}
}

// ids renders the ids of ms in order.
func ids(ms []*message.Message) string {
	out := "["
	for i, m := range ms {
		if i > 0 {
			out += " "
		}
		out += m.ID
	}
	return out + "]"
}

// recentMessages checks message.ListStore: newest first, the filters, the
// limit, and never the sealed variables.
func recentMessages(t *testing.T, open func(tb testing.TB) Stores) {
	ctx := context.Background()
	s := open(t)
	var all []*message.Message
	for i, realm := range []string{"jp", "us", "jp", "jp"} {
		m := NewMessage(realm, "hanako@example.jp")
		m.CreatedAt = at(time.Duration(i) * time.Minute)
		if i != 2 {
			m.NextAttemptAt = at(2 * time.Hour) // only all[2] is due for markSent
		}
		all = append(all, MustEnqueue(t, s, m))
	}
	markSent(t, s, all[2].ID, at(time.Hour))
	list := func(f message.MessageFilter) string {
		t.Helper()
		got, err := s.RecentMessages(ctx, f)
		mustNil(t, "RecentMessages", err)
		for _, m := range got {
			if m.SealedVars != nil {
				t.Errorf("RecentMessages returned the sealed variables of %s", m.ID)
			}
		}
		return ids(got)
	}
	want := func(ms ...*message.Message) string { return ids(ms) }
	if got := list(message.MessageFilter{}); got != want(all[3], all[2], all[1], all[0]) {
		t.Errorf("every message: got %s, want newest first", got)
	}
	if got := list(message.MessageFilter{Limit: 2}); got != want(all[3], all[2]) {
		t.Errorf("limit 2: got %s", got)
	}
	if got := list(message.MessageFilter{Realm: "jp", Status: message.StatusPending}); got != want(all[3], all[0]) {
		t.Errorf("jp pending: got %s", got)
	}
	if got := list(message.MessageFilter{Delivery: message.DeliverySent}); got != want(all[2]) {
		t.Errorf("delivery sent: got %s", got)
	}
	if got := list(message.MessageFilter{Realm: "nowhere"}); got != "[]" {
		t.Errorf("unknown realm: got %s, want none", got)
	}
	got, err := s.RecentMessages(ctx, message.MessageFilter{Limit: 1})
	mustNil(t, "RecentMessages", err)
	full, err := s.Message(ctx, all[3].ID)
	mustNil(t, "Message", err)
	full.SealedVars = nil
	if len(got) != 1 || !reflect.DeepEqual(got[0], full) {
		t.Errorf("RecentMessages row differs from Message (without variables):\ngot  %v\nwant %s", got, show(full))
	}
}
