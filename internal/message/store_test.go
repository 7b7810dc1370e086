package message_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/message/providers/devinbox"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// flakySender fails its first fails calls, moving the clock by a
// millisecond each time so that attempts sort by time.
type flakySender struct {
	name  string
	clock *ninsho.ManualClock

	mu    sync.Mutex
	fails int
	calls int
}

func (s *flakySender) Name() string { return s.name }

func (s *flakySender) Send(context.Context, *message.Outgoing) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.clock.Advance(time.Millisecond)
	if s.calls <= s.fails {
		return "", errors.New("flaky: 421 try again")
	}
	return fmt.Sprintf("%s-%d", s.name, s.calls), nil
}

// env is a database with an outbox, a dispatcher factory and a dev inbox.
type env struct {
	db     *store.DB
	clock  *ninsho.ManualClock
	outbox *message.Outbox
	inbox  *devinbox.Sender
	batch  int // claimed at once; 0 for the default
}

func newEnv(tb testing.TB, open func(testing.TB) *store.DB) *env {
	tb.Helper()
	e := &env{db: open(tb), clock: ninsho.NewManualClock(storetest.Epoch)}
	e.outbox = message.NewOutbox(e.db, message.MustBox(tb, 7), message.MustTemplates(tb), e.clock, message.NewTestRandom(1))
	e.inbox = devinbox.NewSender(e.db, e.clock)
	return e
}

// dispatcher returns a dispatcher with lease owner owner; its random source
// is seeded by the owner's last byte, so that two dispatchers on one manual
// clock make different attempt ids.
func (e *env) dispatcher(tb testing.TB, owner string, senders ...message.Sender) *message.Dispatcher {
	tb.Helper()
	if len(senders) == 0 {
		senders = []message.Sender{e.inbox}
	}
	d, err := message.NewDispatcher(message.DispatcherConfig{
		Store: e.db, Box: message.MustBox(tb, 7), Templates: message.MustTemplates(tb),
		Senders: map[message.Channel][]message.Sender{message.ChannelEmail: senders, message.ChannelSMS: senders},
		Clock:   e.clock, Random: message.NewTestRandom(owner[len(owner)-1]), Owner: owner, Wake: e.outbox.Wakeups(),
		Batch: e.batch,
	})
	if err != nil {
		tb.Fatalf("NewDispatcher: %v", err)
	}
	return d
}

func (e *env) enqueueInTx(tb testing.TB, to string, code string, fail error) (*message.Message, error) {
	tb.Helper()
	var m *message.Message
	err := e.db.InTx(context.Background(), func(ctx context.Context) error {
		var err error
		ch := message.ChannelEmail
		if strings.HasPrefix(to, "+") {
			ch = message.ChannelSMS
		}
		m, err = e.outbox.Enqueue(ctx, "jp", ch, to, message.TemplateSignupCode, "ja",
			map[string]string{"code": code, "name": "山田 太郎", "minutes": "10", "host": "id.example.com"})
		if err != nil {
			return err
		}
		return fail
	})
	return m, err
}

func runOnce(tb testing.TB, d *message.Dispatcher) int {
	tb.Helper()
	n, err := d.RunOnce(context.Background())
	if err != nil {
		tb.Fatalf("RunOnce: %v", err)
	}
	return n
}

