package flowtest_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/authflow"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/passkey/passkeytest"
	"github.com/ninsho/ninsho/internal/session"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/twostep"
)

const pkOrigin = "https://id.example.jp"

// enrolPasskey registers and proves a passkey of auth for the account of
// email and returns the account and the passkey.
func enrolPasskey(t *testing.T, e *flowtest.Env, email string, auth *passkeytest.Authenticator) (*account.Account, *passkeytest.Passkey) {
	t.Helper()
	ctx := context.Background()
	a, err := e.DB.AccountByEmail(ctx, e.JP.ID, email)
	if err != nil {
		t.Fatal(err)
	}
	req := flowtest.Req("192.0.2.10", "")
	en, err := e.TwoStep.BeginPasskey(ctx, e.JP, req, a, "")
	if err != nil {
		t.Fatal(err)
	}
	resp, p, err := auth.Create(en.Options)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.TwoStep.FinishPasskey(ctx, e.JP, req, a, en.CredentialID, "My phone", resp); err != nil {
		t.Fatalf("finish: %v", err)
	}
	return a, p
}

// TestPasskeyEnrolment: the creation options name the realm as relying
// party, an opaque user handle (not the address), require a discoverable
// credential and exclude the passkeys the account has; the answer is
// proved at once (2SV turns on, preferred), with the label typed; an
// answer after five minutes, to another account's enrolment, or from
// another origin is refused; ten passkeys are the most.
func TestPasskeyEnrolment(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.JP.TwoStep.PasskeySignIn = true
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		a, err := e.DB.AccountByEmail(ctx, e.JP.ID, sfEmail)
		if err != nil {
			t.Fatal(err)
		}
		req := flowtest.Req("192.0.2.10", "")
		en, err := e.TwoStep.BeginPasskey(ctx, e.JP, req, a, "")
		if err != nil {
			t.Fatal(err)
		}
		var o struct {
			RP        struct{ ID, Name string }
			User      struct{ ID, Name string }
			Challenge string
			Exclude   []struct{ ID string } `json:"excludeCredentials"`
			Sel       struct {
				ResidentKey      string `json:"residentKey"`
				UserVerification string `json:"userVerification"`
			} `json:"authenticatorSelection"`
		}
		if err := json.Unmarshal(en.Options, &o); err != nil {
			t.Fatal(err)
		}
		handle, _ := base64.RawURLEncoding.DecodeString(o.User.ID)
		if o.RP.ID != "id.example.jp" || o.RP.Name != "Ninsho" || len(handle) != 32 || bytes.Contains(handle, []byte("hanako")) ||
			strings.Contains(o.User.ID, a.ID) || o.User.Name != sfEmail || len(o.Exclude) != 0 ||
			o.Sel.ResidentKey != "required" || o.Sel.UserVerification != "preferred" || !en.ExpiresAt.Equal(e.Clock.Now().Add(5*time.Minute)) {
			t.Fatalf("options = %s", en.Options)
		}
		auth := &passkeytest.Authenticator{Origin: pkOrigin}
		resp, _, err := auth.Create(en.Options)
		if err != nil {
			t.Fatal(err)
		}
		// Another origin (a phishing site) is refused.
		evil := &passkeytest.Authenticator{Origin: "https://id.example.jp.evil.example"}
		bad, _, _ := evil.Create(en.Options)
		_, err = e.TwoStep.FinishPasskey(ctx, e.JP, req, a, en.CredentialID, "", bad)
		flowtest.WantCode(t, err, ninsho.CodePasskeyFailed)
		// Another account's enrolment id is not found.
		e.MustSignUp(t, e.JP, "taro@example.jp", pw, "taro@example.jp")
		b, _ := e.DB.AccountByEmail(ctx, e.JP.ID, "taro@example.jp")
		_, err = e.TwoStep.FinishPasskey(ctx, e.JP, req, b, en.CredentialID, "", resp)
		flowtest.WantCode(t, err, ninsho.CodeNotFound)
		// Too late.
		e.Clock.Advance(5 * time.Minute)
		_, err = e.TwoStep.FinishPasskey(ctx, e.JP, req, a, en.CredentialID, "", resp)
		flowtest.WantCode(t, err, ninsho.CodePasskeyFailed)
		if st, _ := e.TwoStep.State(ctx, e.JP, a); st.Enabled {
			t.Fatal("2SV on before a passkey was proved")
		}

		en, err = e.TwoStep.BeginPasskey(ctx, e.JP, req, a, "")
		if err != nil {
			t.Fatal(err)
		}
		resp, p, err := auth.Create(en.Options)
		if err != nil {
			t.Fatal(err)
		}
		pr, err := e.TwoStep.FinishPasskey(ctx, e.JP, req, a, en.CredentialID, "  Hanako's phone  ", resp)
		if err != nil || !pr.TurnedOn {
			t.Fatalf("finish = %+v, %v", pr, err)
		}
		_, err = e.TwoStep.FinishPasskey(ctx, e.JP, req, a, en.CredentialID, "", resp)
		flowtest.WantCode(t, err, ninsho.CodeNotFound) // proved already
		ms, err := e.TwoStep.Methods(ctx, e.JP, a)
		if err != nil || len(ms) != 1 || ms[0].Kind != twostep.MethodPasskey || ms[0].Label != "Hanako's phone" || !ms[0].Preferred {
			t.Fatalf("methods = %+v, %v", ms, err)
		}
		creds, _ := e.DB.Credentials(ctx, e.JP.ID, a.ID)
		if len(creds) != 1 || !bytes.Equal(creds[0].PasskeyID, p.ID) || creds[0].SignCount != 1 ||
			bytes.Contains(creds[0].Sealed, []byte("publicKey")) {
			t.Fatalf("stored = %+v", creds)
		}
		// The same authenticator's passkey is excluded next time.
		en, err = e.TwoStep.BeginPasskey(ctx, e.JP, req, a, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(en.Options, &o); err != nil || len(o.Exclude) != 1 || o.Exclude[0].ID != base64.RawURLEncoding.EncodeToString(p.ID) {
			t.Fatalf("exclude = %+v, %v", o.Exclude, err)
		}
		// Up to ten.
		for i := 1; i < twostep.PasskeyLimit; i++ {
			enrolPasskey(t, e, sfEmail, auth)
		}
		_, err = e.TwoStep.BeginPasskey(ctx, e.JP, req, a, "")
		flowtest.WantCode(t, err, ninsho.CodePasskeyLimit)
	})
}

