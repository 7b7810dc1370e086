package twostep_test

import (
	"context"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// TestRemoveRefusedWhilePolicyRequiresTwoStep: a seller in a realm that
// requires 2SV of sellers may remove a method while another proved one
// remains, but not the last one (two_step_required, nothing changes); a
// customer of the same realm may.
func TestRemoveRefusedWhilePolicyRequiresTwoStep(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.JP.TwoStep.RequiredFor = []string{string(account.TypeSeller)}
		a := signUp(t, e, "hanako@example.jp")
		a.Type = account.TypeSeller
		if err := e.DB.UpdateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		_, first := enrol(t, e, a)
		e.Clock.Advance(time.Minute)
		_, second := enrol(t, e, a)
		if err := e.TwoStep.Remove(ctx, e.JP, req, a, first); err != nil {
			t.Fatalf("removing one of two: %v", err)
		}
		err := e.TwoStep.Remove(ctx, e.JP, req, a, second)
		flowtest.WantCode(t, err, ninsho.CodeTwoStepRequired)
		if f := ninsho.ErrorOf(err).Field; f != "credential" {
			t.Errorf("field %q, want credential", f)
		}
		st, _ := e.TwoStep.State(ctx, e.JP, a)
		ms, _ := e.TwoStep.Methods(ctx, e.JP, a)
		if !st.Enabled || len(ms) != 1 {
			t.Fatalf("after the refusal: state %+v, %d methods; want on with 1", st, len(ms))
		}

		c := signUp(t, e, "taro@example.jp") // a customer: 2SV optional
		_, only := enrol(t, e, c)
		if err := e.TwoStep.Remove(ctx, e.JP, req, c, only); err != nil {
			t.Fatalf("a customer removing the last method: %v", err)
		}
	})
}
