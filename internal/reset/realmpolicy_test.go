package reset_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
)

// TestRealmPasswordMinAndCodeLifetime (issue 15): the password assistant
// holds a new password to the realm's minimum (password_too_short with min
// 20) and its code lives the realm's lifetime: the e-mail says 3 minutes,
// and the code is code_expired once they have passed.
func TestRealmPasswordMinAndCodeLifetime(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		jp := *e.JP
		jp.PasswordMinLength, jp.CodeLifetimeFor = 20, 3*time.Minute
		e.Realms.Replace([]*realm.Realm{&jp, e.Safe})

		start := func() (*flow.Answer, ninsho.Request) {
			t.Helper()
			ans, err := e.Reset.Start(ctx, &jp, flowtest.Req("198.51.100.8", ""), "hanako@example.jp")
			if err != nil {
				t.Fatal(err)
			}
			return ans, flowtest.Req("198.51.100.8", ans.DeviceToken)
		}
		ans, req := start()
		if text := e.Messages(t, "hanako@example.jp")[0].Text; !strings.Contains(text, "有効期限は3分です") {
			t.Errorf("the code e-mail says %q, want 3 minutes", text)
		}
		act := func(id string, req ninsho.Request, a flow.Action) (*flow.Answer, error) {
			return e.Engine.Act(ctx, "jp", id, req, a)
		}
		if _, err := act(ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, "hanako@example.jp")}); err != nil {
			t.Fatal(err)
		}
		_, err := act(ans.Flow.ID, req, flow.Action{Name: flow.ActionSetNewPassword, Password: fresh, PasswordConfirmation: fresh})
		flowtest.WantRefusals(t, err, "password_too_short/password")
		if got := ninsho.ErrorOf(err); got == nil || got.Params["min"] != 20 {
			t.Errorf("%q (16 characters): %v, want min 20", fresh, err)
		}
		long := fresh + "-ok-ok"
		if done, err := act(ans.Flow.ID, req, flow.Action{Name: flow.ActionSetNewPassword, Password: long, PasswordConfirmation: long}); err != nil || done.Session == nil {
			t.Fatalf("%q: %v, want a session", long, err)
		}

		e.Clock.Advance(time.Minute) // past the resend wait
		ans, req = start()
		code := e.LastCode(t, "hanako@example.jp")
		e.Clock.Advance(3*time.Minute + time.Second)
		_, err = act(ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: code})
		if !ninsho.IsCode(err, ninsho.CodeCodeExpired) {
			t.Errorf("the code after 3 minutes: %v, want code_expired", err)
		}
	})
}