// signInToSecondFactor signs in with the password from an unfamiliar
// network and returns the second-factor answer.
func signInToSecondFactor(t *testing.T, e *flowtest.Env) (*flow.Answer, ninsho.Request) {
	t.Helper()
	ans, err := e.Signin.Start(context.Background(), e.JP, flowtest.Req(sfIP, ""), signin.Input{Identifier: sfEmail, Password: pw})
	if err != nil || ans.Next == nil || ans.Next.Step != flow.StepSecondFactor {
		t.Fatalf("sign in: %+v, %v", ans, err)
	}
	return ans, flowtest.Req(sfIP, ans.DeviceToken)
}

// TestPasskeySecondFactor: an account whose preferred method is a passkey
// is asked for it with next.public_key (allowCredentials = its passkeys);
// its assertion completes at AAL 2 with methods pwd and hwk; a synced
// passkey counts as swk; switch_method goes to a backup code and back.
func TestPasskeySecondFactor(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		auth := &passkeytest.Authenticator{Origin: pkOrigin}
		a, p := enrolPasskey(t, e, sfEmail, auth)
		if _, err := e.TwoStep.RegenerateBackupCodes(ctx, e.JP, flowtest.Req("192.0.2.10", ""), a); err != nil {
			t.Fatal(err)
		}
		ans, req := signInToSecondFactor(t, e)
		wantSecondFactor(t, ans, nil, "passkey", "backup_code")
		var o struct {
			Challenge string
			RPID      string                      `json:"rpId"`
			Allow     []struct{ ID, Type string } `json:"allowCredentials"`
		}
		if err := json.Unmarshal(ans.Next.PublicKey, &o); err != nil || o.RPID != "id.example.jp" || len(o.Allow) != 1 ||
			o.Allow[0].ID != base64.RawURLEncoding.EncodeToString(p.ID) || o.Challenge == "" {
			t.Fatalf("public_key = %s, %v", ans.Next.PublicKey, err)
		}
		// To the backup code and back: a new challenge.
		sw, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSwitchMethod, Method: authflow.MethodBackupCode})
		if err != nil || sw.Next.Method != "backup_code" || sw.Next.PublicKey != nil {
			t.Fatalf("switch to backup = %+v, %v", sw.Next, err)
		}
		sw, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSwitchMethod, Method: authflow.MethodPasskey})
		if err != nil || sw.Next.Method != "passkey" || sw.Next.PublicKey == nil || bytes.Equal(sw.Next.PublicKey, ans.Next.PublicKey) {
			t.Fatalf("switch to passkey = %+v, %v", sw.Next, err)
		}
		// An answer to the first challenge is stale now.
		stale, err := auth.Get(ans.Next.PublicKey, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Credential: stale})
		flowtest.WantCode(t, err, ninsho.CodePasskeyFailed)
		// No credential at all is not counted.
		left, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor})
		flowtest.WantCode(t, err, ninsho.CodeFieldRequired)
		if left.Next.AttemptsLeft != 4 {
			t.Errorf("attempts_left = %d, want 4", left.Next.AttemptsLeft)
		}
		good, err := auth.Get(sw.Next.PublicKey, nil)
		if err != nil {
			t.Fatal(err)
		}
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Credential: good})
		wantAAL2(t, e, done, err, session.MethodPassword, session.MethodHWK)
		ms, _ := e.TwoStep.Methods(ctx, e.JP, a)
		if ms[0].LastUsedAt == nil {
			t.Error("last used not recorded")
		}

		// A synced passkey is swk.
		e.MustSignUp(t, e.JP, "taro@example.jp", pw, "taro@example.jp")
		synced := &passkeytest.Authenticator{Origin: pkOrigin, BackupEligible: true, NoCounter: true}
		enrolPasskey(t, e, "taro@example.jp", synced)
		st, err := e.Signin.Start(ctx, e.JP, flowtest.Req(sfIP, ""), signin.Input{Identifier: "taro@example.jp", Password: pw})
		wantSecondFactor(t, st, err, "passkey")
		as, _ := synced.Get(st.Next.PublicKey, nil)
		done, err = e.Engine.Act(ctx, "jp", st.Flow.ID, flowtest.Req(sfIP, st.DeviceToken), flow.Action{Name: flow.ActionSubmitSecondFactor, Credential: as})
		wantAAL2(t, e, done, err, session.MethodPassword, session.MethodSWK)
	})
}

