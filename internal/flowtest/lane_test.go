package flowtest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
)

// TestOwnerGetsTenSignInCodesAnHour: the owner who proves the password from
// new devices (a new device token, or none) gets 10 sign-in codes an hour
// to the address, although each completed sign-in also sends an alert with
// a "this wasn't me" link: links use no budget. The 10th code comes with the
// code_limit notice; the 11th sign-in is refused with resend_limit_reached
// and no flow (no flow at a code step when no code was sent).
func TestOwnerGetsTenSignInCodesAnHour(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		const to = "taro1@example.jp"
		e.MustSignUp(t, e.JP, to, pw, to)
		for i := 1; i <= 10; i++ {
			e.Clock.Advance(20 * time.Second)
			dev := ""
			if i%2 == 0 {
				dev = fmt.Sprintf("new%d", i)
			}
			ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: to, Password: pw})
			if err != nil || ans.Flow.Status != flow.StatusChallenge || ans.Next.Step != flow.StepVerificationCode {
				t.Fatalf("sign-in %d from a new device: %+v, %v; want a verification code", i, ans, err)
			}
			ms := e.Messages(t, to)
			wantLimit := i == 10
			if got := ms[0].Template == "code_limit"; got != wantLimit {
				t.Errorf("sign-in %d: newest message %s; code_limit notice wanted: %v", i, ms[0].Template, wantLimit)
			}
			c := ms[0].Code
			if wantLimit {
				c = ms[1].Code
			}
			if dev == "" {
				dev = ans.DeviceToken
			}
			done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, flowtest.Req("192.0.2.10", dev), flow.Action{Name: flow.ActionSubmitCode, Code: c})
			if err != nil || done.Session == nil {
				t.Fatalf("sign-in %d with its code: %v", i, err)
			}
			if m := e.Messages(t, to); m[0].Template != "signin_alert" {
				t.Errorf("sign-in %d: newest message %s, want the signin_alert", i, m[0].Template)
			}
		}
		e.Clock.Advance(20 * time.Second)
		ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", "new11"), signin.Input{Identifier: to, Password: pw})
		flowtest.WantCode(t, err, ninsho.CodeResendLimitReached)
		if ans != nil {
			t.Errorf("11th sign-in answered a flow %+v; want none (no code was sent)", ans.Flow)
		}
		if m := e.Messages(t, to); m[0].Template != "signin_alert" {
			t.Errorf("11th sign-in sent %s; want nothing", m[0].Template)
		}
		// An hour later the budget has room again.
		e.Clock.Advance(time.Hour - 10*20*time.Second + time.Second)
		if _, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", "new12"), signin.Input{Identifier: to, Password: pw}); err != nil {
			t.Errorf("sign-in an hour later: %v", err)
		}
	})
}
