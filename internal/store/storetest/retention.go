package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// RowCounter counts the rows of the tables retention bounds; store.DB has
// it. The retention suite needs it to show that nothing but the old rows
// went.
type RowCounter interface {
	RowCounts(ctx context.Context) (map[string]int, error)
}

// MustRowCounts returns s's row counts per table.
func MustRowCounts(tb testing.TB, s any) map[string]int {
	tb.Helper()
	rc, ok := s.(RowCounter)
	if !ok {
		tb.Fatalf("storetest: %T has no RowCounts", s)
	}
	n, err := rc.RowCounts(context.Background())
	if err != nil {
		tb.Fatalf("RowCounts: %v", err)
	}
	return n
}

// Retention checks retention.Store: each purge deletes exactly the rows that
// ended before the cutoff (strictly before), keeps everything else, deletes
// at most limit rows per call, and takes what refers to a row into account
// (delivery attempts go with their message; a device stays while an account,
// a session or a flow refers to it).
func Retention(t *testing.T, open func(tb testing.TB) Stores) {
	ctx := context.Background()
	cutoff := Epoch
	before := func(d time.Duration) time.Time { return cutoff.Add(-d) }
	after := func(d time.Duration) time.Time { return cutoff.Add(d) }

	t.Run("sessions", func(t *testing.T) {
		s := open(t)
		a := MustCreateAccount(t, s, NewAccount("jp", "hanako@example.jp", ""))
		cases := []struct {
			name     string
			expires  time.Time
			revoked  *time.Time
			wantGone bool
		}{
			{name: "expired before the cutoff", expires: before(time.Microsecond), wantGone: true},
			{name: "expired long before", expires: before(400 * 24 * time.Hour), wantGone: true},
			{name: "expires at the cutoff", expires: cutoff},
			{name: "live", expires: after(time.Hour)},
			{name: "revoked before the cutoff, would expire later", expires: after(time.Hour), revoked: ptr(before(time.Minute)), wantGone: true},
			{name: "revoked after the cutoff", expires: after(time.Hour), revoked: ptr(after(time.Minute))},
			{name: "revoked after it had expired long ago", expires: before(time.Hour), revoked: ptr(after(time.Minute)), wantGone: true},
		}
		sessions := make([]string, len(cases))
		hashes := make([][]byte, len(cases))
		for i, tc := range cases {
			sess := NewSession("jp", a.ID)
			sess.CreatedAt, sess.LastSeenAt = before(500*24*time.Hour), before(500*24*time.Hour)
			sess.ExpiresAt, sess.RevokedAt = tc.expires, tc.revoked
			MustCreateSession(t, s, sess)
			sessions[i], hashes[i] = sess.ID, sess.TokenHash
		}
		n, err := s.PurgeSessions(ctx, cutoff, 100)
		mustNil(t, "PurgeSessions", err)
		if want := countTrue(cases, func(i int) bool { return cases[i].wantGone }); n != want {
			t.Errorf("PurgeSessions: got %d, want %d", n, want)
		}
		for i, tc := range cases {
			_, err := s.SessionByTokenHash(ctx, hashes[i])
			if gone := ninsho.IsCode(err, ninsho.CodeUnauthenticated); gone != tc.wantGone {
				t.Errorf("session %q after PurgeSessions: got gone %v (%v), want %v", tc.name, gone, err, tc.wantGone)
			}
		}
	})

	t.Run("codes", func(t *testing.T) {
		s := open(t)
		cases := []struct {
			name     string
			purpose  code.Purpose
			created  time.Time
			expires  time.Time
			used     *time.Time
			wantGone bool
		}{
			{"expired unused", code.PurposeSignup, before(time.Hour), before(50 * time.Minute), nil, true},
			{"expired used", code.PurposeSignin, before(time.Hour), before(50 * time.Minute), ptr(before(55 * time.Minute)), true},
			{"expires at the cutoff", code.PurposeSignin, before(10 * time.Minute), cutoff, nil, false},
			{"used but not expired", code.PurposeSignin, before(5 * time.Minute), after(5 * time.Minute), ptr(before(4 * time.Minute)), false},
			{"a used \"this wasn't me\" link lives its seven days", code.PurposeNotMe, before(6 * 24 * time.Hour), after(24 * time.Hour), ptr(before(5 * 24 * time.Hour)), false},
			{"fresh", code.PurposeSignup, cutoff, after(10 * time.Minute), nil, false},
		}
		hashes := make([][]byte, len(cases))
		for i, tc := range cases {
			c := NewCode("jp", NewID(), "", "hanako@example.jp")
			c.Purpose, c.CreatedAt, c.ExpiresAt, c.ConsumedAt = tc.purpose, tc.created, tc.expires, tc.used
			MustInsertCode(t, s, c)
			hashes[i] = c.Hash
		}
		n, err := s.PurgeCodes(ctx, cutoff, 100)
		mustNil(t, "PurgeCodes", err)
		if want := countTrue(cases, func(i int) bool { return cases[i].wantGone }); n != want {
			t.Errorf("PurgeCodes: got %d, want %d", n, want)
		}
		for i, tc := range cases {
			_, err := s.CodeByHash(ctx, hashes[i])
			if gone := ninsho.IsCode(err, ninsho.CodeNotFound); gone != tc.wantGone {
				t.Errorf("code %q after PurgeCodes: got gone %v (%v), want %v", tc.name, gone, err, tc.wantGone)
			}
		}
	})

	t.Run("messages", func(t *testing.T) {
		s := open(t)
		type attempt = time.Duration // an attempt at cutoff+d
		cases := []struct {
			name     string
			status   message.Status
			due      time.Time
			sentAt   *time.Time
			attempts []attempt
			wantGone bool
		}{
			{"sent before the cutoff, with attempts", message.StatusSent, before(2 * time.Hour), ptr(before(time.Hour)), []attempt{-2 * time.Hour, -time.Hour}, true},
			{"failed before the cutoff, with attempts", message.StatusFailed, before(2 * time.Hour), nil, []attempt{-3 * time.Hour, -2 * time.Hour}, true},
			{"failed before the cutoff, never attempted", message.StatusFailed, before(time.Hour), nil, nil, true},
			{"sent after the cutoff", message.StatusSent, before(time.Hour), ptr(after(time.Minute)), []attempt{time.Minute}, false},
			{"sent at the cutoff", message.StatusSent, before(time.Hour), ptr(cutoff), []attempt{-time.Hour}, false},
			{"failed, its last attempt after the cutoff", message.StatusFailed, before(time.Hour), nil, []attempt{-time.Hour, time.Minute}, false},
			{"failed, its last round due after the cutoff", message.StatusFailed, after(time.Minute), nil, nil, false},
			{"pending for long", message.StatusPending, before(30 * 24 * time.Hour), nil, []attempt{-29 * 24 * time.Hour}, false},
		}
		ms := make([]*message.Message, len(cases))
		// Final messages first: each is claimed and finished on its own
		// before the pending one is enqueued.
		for i, tc := range cases {
			m := NewMessage("jp", fmt.Sprintf("user%d@example.jp", i))
			m.CreatedAt, m.NextAttemptAt = before(40*24*time.Hour), tc.due
			MustEnqueue(t, s, m)
			for _, d := range tc.attempts {
				mustNil(t, "RecordAttempt", s.RecordAttempt(ctx, &message.Attempt{
					ID: NewID(), MessageID: m.ID, Provider: "devinbox", OK: tc.status == message.StatusSent, At: after(d),
				}))
			}
			if tc.status != message.StatusPending {
				mustFinish(t, s, m, tc.status, tc.sentAt)
			}
			ms[i] = m
		}
		attemptsBefore := MustRowCounts(t, s)["delivery_attempt"]
		n, err := s.PurgeMessages(ctx, cutoff, 100)
		mustNil(t, "PurgeMessages", err)
		if want := countTrue(cases, func(i int) bool { return cases[i].wantGone }); n != want {
			t.Errorf("PurgeMessages: got %d, want %d", n, want)
		}
		wantAttempts := attemptsBefore
		for i, tc := range cases {
			_, err := s.Message(ctx, ms[i].ID)
			if gone := ninsho.IsCode(err, ninsho.CodeNotFound); gone != tc.wantGone {
				t.Errorf("message %q after PurgeMessages: got gone %v (%v), want %v", tc.name, gone, err, tc.wantGone)
			}
			if tc.wantGone {
				wantAttempts -= len(tc.attempts)
			}
		}
		if got := MustRowCounts(t, s)["delivery_attempt"]; got != wantAttempts {
			t.Errorf("delivery attempts after PurgeMessages: got %d, want %d (those of the deleted messages gone, no others)", got, wantAttempts)
		}
	})

	t.Run("events", func(t *testing.T) {
		s := open(t)
		a := MustCreateAccount(t, s, NewAccount("jp", "hanako@example.jp", ""))
		cases := []struct {
			name     string
			account  string
			at       time.Time
			wantGone bool
		}{
			{"the account's, before the cutoff", a.ID, before(time.Microsecond), true},
			{"no account's, before the cutoff", "", before(time.Hour), true},
			{"the account's, at the cutoff", a.ID, cutoff, false},
			{"the account's, after the cutoff", a.ID, after(time.Hour), false},
			{"no account's, after the cutoff", "", after(time.Hour), false},
		}
		for _, tc := range cases {
			mustNil(t, "AppendEvent", s.AppendEvent(ctx, &event.Event{
				ID: NewID(), Realm: "jp", AccountID: tc.account, Type: event.TypeSigninFailed, Actor: "anonymous",
				IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (test)", RequestID: "req-1", At: tc.at,
			}))
		}
		n, err := s.PurgeEvents(ctx, cutoff, 100)
		mustNil(t, "PurgeEvents", err)
		wantGone := countTrue(cases, func(i int) bool { return cases[i].wantGone })
		if n != wantGone {
			t.Errorf("PurgeEvents: got %d, want %d", n, wantGone)
		}
		if got, want := MustRowCounts(t, s)["event"], len(cases)-wantGone; got != want {
			t.Errorf("events after PurgeEvents: got %d, want %d", got, want)
		}
		evs, err := s.AccountEvents(ctx, a.ID, before(500*24*time.Hour), 100)
		mustNil(t, "AccountEvents", err)
		if len(evs) != 2 || !evs[1].At.Equal(cutoff) {
			t.Errorf("the account's events after PurgeEvents: got %s, want the two at and after the cutoff", show(evs))
		}
	})

	t.Run("devices", func(t *testing.T) {
		s := open(t)
		a := MustCreateAccount(t, s, NewAccount("jp", "hanako@example.jp", ""))
		cases := []struct {
			name     string
			lastSeen time.Time
			attach   func(tb testing.TB, deviceID string)
			wantGone bool
		}{
			{"unattached, last seen before the cutoff", before(time.Microsecond), nil, true},
			{"unattached, last seen at the cutoff", cutoff, nil, false},
			{"familiar to an account", before(time.Hour), func(tb testing.TB, id string) {
				mustNil(tb, "MarkFamiliar", s.MarkFamiliar(ctx, a.ID, id, before(time.Hour)))
			}, false},
			{"a session's (ended)", before(time.Hour), func(tb testing.TB, id string) {
				sess := NewSession("jp", a.ID)
				sess.DeviceID, sess.ExpiresAt = id, before(time.Minute)
				MustCreateSession(tb, s, sess)
			}, false},
			{"a flow's (expired)", before(time.Hour), func(tb testing.TB, id string) {
				f := NewFlow("jp")
				f.DeviceID, f.ExpiresAt = id, before(time.Minute)
				MustCreateFlow(tb, s, f)
			}, false},
		}
		hashes := make([][]byte, len(cases))
		for i, tc := range cases {
			d := NewDevice("jp")
			d.CreatedAt, d.LastSeenAt = before(time.Hour), tc.lastSeen
			MustCreateDevice(t, s, d)
			if tc.attach != nil {
				tc.attach(t, d.ID)
			}
			hashes[i] = d.TokenHash
		}
		n, err := s.PurgeDevices(ctx, cutoff, 100)
		mustNil(t, "PurgeDevices", err)
		if want := countTrue(cases, func(i int) bool { return cases[i].wantGone }); n != want {
			t.Errorf("PurgeDevices: got %d, want %d", n, want)
		}
		for i, tc := range cases {
			_, err := s.DeviceByTokenHash(ctx, "jp", hashes[i])
			if gone := ninsho.IsCode(err, ninsho.CodeNotFound); gone != tc.wantGone {
				t.Errorf("device %q after PurgeDevices: got gone %v (%v), want %v", tc.name, gone, err, tc.wantGone)
			}
		}
		// Once its session and flow are gone, the device goes too.
		_, err = s.PurgeSessions(ctx, cutoff, 100)
		mustNil(t, "PurgeSessions", err)
		_, err = s.DeleteExpiredFlows(ctx, cutoff)
		mustNil(t, "DeleteExpiredFlows", err)
		n, err = s.PurgeDevices(ctx, cutoff, 100)
		mustNil(t, "PurgeDevices after the session and flow went", err)
		if n != 2 {
			t.Errorf("PurgeDevices after the session and flow went: got %d, want 2", n)
		}
	})

	t.Run("batches", func(t *testing.T) {
		const old, fresh, limit = 25, 4, 10
		kinds := []struct {
			name  string
			table string
			add   func(tb testing.TB, s Stores, t time.Time) // one row that ended at t
			purge func(s Stores, ctx context.Context, cutoff time.Time, limit int) (int, error)
		}{
			{"sessions", "session", func(tb testing.TB, s Stores, t time.Time) {
				a := MustCreateAccount(tb, s, NewAccount("jp", "", ""))
				sess := NewSession("jp", a.ID)
				sess.ExpiresAt = t
				MustCreateSession(tb, s, sess)
			}, Stores.PurgeSessions},
			{"codes", "code", func(tb testing.TB, s Stores, t time.Time) {
				c := NewCode("jp", NewID(), "", "hanako@example.jp")
				c.CreatedAt, c.ExpiresAt = t.Add(-10*time.Minute), t
				MustInsertCode(tb, s, c)
			}, Stores.PurgeCodes},
			{"messages", "message", func(tb testing.TB, s Stores, t time.Time) {
				m := NewMessage("jp", "hanako@example.jp")
				m.NextAttemptAt = t.Add(-time.Minute)
				MustEnqueue(tb, s, m)
				mustNil(tb, "RecordAttempt", s.RecordAttempt(ctx, &message.Attempt{
					ID: NewID(), MessageID: m.ID, Provider: "devinbox", OK: true, At: t.Add(-time.Minute),
				}))
				mustFinish(tb, s, m, message.StatusSent, ptr(t))
			}, Stores.PurgeMessages},
			{"events", "event", func(tb testing.TB, s Stores, t time.Time) {
				mustNil(tb, "AppendEvent", s.AppendEvent(ctx, &event.Event{
					ID: NewID(), Realm: "jp", Type: event.TypeSigninFailed, Actor: "anonymous", At: t,
				}))
			}, Stores.PurgeEvents},
			{"devices", "device", func(tb testing.TB, s Stores, t time.Time) {
				d := NewDevice("jp")
				d.CreatedAt, d.LastSeenAt = t, t
				MustCreateDevice(tb, s, d)
			}, Stores.PurgeDevices},
		}
		for _, k := range kinds {
			t.Run(k.name, func(t *testing.T) {
				s := open(t)
				for j := range old + fresh {
					end := before(time.Duration(j+1) * time.Minute)
					if j >= old {
						end = after(time.Duration(j) * time.Minute)
					}
					k.add(t, s, end)
				}
				n, err := k.purge(s, ctx, cutoff, 0)
				if err != nil || n != 0 {
					t.Errorf("purge with limit 0: got %d, %v; want 0, nil", n, err)
				}
				var got []int
				for range 5 {
					n, err := k.purge(s, ctx, cutoff, limit)
					mustNil(t, "purge", err)
					got = append(got, n)
				}
				if want := []int{10, 10, 5, 0, 0}; fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("purges of %d old rows with limit %d: got %v, want %v", old, limit, got, want)
				}
				if got := MustRowCounts(t, s)[k.table]; got != fresh {
					t.Errorf("rows left: got %d, want the %d fresh ones", got, fresh)
				}
			})
		}
	})
}

// mustFinish claims m, the one message due at its due time, and finishes it
// with status st (sentAt for a sent one).
func mustFinish(tb testing.TB, s Stores, m *message.Message, st message.Status, sentAt *time.Time) {
	tb.Helper()
	ctx := context.Background()
	got, err := s.ClaimMessages(ctx, "setup", m.NextAttemptAt, m.NextAttemptAt.Add(time.Minute), 10)
	if err != nil || len(got) != 1 || got[0].ID != m.ID {
		tb.Fatalf("mustFinish: claim: got %s, %v; want [%s]", ids(got), err, m.ID)
	}
	c := got[0]
	c.Status, c.Attempts, c.SentAt, c.SealedVars = st, 1, sentAt, nil
	if ok, err := s.FinishAttempt(ctx, c); err != nil || !ok {
		tb.Fatalf("mustFinish: finish: got %v, %v; want true, nil", ok, err)
	}
}

// countTrue counts the indexes of cases for which f is true.
func countTrue[T any](cases []T, f func(i int) bool) int {
	n := 0
	for i := range cases {
		if f(i) {
			n++
		}
	}
	return n
}
