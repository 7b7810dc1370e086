package flowtest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// TestStrangersWrongCodesDoNotPauseTheOwnersDevice: wrong codes sent to
// password-assistant flows that strangers started pause the account's codes
// (423, kind codes) for every flow but those begun on a device familiar to
// the account: the owner still recovers from their own device (found from
// outside: the owner's right code there answered 423 account_locked). Wrong
// codes on the owner's device count too, on their own ladder.
func TestStrangersWrongCodesDoNotPauseTheOwnersDevice(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		const addr = "hanako.guard@example.jp"
		dev := e.MustSignUp(t, e.JP, addr, pw, addr)
		wrongFor := func(right string) string {
			if right == "000000" {
				return "111111"
			}
			return "000000"
		}
		start := func(req ninsho.Request) *flow.Answer {
			t.Helper()
			ans, err := e.Reset.Start(ctx, e.JP, req, addr)
			if err != nil {
				t.Fatalf("password assistant start: %v", err)
			}
			return ans
		}

		// Strangers: ten wrong codes over two flows pause the account's codes.
		for i := range 2 {
			stranger := flowtest.Req(fmt.Sprintf("203.0.113.%d", 20+i), "")
			ans := start(stranger)
			wrong := wrongFor(e.LastCode(t, addr))
			for range 5 {
				_, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, stranger, flow.Action{Name: flow.ActionSubmitCode, Code: wrong})
				if !ninsho.IsCode(err, ninsho.CodeCodeIncorrect) && !ninsho.IsCode(err, ninsho.CodeCodeAttemptsExceeded) {
					t.Fatalf("stranger's wrong code: %v", err)
				}
			}
		}
		stranger := flowtest.Req("203.0.113.30", "")
		ans := start(stranger)
		_, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, stranger, flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, addr)})
		flowtest.WantCode(t, err, ninsho.CodeAccountLocked)

		// The owner, on their own device: the right code is taken.
		owner := flowtest.Req("192.0.2.10", dev)
		ans = start(owner)
		right := e.LastCode(t, addr)
		got, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, owner, flow.Action{Name: flow.ActionSubmitCode, Code: right})
		if err != nil || got.Next == nil || got.Next.Step != flow.StepChoose {
			t.Fatalf("the owner's right code on their own device: %+v, %v; want the choice", got, err)
		}

		// The owner's device has a ladder of its own: ten wrong codes there
		// pause it too. (An hour between starts: repeated starts from one
		// device are held behind a CAPTCHA, and the hour's codes are
		// counted; the wrong codes are not forgotten with time.)
		for i := 0; i < 10; {
			e.Clock.Advance(time.Hour)
			ans = start(owner)
			wrong := wrongFor(e.LastCode(t, addr))
			for j := 0; j < 5 && i < 10; j, i = j+1, i+1 {
				_, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, owner, flow.Action{Name: flow.ActionSubmitCode, Code: wrong})
				if !ninsho.IsCode(err, ninsho.CodeCodeIncorrect) && !ninsho.IsCode(err, ninsho.CodeCodeAttemptsExceeded) {
					t.Fatalf("owner's wrong code %d: %v", i+1, err)
				}
			}
		}
		st, err := e.DB.CodeGuard(ctx, "jp", code.GuardKey(ans.Flow))
		if err != nil {
			t.Fatal(err)
		}
		if st.LockedUntil == nil || !st.LockedUntil.After(e.Clock.Now()) || st.Level != 1 {
			t.Errorf("after ten wrong codes on the owner's device its key is %+v, want paused on the first rung", st)
		}
		if k := code.GuardKey(ans.Flow); k != "account-familiar:"+ans.Flow.AccountID {
			t.Errorf("the owner's device's flow counts under %q", k)
		}
	})
}