func TestWithStore(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		t.Run("committed message reaches the dev inbox", func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			m, err := e.enqueueInTx(t, "taro@example.com", "482913", nil)
			if err != nil {
				t.Fatalf("enqueue: %v", err)
			}
			e.outbox.Wake()
			if n := runOnce(t, e.dispatcher(t, "d1")); n != 1 {
				t.Fatalf("delivered %d, want 1", n)
			}
			got, err := e.db.Message(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != message.StatusSent || got.Attempts != 1 || got.SealedVars != nil ||
				got.Provider != "devinbox" || got.ProviderMessageID != m.ID || got.SentAt == nil || got.LeaseOwner != "" {
				t.Errorf("stored message = %+v, want sent by devinbox with vars erased", got)
			}
			dev, err := e.db.DevMessages(ctx, "taro@example.com", 10)
			if err != nil || len(dev) != 1 {
				t.Fatalf("DevMessages = %d, %v; want 1", len(dev), err)
			}
			if d := dev[0]; d.ID != m.ID || d.Code != "482913" || d.Channel != "email" || d.Locale != "ja" ||
				!strings.Contains(d.Subject, "確認コード") || !strings.Contains(d.Text, "482913") || !strings.Contains(d.HTML, "482913") {
				t.Errorf("dev message = %+v", d)
			}
			as, err := e.db.Attempts(ctx, m.ID)
			if err != nil || len(as) != 1 || !as[0].OK || as[0].Provider != "devinbox" {
				t.Errorf("attempts = %v, %v; want one successful devinbox attempt", as, err)
			}
		})

		t.Run("rolled-back enqueue leaves nothing", func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			boom := errors.New("caller failed after enqueue")
			m, err := e.enqueueInTx(t, "taro@example.com", "482913", boom)
			if !errors.Is(err, boom) {
				t.Fatalf("InTx = %v, want the caller's error", err)
			}
			if _, err := e.db.Message(ctx, m.ID); !ninsho.IsCode(err, ninsho.CodeNotFound) {
				t.Errorf("Message after rollback = %v, want not_found", err)
			}
			if n := runOnce(t, e.dispatcher(t, "d1")); n != 0 {
				t.Errorf("delivered %d after rollback, want 0", n)
			}
			if dev, _ := e.db.DevMessages(ctx, "", 10); len(dev) != 0 {
				t.Errorf("dev inbox holds %d messages after rollback, want 0", len(dev))
			}
		})

		t.Run("back-off, fail-over and attempts", func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			flaky := &flakySender{name: "flaky", clock: e.clock, fails: 3}
			// Round 1: flaky fails, then the inbox is down too: pending.
			down := &flakySender{name: "down", clock: e.clock, fails: 1}
			d := e.dispatcher(t, "d1", flaky, down)
			m, err := e.enqueueInTx(t, "+819012345678", "482913", nil)
			if err != nil {
				t.Fatal(err)
			}
			if n := runOnce(t, d); n != 0 {
				t.Fatalf("round 1 delivered %d, want 0", n)
			}
			got, _ := e.db.Message(ctx, m.ID)
			if got.Status != message.StatusPending || got.Attempts != 1 || got.SealedVars == nil ||
				!got.NextAttemptAt.After(e.clock.Now()) || got.LastError != "flaky: 421 try again" {
				t.Fatalf("after round 1: %+v", got)
			}
			if n := runOnce(t, d); n != 0 {
				t.Fatalf("a message not yet due was delivered")
			}
			// Round 2: flaky fails again, "down" has recovered: sent by it.
			e.clock.Set(got.NextAttemptAt)
			if n := runOnce(t, d); n != 1 {
				t.Fatalf("round 2 delivered %d, want 1", n)
			}
			got, _ = e.db.Message(ctx, m.ID)
			if got.Status != message.StatusSent || got.Attempts != 2 || got.Provider != "down" || got.SealedVars != nil || got.LastError != "" {
				t.Errorf("after round 2: %+v", got)
			}
			as, _ := e.db.Attempts(ctx, m.ID)
			var log []string
			for _, a := range as {
				log = append(log, fmt.Sprintf("%s:%v", a.Provider, a.OK))
				if strings.Contains(a.Error, "482913") {
					t.Errorf("attempt error holds the code: %q", a.Error)
				}
			}
			if got, want := strings.Join(log, " "), "flaky:false down:false flaky:false down:true"; got != want {
				t.Errorf("attempts = %s, want %s", got, want)
			}
		})

		t.Run("lease lost to another dispatcher", func(t *testing.T) {
			e := newEnv(t, open)
			ctx := context.Background()
			var stolen []*message.Message
			thief := &hookSender{name: "slow", hook: func() {
				e.clock.Advance(message.DefaultLease + time.Second)
				now := e.clock.Now()
				stolen, _ = e.db.ClaimMessages(ctx, "d2", now, now.Add(message.DefaultLease), 10)
			}}
			m, _ := e.enqueueInTx(t, "taro@example.com", "482913", nil)
			if n := runOnce(t, e.dispatcher(t, "d1", thief)); n != 0 {
				t.Errorf("delivered %d after losing the lease, want 0", n)
			}
			got, _ := e.db.Message(ctx, m.ID)
			if len(stolen) != 1 || got.LeaseOwner != "d2" || got.Status != message.StatusPending || got.Attempts != 0 {
				t.Errorf("after a lost lease: stolen %d, stored %+v; want d2's untouched lease", len(stolen), got)
			}
		})

		t.Run("two dispatchers deliver each message once", func(t *testing.T) {
			e := newEnv(t, open)
			e.batch = 4 // small batches, so that both dispatchers claim
			ctx := context.Background()
			const n = 30
			for i := range n {
				if _, err := e.enqueueInTx(t, fmt.Sprintf("user%d@example.com", i), "482913", nil); err != nil {
					t.Fatal(err)
				}
			}
			counting := func(name string) *countingSender { return &countingSender{name: name, inner: e.inbox} }
			a, b := counting("inbox-a"), counting("inbox-b")
			da, db := e.dispatcher(t, "d1", a), e.dispatcher(t, "d2", b)
			var wg sync.WaitGroup
			for _, d := range []*message.Dispatcher{da, db} {
				wg.Go(func() {
					for range n {
						if _, err := d.RunOnce(ctx); err != nil {
							t.Errorf("RunOnce: %v", err)
						}
					}
				})
			}
			wg.Wait()
			if a.count()+b.count() != n {
				t.Errorf("sends: %d + %d, want %d in all", a.count(), b.count(), n)
			}
			if dev, _ := e.db.DevMessages(ctx, "", 100); len(dev) != n {
				t.Errorf("dev inbox holds %d messages, want %d", len(dev), n)
			}
		})
	})
}

type hookSender struct {
	name string
	hook func()
}

func (s *hookSender) Name() string { return s.name }

func (s *hookSender) Send(_ context.Context, m *message.Outgoing) (string, error) {
	s.hook()
	return m.ID, nil
}

type countingSender struct {
	name  string
	inner message.Sender
	mu    sync.Mutex
	n     int
}

func (s *countingSender) Name() string { return s.name }

func (s *countingSender) Send(ctx context.Context, m *message.Outgoing) (string, error) {
	s.mu.Lock()
	s.n++
	s.mu.Unlock()
	return s.inner.Send(ctx, m)
}

func (s *countingSender) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}
