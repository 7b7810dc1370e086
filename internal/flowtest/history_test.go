package flowtest_test

import (
	"context"
	"slices"
	"testing"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/signin"
)

// TestHistoryShowsTwoStepEvents: the owner's sign-in history
// (signin.Service.History) holds turning two-step verification on, the
// method added, new backup codes, a sign-in with the second factor and the
// device it trusted, and the re-authentication; never the unproved
// method's start or the codes sent.
func TestHistoryShowsTwoStepEvents(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		a, secret := enrolTOTP(t, e, sfEmail)
		if _, err := e.TwoStep.RegenerateBackupCodes(ctx, e.JP, flowtest.Req("192.0.2.10", ""), a); err != nil {
			t.Fatal(err)
		}
		ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req(sfIP, ""), signin.Input{Identifier: sfEmail, Password: pw})
		wantSecondFactor(t, ans, err, "totp", "backup_code")
		req := flowtest.Req(sfIP, ans.DeviceToken)
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: totpAt(t, secret, e.Clock.Now()), TrustDevice: true})
		wantAAL2(t, e, done, err, "pwd", "otp")

		evs, err := e.Signin.History(ctx, principal(t, e, done.Session.Token), 50)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, ev := range evs {
			types = append(types, ev.Type)
		}
		for _, want := range []string{event.TypeTwoStepMethodAdded, event.TypeTwoStepEnabled, event.TypeTwoStepBackupCodes,
			event.TypeSigninSucceeded, event.TypeTrustedDeviceAdded} {
			if !slices.Contains(types, want) {
				t.Errorf("history %v lacks %s", types, want)
			}
		}
		for _, not := range []string{event.TypeTwoStepEnrolStarted, event.TypeCodeSent} {
			if slices.Contains(types, not) {
				t.Errorf("history %v holds %s", types, not)
			}
		}
		for _, ev := range evs {
			if ev.Type == event.TypeSigninSucceeded && slices.Equal(event.DataStrings(ev.Data["methods"]), []string{"pwd", "otp"}) {
				return
			}
		}
		t.Errorf("no sign-in with methods pwd, otp in the history")
	})
}
