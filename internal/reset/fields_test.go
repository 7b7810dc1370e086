package reset_test

import (
	"context"
	"testing"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
)

// TestNewPasswordNamesBothFields: the password assistant's "new password
// twice" names every refusal of both fields at once and spends no hash on
// them; only a new password that passes both is compared with the old one
// (a hash), as before.
func TestNewPasswordNamesBothFields(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		ans, err := e.Reset.Start(ctx, e.JP, flowtest.Req("198.51.100.8", ""), "hanako@example.jp")
		if err != nil {
			t.Fatal(err)
		}
		req := flowtest.Req("198.51.100.8", ans.DeviceToken)
		act := func(a flow.Action) (*flow.Answer, error) { return e.Engine.Act(ctx, "jp", ans.Flow.ID, req, a) }
		if _, err := act(flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, "hanako@example.jp")}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			pw, confirmation string
			want             []string
			hashes           uint64
		}{
			{"", "", []string{"field_required/password", "field_required/password_confirmation"}, 0},
			{"short", "", []string{"password_too_short/password", "field_required/password_confirmation"}, 0},
			{"password1", "password2", []string{"password_too_common/password", "password_mismatch/password_confirmation"}, 0},
			{"hanako-no-sora", "hanako-no-sora", []string{"password_contains_personal_info/password"}, 0},
			{"", fresh, []string{"field_required/password", "password_mismatch/password_confirmation"}, 0},
			{pw, pw, []string{"password_reused/password"}, 1},
		}
		for _, tt := range tests {
			hashes := e.Kit.Passwords.Limiter.Runs()
			got, err := act(flow.Action{Name: flow.ActionSetNewPassword, Password: tt.pw, PasswordConfirmation: tt.confirmation})
			flowtest.WantRefusals(t, err, tt.want...)
			if got == nil || got.Next == nil || got.Next.Step != flow.StepChoose {
				t.Errorf("%q/%q: the flow left the choice: %+v", tt.pw, tt.confirmation, got)
			}
			if n := e.Kit.Passwords.Limiter.Runs() - hashes; n != tt.hashes {
				t.Errorf("%q/%q: %d hashes, want %d", tt.pw, tt.confirmation, n, tt.hashes)
			}
		}
		done, err := act(flow.Action{Name: flow.ActionSetNewPassword, Password: fresh, PasswordConfirmation: fresh})
		if err != nil || done.Session == nil {
			t.Fatalf("a good new password: %v", err)
		}
	})
}
