package signin_test

import (
	"context"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/risk"
	"github.com/ninsho/ninsho/internal/signin"
)

// TestRealmLockLadder (issue 15): a realm's risk.lock_after_failures and
// risk.lock_ladder decide when its accounts lock for unfamiliar sources and
// for how long: 4 failures, then 7 minutes, then 45 minutes, and 45 minutes
// again.
func TestRealmLockLadder(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		a, _ := e.DB.AccountByEmail(ctx, "jp", "hanako@example.jp")
		pol := risk.DefaultPolicy()
		pol.LockAfterFailures, pol.LockLadder = 4, []time.Duration{7 * time.Minute, 45 * time.Minute}
		jp := *e.JP
		jp.Risk = &pol
		e.Realms.Replace([]*realm.Realm{&jp, e.Safe})
		attack := func(i int) error {
			guess := "guess-" + string(rune('a'+i))
			ans, err := e.Signin.Start(ctx, &jp, flowtest.Req("203.0.113.1", ""), signin.Input{Identifier: "hanako@example.jp", Password: guess})
			if ninsho.CodeOf(err) != ninsho.CodeCaptchaRequired {
				return err
			}
			req := flowtest.Req("203.0.113.1", ans.DeviceToken)
			f, _ := e.DB.Flow(ctx, ans.Flow.ID)
			answer, aerr := e.Captcha.Answer(ctx, f.Get("captcha"))
			if aerr != nil {
				t.Fatal(aerr)
			}
			if _, aerr := e.Engine.Act(ctx, "jp", f.ID, req, flow.Action{Name: flow.ActionSubmitCaptcha, Answer: answer}); aerr != nil {
				t.Fatalf("solve captcha: %v", aerr)
			}
			_, err = e.Engine.Act(ctx, "jp", f.ID, req, flow.Action{Name: flow.ActionSubmitPassword, Password: guess})
			return err
		}
		for rung, wantLock := range []time.Duration{7 * time.Minute, 45 * time.Minute, 45 * time.Minute} {
			failures := 0
			for i := 0; failures < 4 && i < 20; i++ {
				switch err := attack(i); ninsho.CodeOf(err) {
				case ninsho.CodePasswordIncorrect:
					failures++
				default:
					t.Fatalf("rung %d attempt %d (%d failures): %v", rung+1, i, failures, err)
				}
				e.Clock.Advance(time.Second)
			}
			got, _ := e.DB.Account(ctx, a.ID)
			if got.Lock.Kind != account.LockUnfamiliar || got.Lock.Level != rung+1 {
				t.Fatalf("rung %d: lock %+v, want unfamiliar level %d", rung+1, got.Lock, rung+1)
			}
			if d := got.Lock.Until.Sub(e.Clock.Now()); d > wantLock || d < wantLock-time.Minute {
				t.Errorf("rung %d: lock lasts %v, want about %v", rung+1, d, wantLock)
			}
			e.Clock.Advance(wantLock)
		}
	})
}
