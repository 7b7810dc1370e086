package flowtest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/httperr"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// TestClosureResetSignInWithCode: on a closed account in its grace, the
// password assistant's choose_sign_in_with_code answers what is true —
// 403 account_closed, its text saying to reopen by signing in with the
// password (not the lock's "suspicious activity") — gives no session and
// leaves the choice open (set_new_password still works); after the grace
// it answers the plain account_closed.
func TestClosureResetSignInWithCode(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		svc := withClosure(e)
		dev, _, out := closeAccount(t, e, svc)
		choose := func() (*flow.Answer, ninsho.Request) {
			t.Helper()
			ans, err := e.Reset.Start(ctx, e.JP, flowtest.Req("192.0.2.10", dev), clEmail)
			if err != nil {
				t.Fatalf("reset start: %v", err)
			}
			req := flowtest.Req("192.0.2.10", dev)
			got, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, clEmail)})
			if err != nil || got.Next == nil || got.Next.Step != flow.StepChoose {
				t.Fatalf("reset code: %+v, %v; want the choice", got, err)
			}
			return ans, req
		}
		ans, req := choose()
		got, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSignInWithCode})
		flowtest.WantCode(t, err, ninsho.CodeAccountClosed)
		if st := httperr.StatusOf(err); st != 403 {
			t.Errorf("status %d, want 403", st)
		}
		if got == nil || got.Session != nil || got.Next == nil || got.Next.Step != flow.StepChoose {
			t.Fatalf("answer %+v; want no session and the choice still open", got)
		}
		for lang, want := range map[string]string{"en": "reopen it, sign in with your password", "ja": "パスワードでログイン"} {
			text := i18n.FieldErrorMessage(lang, ninsho.ErrorOf(err))
			if !strings.Contains(text, want) || strings.Contains(text, "suspicious") || strings.Contains(text, "new account") {
				t.Errorf("%s text %q; want it to say to reopen with the password", lang, text)
			}
		}
		if a := accountOf(t, e, clEmail); a.Status != "closed" {
			t.Fatalf("status %s after the refusal, want closed", a.Status)
		}
		// The choice stays: a new password is set (the account stays closed).
		const pw2 = "sora-no-shita-77"
		if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSetNewPassword, Password: pw2, PasswordConfirmation: pw2}); err != nil {
			t.Fatalf("set_new_password after the refusal: %v", err)
		}

		// After the grace (before the purge): the plain account_closed.
		e.Clock.Advance(out.PurgeAt.Sub(e.Clock.Now()) + time.Minute)
		ans, req = choose()
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSignInWithCode})
		flowtest.WantCode(t, err, ninsho.CodeAccountClosed)
		if k := ninsho.ErrorOf(err).Params["kind"]; k != nil {
			t.Errorf("after the grace: kind %v, want none (the plain text)", k)
		}
	})
}