// TestPasskeyRefusals: a signature counter that goes backwards (a cloned
// key) and another account's passkey are refused and counted; the fifth
// refusal fails the flow.
func TestPasskeyRefusals(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		auth := &passkeytest.Authenticator{Origin: pkOrigin}
		_, p := enrolPasskey(t, e, sfEmail, auth)
		e.MustSignUp(t, e.JP, "taro@example.jp", pw, "taro@example.jp")
		other := &passkeytest.Authenticator{Origin: pkOrigin}
		_, op := enrolPasskey(t, e, "taro@example.jp", other)

		ans, req := signInToSecondFactor(t, e)
		var o struct{ Challenge string }
		_ = json.Unmarshal(ans.Next.PublicKey, &o)
		// The clone's counter is behind the stored one (1).
		clone := *p
		clone.Count = 0
		resp, _ := passkeytest.Assert(pkOrigin, &clone, o.Challenge, 0)
		r, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Credential: resp})
		flowtest.WantCode(t, err, ninsho.CodePasskeyFailed)
		if r.Next.AttemptsLeft != 4 {
			t.Errorf("attempts_left = %d, want 4", r.Next.AttemptsLeft)
		}
		// Another account's passkey, for this very challenge.
		resp, _ = passkeytest.Assert(pkOrigin, op, o.Challenge, 0)
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Credential: resp})
		flowtest.WantCode(t, err, ninsho.CodePasskeyUnknown)
		// Garbage.
		for range 2 {
			_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Credential: json.RawMessage(`{"id":"x"}`)})
			flowtest.WantCode(t, err, ninsho.CodePasskeyFailed)
		}
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Credential: resp})
		flowtest.WantCode(t, err, ninsho.CodeCodeAttemptsExceeded)
		// The owner's real passkey still works in a new flow, its counter
		// moving on.
		ans, req = signInToSecondFactor(t, e)
		good, _ := auth.Get(ans.Next.PublicKey, nil)
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Credential: good})
		wantAAL2(t, e, done, err, session.MethodPassword, session.MethodHWK)
		// Replaying that assertion in yet another flow is refused.
		ans, req = signInToSecondFactor(t, e)
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Credential: good})
		flowtest.WantCode(t, err, ninsho.CodePasskeyFailed)
	})
}

