package reset_test

import (
	"context"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
)

// TestResetRecordsTheLockItLifts: password.changed names the lock in force
// that the reset lifted (lock_lifted), for the locks-lifted metric, and
// names none when there was no lock in force.
func TestResetRecordsTheLockItLifts(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		a, err := e.DB.AccountByEmail(ctx, "jp", "hanako@example.jp")
		if err != nil {
			t.Fatal(err)
		}
		reset := func(newPW string) map[string]any {
			t.Helper()
			ans, err := e.Reset.Start(ctx, e.JP, flowtest.Req("198.51.100.8", ""), "hanako@example.jp")
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			req := flowtest.Req("198.51.100.8", ans.DeviceToken)
			if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, "hanako@example.jp")}); err != nil {
				t.Fatalf("submit_code: %v", err)
			}
			if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSetNewPassword, Password: newPW, PasswordConfirmation: newPW}); err != nil {
				t.Fatalf("set_new_password: %v", err)
			}
			evs, err := e.DB.AccountEvents(ctx, a.ID, e.Clock.Now().Add(-time.Minute), 20)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs {
				if ev.Type == event.TypePasswordChanged {
					return ev.Data
				}
			}
			t.Fatalf("no password.changed among %d events", len(evs))
			return nil
		}

		until := e.Clock.Now().Add(time.Hour)
		lockedAt := e.Clock.Now()
		if err := e.DB.SetLock(ctx, a.ID, account.Lock{Kind: account.LockUnfamiliar, Until: &until, Level: 1, LockedAt: &lockedAt}); err != nil {
			t.Fatal(err)
		}
		if got := reset(fresh); got["lock_lifted"] != string(account.LockUnfamiliar) || got["via"] != "password_assistant" {
			t.Errorf("reset of a locked account: got data %v, want lock_lifted unfamiliar via password_assistant", got)
		}
		e.Clock.Advance(2 * time.Hour)
		if got := reset(pw + "-again"); got["lock_lifted"] != nil {
			t.Errorf("reset without a lock: got data %v, want no lock_lifted", got)
		}
	})
}
