package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// TestCleanPurgesAFloodInBoundedBatches floods the database with what
// strangers and time leave behind (unattached devices, ended sessions, spent
// codes, delivered and failed messages with their attempts, old events),
// then runs the housekeeping pass again and again: each pass deletes at most
// batch_size × batches_per_run rows of each kind, and the row counts come
// down to the live set and stay there.
func TestCleanPurgesAFloodInBoundedBatches(t *testing.T) {
	const (
		flood      = 700 // old rows of each kind
		batch      = 100
		batches    = 2
		perPass    = batch * batches
		wantPasses = (flood + perPass - 1) / perPass
	)
	for _, db := range storetest.Databases() {
		t.Run(db.Name, func(t *testing.T) {
			url := ""
			if db.Name == "postgres" {
				url = storetest.PostgresURL(t)
			}
			start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
			clock := ninsho.NewManualClock(start)
			var logs syncBuffer
			cfg := config.Default()
			cfg.DataDir, cfg.DatabaseURL = t.TempDir(), config.Secret(url)
			cfg.Retention.BatchSize, cfg.Retention.BatchesPerRun = batch, batches
			a, err := NewApp(context.Background(), cfg, Options{LogOutput: &logs, Clock: clock})
			if err != nil {
				t.Fatalf("NewApp: %v", err)
			}
			t.Cleanup(func() { a.Close() })
			ctx := context.Background()

			owner := mustActiveAccount(t, a.DB, start)
			mustFlood(t, a.DB, owner, start, flood)
			// A year and more later, the live set: what must stay.
			clock.Advance(401 * 24 * time.Hour)
			live := mustLiveSet(t, a.DB, owner, clock.Now())

			prev := storetest.MustRowCounts(t, a.DB)
			for kind, n := range prev {
				if kind != "flow" && n < flood {
					t.Fatalf("after the flood: %d rows in %s, want at least %d", n, kind, flood)
				}
			}
			for pass := 1; pass <= wantPasses+1; pass++ {
				a.clean(ctx)
				got := storetest.MustRowCounts(t, a.DB)
				for table, n := range got {
					if table == "delivery_attempt" {
						continue // two per message: bounded through the messages
					}
					if deleted := prev[table] - n; deleted < 0 || deleted > perPass {
						t.Errorf("pass %d: %s went from %d to %d rows, want at most %d deleted", pass, table, prev[table], n, perPass)
					}
				}
				prev = got
			}
			if fmt.Sprint(prev) != fmt.Sprint(live) {
				t.Errorf("rows after %d passes: got %v, want the live set %v", wantPasses+1, prev, live)
			}
			if out := logs.String(); !strings.Contains(out, "purged old records") || !strings.Contains(out, fmt.Sprintf("sessions=%d", perPass)) ||
				!strings.Contains(out, "duration_ms=0\n") {
				t.Errorf("log: got %q, want lines \"purged old records\" with sessions=%d and duration_ms (0 on a stopped clock)", out, perPass)
			}
			if strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("log: got errors:\n%s", logs.String())
			}
		})
	}
}

func mustActiveAccount(tb testing.TB, db *store.DB, at time.Time) *account.Account {
	tb.Helper()
	a := storetest.NewAccount("default", "hanako@example.jp", "")
	a.Status, a.CreatedAt, a.UpdatedAt = account.StatusActive, at, at
	return storetest.MustCreateAccount(tb, db, a)
}