// TestPasskeySignIn: where the realm allows it, a passkey signs in on its
// own: a discoverable ceremony (no allowCredentials) at step passkey, the
// right assertion completes at AAL 2 with methods [hwk] and makes the
// device familiar; an unknown passkey is passkey_unknown; a suspended
// account is refused; a realm that does not allow it answers not_found.
func TestPasskeySignIn(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		req := flowtest.Req(sfIP, "")
		_, err := e.Signin.StartPasskey(ctx, e.JP, req)
		flowtest.WantCode(t, err, ninsho.CodeNotFound)
		e.JP.TwoStep.PasskeySignIn = true
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		auth := &passkeytest.Authenticator{Origin: pkOrigin}
		a, _ := enrolPasskey(t, e, sfEmail, auth)

		ans, err := e.Signin.StartPasskey(ctx, e.JP, req)
		if err != nil || ans.Flow.Status != flow.StatusChallenge || ans.Next.Step != flow.StepPasskey || ans.Flow.Kind != flow.KindSignin {
			t.Fatalf("start = %+v, %v", ans, err)
		}
		if strings.Contains(string(ans.Next.PublicKey), "allowCredentials") || !strings.Contains(string(ans.Next.PublicKey), `"rpId":"id.example.jp"`) {
			t.Fatalf("public_key = %s", ans.Next.PublicKey)
		}
		req = flowtest.Req(sfIP, ans.DeviceToken)
		// A passkey the realm does not know.
		stranger := &passkeytest.Authenticator{Origin: pkOrigin}
		en, _ := e.TwoStep.BeginPasskey(ctx, e.JP, req, a, "")
		_, sp, _ := stranger.Create(en.Options) // never finished
		var o struct{ Challenge string }
		_ = json.Unmarshal(ans.Next.PublicKey, &o)
		unknown, _ := passkeytest.Assert(pkOrigin, sp, o.Challenge, 0)
		r, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPasskey, Credential: unknown})
		flowtest.WantCode(t, err, ninsho.CodePasskeyUnknown)
		if r.Next == nil || r.Next.Step != flow.StepPasskey || r.Next.AttemptsLeft != 4 {
			t.Fatalf("after unknown: %+v", r.Next)
		}
		good, err := auth.Get(ans.Next.PublicKey, nil)
		if err != nil {
			t.Fatal(err)
		}
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPasskey, Credential: good})
		wantAAL2(t, e, done, err, session.MethodHWK)
		if done.AccountID != a.ID {
			t.Errorf("account = %s, want %s", done.AccountID, a.ID)
		}
		d, _, _ := e.Kit.Devices.Resolve(ctx, "jp", ans.DeviceToken, flowtest.BrowserUA)
		if fam, err := e.DB.IsFamiliar(ctx, a.ID, d.ID); err != nil || !fam {
			t.Errorf("device familiar = %v, %v", fam, err)
		}

		// A suspended account may not sign in, with its passkey either.
		a, _ = e.DB.AccountByEmail(ctx, e.JP.ID, sfEmail)
		a.Status = account.StatusSuspended
		if err := e.DB.UpdateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		ans, err = e.Signin.StartPasskey(ctx, e.JP, req)
		if err != nil {
			t.Fatal(err)
		}
		as, _ := auth.Get(ans.Next.PublicKey, nil)
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPasskey, Credential: as})
		flowtest.WantCode(t, err, ninsho.CodeAccountSuspended)
	})
}
