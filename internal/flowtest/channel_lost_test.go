package flowtest_test

import (
	"context"
	"testing"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// TestResetStopsWhenTheChannelIsLost: a thief with a stolen session moves
// the e-mail address to their own and starts the password assistant for
// it. The owner's undo link puts the old address back. Whatever step the
// thief's flow had reached — the code proved or not yet — it goes no
// further (flow_expired, failed), so the code the thief holds for an
// address the account no longer has sets no password and signs nobody in.
func TestResetStopsWhenTheChannelIsLost(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := contactService(e)
		for _, proved := range []bool{false, true} {
			e := e
			old, evil := "owner.lost@example.jp", "thief.lost@example.jp"
			if proved {
				old, evil = "owner.lost2@example.jp", "thief.lost2@example.jp"
			}
			dev := e.MustSignUp(t, e.JP, old, pw, old)
			p, req := ctSignIn(t, e, e.JP, old, dev)
			changeEmail(t, e, s, e.JP, p, req, evil)
			token := undoToken(t, e, old)

			thief := flowtest.Req("203.0.113.66", "")
			ans, err := e.Reset.Start(ctx, e.JP, thief, evil)
			if err != nil {
				t.Fatalf("thief's reset: %v", err)
			}
			if proved {
				got, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, thief, flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, evil)})
				if err != nil || got.Next == nil || got.Next.Step != flow.StepChoose {
					t.Fatalf("thief's code: %+v, %v", got, err)
				}
			}
			if _, err := s.Undo(ctx, e.JP, flowtest.Req("198.51.100.7", ""), token); err != nil {
				t.Fatalf("owner's undo: %v", err)
			}
			const stolen = "nusumi-no-pasu-99"
			var got *flow.Answer
			if proved {
				got, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, thief, flow.Action{Name: flow.ActionSetNewPassword, Password: stolen, PasswordConfirmation: stolen})
			} else {
				got, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, thief, flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, evil)})
			}
			flowtest.WantCode(t, err, ninsho.CodeFlowExpired)
			if got != nil && got.Session != nil {
				t.Fatalf("proved=%v: the thief got a session", proved)
			}
			if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, thief, flow.Action{Name: flow.ActionSignInWithCode}); err == nil {
				t.Fatalf("proved=%v: the flow went on after flow_expired", proved)
			}
			if a := accountOf(t, e, old); a.Email != old {
				t.Fatalf("proved=%v: email %q, want the owner's back", proved, a.Email)
			}
		}
	})
}

// TestUnlockStopsWhenTheChannelIsLost: the thief uses their own undo link
// U2 first — evil1 comes back and the unlock code goes there — but does
// not finish. The owner's older link U1 then rolls everything back. The
// thief's unlock flow, code in hand, goes no further (flow_expired), and
// no password is set through it.
func TestUnlockStopsWhenTheChannelIsLost(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := contactService(e)
		id, u1, u2 := stolenChain(t, e, s)
		thief := flowtest.Req("203.0.113.66", "")
		theirs, err := s.Undo(ctx, e.JP, thief, u2)
		if err != nil || theirs.Flow == nil {
			t.Fatalf("thief's undo: %+v, %v", theirs, err)
		}
		thief.DeviceToken = theirs.DeviceToken
		code := e.LastCode(t, chEvil1)
		if _, err := s.Undo(ctx, e.JP, flowtest.Req("198.51.100.7", ""), u1); err != nil {
			t.Fatalf("owner's undo: %v", err)
		}
		got, err := e.Engine.Act(ctx, "jp", theirs.Flow.ID, thief, flow.Action{Name: flow.ActionSubmitCode, Code: code})
		flowtest.WantCode(t, err, ninsho.CodeFlowExpired)
		if got != nil && got.Session != nil {
			t.Fatal("the thief got a session")
		}
		const stolen = "nusumi-no-pasu-99"
		if _, err := e.Engine.Act(ctx, "jp", theirs.Flow.ID, thief, flow.Action{Name: flow.ActionSetNewPassword, Password: stolen, PasswordConfirmation: stolen}); err == nil {
			t.Fatal("set_new_password went through on the thief's flow")
		}
		if a := ctAccount(t, e, id); a.Email != ctOld || a.EmailVerifiedAt == nil {
			t.Fatalf("email %q verified %v, want the owner's", a.Email, a.EmailVerifiedAt)
		}
	})
}