// mustFlood writes n rows of each kind that the retention policy no longer
// keeps a year later: unattached devices, ended sessions, spent codes,
// delivered and failed messages (two attempts each) and events.
func mustFlood(tb testing.TB, db *store.DB, owner *account.Account, at time.Time, n int) {
	tb.Helper()
	ctx := context.Background()
	err := db.InTx(ctx, func(ctx context.Context) error {
		for i := range n {
			d := storetest.NewDevice("default")
			d.CreatedAt, d.LastSeenAt = at, at
			if err := db.CreateDevice(ctx, d); err != nil {
				return err
			}
			s := storetest.NewSession("default", owner.ID)
			s.CreatedAt, s.LastSeenAt, s.ExpiresAt = at, at, at.Add(time.Hour)
			if i%2 == 0 {
				s.RevokedAt = &at
			}
			if err := db.CreateSession(ctx, s); err != nil {
				return err
			}
			c := storetest.NewCode("default", storetest.NewID(), "", fmt.Sprintf("stranger%d@example.jp", i))
			c.CreatedAt, c.ExpiresAt = at, at.Add(10*time.Minute)
			if err := db.InsertCode(ctx, c); err != nil {
				return err
			}
			m := storetest.NewMessage("default", c.Destination)
			m.CreatedAt, m.NextAttemptAt = at, at
			if err := db.EnqueueMessage(ctx, m); err != nil {
				return err
			}
			for j := range 2 {
				if err := db.RecordAttempt(ctx, &message.Attempt{
					ID: storetest.NewID(), MessageID: m.ID, Provider: "smtp", OK: j == 1, At: at.Add(time.Duration(j) * time.Second),
				}); err != nil {
					return err
				}
			}
			if err := db.AppendEvent(ctx, &event.Event{
				ID: storetest.NewID(), Realm: "default", Type: event.TypeSigninFailed, Actor: "anonymous",
				DeviceID: d.ID, At: at,
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("flood: %v", err)
	}
	// Deliver every message: half sent, half failed for good.
	claimed, err := db.ClaimMessages(ctx, "flood", at, at.Add(time.Minute), n)
	if err != nil || len(claimed) != n {
		tb.Fatalf("flood: claim: got %d, %v; want %d", len(claimed), err, n)
	}
	err = db.InTx(ctx, func(ctx context.Context) error {
		for i, m := range claimed {
			m.Status, m.Attempts, m.SealedVars = message.StatusFailed, 2, nil
			if i%2 == 0 {
				sent := at.Add(2 * time.Second)
				m.Status, m.SentAt = message.StatusSent, &sent
			}
			if ok, err := db.FinishAttempt(ctx, m); err != nil || !ok {
				return fmt.Errorf("finish: got %v, %v", ok, err)
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("flood: %v", err)
	}
}

// mustLiveSet writes, at now, what retention keeps, and returns the row
// counts it expects once the flood is gone: a live session on a familiar
// device, an unattached device seen today, a code still valid, a pending
// message, the owner's events of the last 90 days.
func mustLiveSet(tb testing.TB, db *store.DB, owner *account.Account, now time.Time) map[string]int {
	tb.Helper()
	ctx := context.Background()
	familiar := storetest.NewDevice("default")
	familiar.CreatedAt, familiar.LastSeenAt = now.Add(-500*24*time.Hour), now.Add(-500*24*time.Hour)
	storetest.MustCreateDevice(tb, db, familiar)
	if err := db.MarkFamiliar(ctx, owner.ID, familiar.ID, now); err != nil {
		tb.Fatalf("MarkFamiliar: %v", err)
	}
	today := storetest.NewDevice("default")
	today.CreatedAt, today.LastSeenAt = now, now
	storetest.MustCreateDevice(tb, db, today)
	s := storetest.NewSession("default", owner.ID)
	s.DeviceID, s.CreatedAt, s.LastSeenAt, s.ExpiresAt = familiar.ID, now, now, now.Add(30*24*time.Hour)
	storetest.MustCreateSession(tb, db, s)
	c := storetest.NewCode("default", storetest.NewID(), owner.ID, owner.Email)
	c.CreatedAt, c.ExpiresAt = now, now.Add(10*time.Minute)
	storetest.MustInsertCode(tb, db, c)
	m := storetest.NewMessage("default", owner.Email)
	m.CreatedAt, m.NextAttemptAt = now, now.Add(time.Minute)
	storetest.MustEnqueue(tb, db, m)
	for _, ago := range []time.Duration{0, 89 * 24 * time.Hour} {
		if err := db.AppendEvent(ctx, &event.Event{
			ID: storetest.NewID(), Realm: "default", AccountID: owner.ID, Type: event.TypeSigninSucceeded,
			Actor: "account:" + owner.ID, DeviceID: familiar.ID, At: now.Add(-ago),
		}); err != nil {
			tb.Fatalf("AppendEvent: %v", err)
		}
	}
	return map[string]int{"session": 1, "code": 1, "message": 1, "delivery_attempt": 0, "event": 2, "device": 2, "flow": 0}
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
