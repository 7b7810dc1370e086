package flowtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/reauth"
)

// flowRows counts the stored flows.
func flowRows(t *testing.T, e *flowtest.Env) int {
	t.Helper()
	n, err := e.DB.RowCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n["flow"]
}

// TestReauthStartsAreCapped: one session starts at most
// reauth.StartsPerSession re-authentication flows within
// reauth.StartWindow; the next start answers rate_limited (retry_after_s)
// and writes no flow. Another session of the same account has its own
// count; after the window (injected clock) the session may start again,
// and the capped session still completes a flow it started.
func TestReauthStartsAreCapped(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		dev := e.MustSignUp(t, e.JP, raEmail, pw, raEmail)
		token := signInSession(t, e, raEmail, dev)
		req := withSession(flowtest.Req("192.0.2.10", dev), token)

		var first string
		for i := range reauth.StartsPerSession {
			e.Clock.Advance(time.Second)
			ans, err := e.Reauth.Start(ctx, e.JP, req, principal(t, e, token), "")
			if err != nil || ans.Next == nil || ans.Next.Step != flow.StepPassword {
				t.Fatalf("start %d: %+v, %v; want a flow at password", i+1, ans, err)
			}
			if i == 0 {
				first = ans.Flow.ID
			}
		}
		rows := flowRows(t, e)
		e.Clock.Advance(time.Second)
		ans, err := e.Reauth.Start(ctx, e.JP, req, principal(t, e, token), pw)
		flowtest.WantCode(t, err, ninsho.CodeRateLimited)
		if ans != nil {
			t.Errorf("capped start answered a flow: %+v", ans)
		}
		if s, _ := ninsho.ErrorOf(err).Params["retry_after_s"].(int); s != int(reauth.StartWindow/time.Second) {
			t.Errorf("retry_after_s = %d, want %d", s, int(reauth.StartWindow/time.Second))
		}
		if got := flowRows(t, e); got != rows {
			t.Errorf("%d flow rows after the capped start, want %d (nothing written)", got, rows)
		}

		// A flow already started still completes.
		done, err := e.Engine.Act(ctx, "jp", first, req, flow.Action{Name: flow.ActionSubmitPassword, Password: pw})
		if err != nil || done.Flow.Status != flow.StatusComplete {
			t.Fatalf("submit_password on an earlier flow: %+v, %v; want complete", done, err)
		}

		// Another session of the account counts on its own.
		other := signInSession(t, e, raEmail, dev)
		if _, err := e.Reauth.Start(ctx, e.JP, withSession(flowtest.Req("192.0.2.10", dev), other), principal(t, e, other), ""); err != nil {
			t.Errorf("another session's start: %v", err)
		}

		// After the window the session starts again.
		e.Clock.Advance(reauth.StartWindow)
		if _, err := e.Reauth.Start(ctx, e.JP, req, principal(t, e, token), ""); err != nil {
			t.Errorf("start after the window: %v", err)
		}
	})
}
