package flowtest_test

import (
	"context"
	"testing"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/httperr"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signup"
)

// TestSignupAddressTakenByContactChange: a pending sign-up whose address
// another account took meanwhile by a contact change (which deletes the
// pending account) answers its right code as two competing sign-ups do —
// 409 identifier_taken (field identifier) and the flow failed; no session,
// no account made.
func TestSignupAddressTakenByContactChange(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := contactService(e)
		dev := e.MustSignUp(t, e.JP, ctOld, pw, ctOld)
		p, req := ctSignIn(t, e, e.JP, ctOld, dev)
		sreq := flowtest.Req("203.0.113.66", "")
		started, err := e.Signup.Start(ctx, e.JP, sreq, signup.Input{Identifier: ctNew, Name: "Latecomer", Password: "kasumi-sou-77-tobira"})
		if err != nil {
			t.Fatalf("pending sign-up: %v", err)
		}
		signupCode := e.LastCode(t, ctNew)
		sreq.DeviceToken = started.DeviceToken
		changeEmail(t, e, s, e.JP, p, req, ctNew)

		ans, err := e.Engine.Act(ctx, "jp", started.Flow.ID, sreq, flow.Action{Name: flow.ActionSubmitCode, Code: signupCode})
		flowtest.WantRefusals(t, err, "identifier_taken/identifier")
		if st := httperr.Status(ninsho.ErrorOf(err).Code); st != 409 {
			t.Errorf("status %d, want 409", st)
		}
		if ans == nil || ans.Flow.Status != flow.StatusFailed || ans.Session != nil {
			t.Fatalf("answer %+v; want the flow failed, no session", ans)
		}
		if got, err := e.Engine.View(ctx, "jp", started.Flow.ID, sreq); err == nil && got.Flow.Status != flow.StatusFailed {
			t.Fatalf("flow after: %s, want failed", got.Flow.Status)
		}
		if a := ctAccount(t, e, p.Account.ID); a.Email != ctNew {
			t.Fatalf("the owner's address = %q, want %q kept", a.Email, ctNew)
		}
	})
}
