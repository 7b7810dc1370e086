package flowtest_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/org"
	"github.com/ninsho/ninsho/internal/passkey/passkeytest"
	"github.com/ninsho/ninsho/internal/session"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/twostep"
)

// withOrgPolicy wires the organisations' sign-in policy of s into e's
// flows and two-step service, as cli does.
func withOrgPolicy(e *flowtest.Env, s *org.Service) {
	e.Kit.Members = s
	e.TwoStep.MemberRequires = func(ctx context.Context, realm, accountID string) (bool, error) {
		p, err := s.PolicyFor(ctx, realm, accountID)
		return p.RequireTwoStep, err
	}
}

// policyPerson signs up a confirmed account with the address and returns
// it and the sign-up device (familiar to it).
func policyPerson(t *testing.T, e *flowtest.Env, email string) (*account.Account, string) {
	t.Helper()
	dev := e.MustSignUp(t, e.JP, email, pw, email)
	a, err := e.DB.AccountByEmail(context.Background(), e.JP.ID, email)
	if err != nil {
		t.Fatal(err)
	}
	return a, dev
}

// orgWithPolicy makes a seller organisation owned by a and sets its policy.
func orgWithPolicy(t *testing.T, e *flowtest.Env, s *org.Service, a *account.Account, p org.Policy) *org.Organisation {
	t.Helper()
	ctx := context.Background()
	req := flowtest.Req("192.0.2.10", "")
	o, err := s.Create(ctx, e.JP, a.ID, org.CreateInput{Kind: org.KindSeller, Name: "さくら商事"}, req)
	if err != nil {
		t.Fatal(err)
	}
	if o, err = s.SetPolicy(ctx, e.JP.ID, a.ID, o.ID, p, req); err != nil {
		t.Fatal(err)
	}
	return o
}

// TestOrgPolicyRequiresEnrolment: a member without 2SV of an organisation
// that requires it gets no session after the right password but the
// enrolment step; the right code from the new authenticator app completes
// at AAL 2 and the sign-in event names the organisation; the next sign-in
// asks the second factor; turning 2SV off and removing the last method are
// refused, and the summary says required. Without the policy (or without
// organisations wired) the same person signs in with the password alone.
func TestOrgPolicyRequiresEnrolment(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := orgService(t, e)
		withOrgPolicy(e, s)
		a, dev := policyPerson(t, e, sfEmail)
		req := flowtest.Req("192.0.2.10", dev)

		if sum, err := e.TwoStep.Summarize(ctx, e.JP, a); err != nil || sum.Required {
			t.Fatalf("summary before any policy: %+v, %v; want not required", sum, err)
		}
		o := orgWithPolicy(t, e, s, a, org.Policy{RequireTwoStep: true})
		if sum, err := e.TwoStep.Summarize(ctx, e.JP, a); err != nil || !sum.Required {
			t.Fatalf("summary: %+v, %v; want required", sum, err)
		}

		ans, err := e.Signin.Start(ctx, e.JP, req, signin.Input{Identifier: sfEmail, Password: pw})
		if err != nil || ans.Session != nil || ans.Next == nil || ans.Next.Step != flow.StepEnrolSecondFactor ||
			strings.Join(ans.Next.Methods, ",") != "totp" {
			t.Fatalf("password: %+v next %+v, %v; want the enrolment step and no session", ans, ans.Next, err)
		}
		begun, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionBeginTOTP})
		if err != nil || begun.Next == nil || begun.Next.Enrolment == nil {
			t.Fatalf("begin_totp: %+v, %v", begun, err)
		}
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req,
			flow.Action{Name: flow.ActionSubmitSecondFactor, Code: totpAt(t, begun.Next.Enrolment.Secret, e.Clock.Now())})
		wantAAL2(t, e, done, err, "pwd", "otp")
		ev := lastEvent(t, e, a, event.TypeSigninSucceeded)
		if ev == nil || ev.Data["two_step_enrolled"] != "totp" || !slices.Equal(anyStrings(ev.Data["organisations"]), []string{o.ID}) {
			t.Errorf("sign-in event = %+v; want two_step_enrolled totp and the organisation", ev)
		}

		e.Clock.Advance(time.Minute)
		next, err := e.Signin.Start(ctx, e.JP, req, signin.Input{Identifier: sfEmail, Password: pw})
		wantSecondFactor(t, next, err, "totp")

		err = e.TwoStep.TurnOff(ctx, e.JP, req, a)
		flowtest.WantCode(t, err, ninsho.CodeTwoStepRequired)
		if k := ninsho.ErrorOf(err).Params["kind"]; k != "organisation_turn_off" {
			t.Errorf("turn off refused with kind %v, want organisation_turn_off", k)
		}
		ms, _ := e.TwoStep.Methods(ctx, e.JP, a)
		if len(ms) != 1 {
			t.Fatalf("methods = %+v, want the app", ms)
		}
		err = e.TwoStep.Remove(ctx, e.JP, req, a, ms[0].ID)
		flowtest.WantCode(t, err, ninsho.CodeTwoStepRequired)
		if pe := ninsho.ErrorOf(err); pe.Field != "credential" || pe.Params["kind"] != "organisation" {
			t.Errorf("remove refused as %+v, want field credential, kind organisation", pe)
		}

		// The policy lifted: 2SV can go, and the password alone signs in.
		if _, err := s.SetPolicy(ctx, e.JP.ID, a.ID, o.ID, org.Policy{}, req); err != nil {
			t.Fatal(err)
		}
		if err := e.TwoStep.TurnOff(ctx, e.JP, req, a); err != nil {
			t.Fatalf("turn off without the policy: %v", err)
		}
		plain, err := e.Signin.Start(ctx, e.JP, req, signin.Input{Identifier: sfEmail, Password: pw})
		if err != nil || plain.Session == nil || plain.Session.AAL != 1 {
			t.Fatalf("sign-in without the policy: %+v, %v; want a session of AAL 1", plain, err)
		}
	})
}

// anyStrings reads a list of strings from event data (JSON: []any).
func anyStrings(v any) []string {
	var out []string
	switch l := v.(type) {
	case []string:
		return l
	case []any:
		for _, x := range l {
			s, _ := x.(string)
			out = append(out, s)
		}
	}
	return out
}

// TestOrgPolicyRequiresEnrolmentAtPasswordAssistant: the password
// assistant's sign-in with the code leads the member to the enrolment step
// too, not to a session.
func TestOrgPolicyRequiresEnrolmentAtPasswordAssistant(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := orgService(t, e)
		withOrgPolicy(e, s)
		a, dev := policyPerson(t, e, sfEmail)
		orgWithPolicy(t, e, s, a, org.Policy{RequireTwoStep: true})
		req := flowtest.Req("192.0.2.10", dev)
		ans, err := e.Reset.Start(ctx, e.JP, req, sfEmail)
		if err != nil {
			t.Fatal(err)
		}
		ans, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, sfEmail)})
		if err != nil || ans.Next == nil || ans.Next.Step != flow.StepChoose {
			t.Fatalf("code: %+v, %v", ans, err)
		}
		ans, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSignInWithCode})
		if err != nil || ans.Session != nil || ans.Next == nil || ans.Next.Step != flow.StepEnrolSecondFactor {
			t.Fatalf("sign in with the code: %+v, %v; want the enrolment step", ans, err)
		}
	})
}

// TestOrgPolicyAllowedMethods: a member with an authenticator app, a text
// message number and backup codes, whose organisation allows the app
// only, is asked for the app with no alternatives; switching to SMS or to
// a backup code is org_method_not_allowed (a method the account does not
// have stays channel_unavailable); with backup codes allowed too they are
// the one alternative. A device the account trusts is asked while the
// methods are restricted, and skips the factor again once they are not.
func TestOrgPolicyAllowedMethods(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := orgService(t, e)
		withOrgPolicy(e, s)
		a, secret, dev := trustedSetup(t, e)
		enrolPhone(t, e, sfEmail, twostep.MethodSMS, phMobile, phMobileE164)
		if _, err := e.TwoStep.RegenerateBackupCodes(ctx, e.JP, flowtest.Req(homeIP, ""), a); err != nil {
			t.Fatal(err)
		}
		before, err := signInFrom(t, e, homeIP, dev, 0)
		wantSkipped(t, e, a, before, err)

		o := orgWithPolicy(t, e, s, a, org.Policy{Methods: []string{"totp"}})
		ans, err := signInFrom(t, e, homeIP, dev, 0) // trusted, but the methods are restricted
		wantSecondFactor(t, ans, err, "totp")
		req := flowtest.Req(homeIP, dev)
		for _, m := range []string{"sms", "backup_code"} {
			r, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSwitchMethod, Method: m})
			flowtest.WantCode(t, err, ninsho.CodeOrgMethodNotAllowed)
			if f := ninsho.ErrorOf(err).Field; f != "method" || r.Next == nil || r.Next.Method != "totp" {
				t.Fatalf("switch to %s: field %q next %+v; want field method, still totp", m, f, r.Next)
			}
		}
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSwitchMethod, Method: "fax"})
		flowtest.WantCode(t, err, ninsho.CodeChannelUnavailable)
		if n := len(e.Messages(t, phMobileE164)); n != 1 { // the enrolment's code only
			t.Errorf("%d messages to the number; want no sign-in code", n)
		}
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: totpAt(t, secret, e.Clock.Now())})
		wantAAL2(t, e, done, err, "pwd", "otp")
		e.Clock.Advance(time.Minute)

		if _, err := s.SetPolicy(ctx, e.JP.ID, a.ID, o.ID, org.Policy{Methods: []string{"backup_code", "totp"}}, req); err != nil {
			t.Fatal(err)
		}
		ans, err = signInFrom(t, e, sfIP, "", 0)
		wantSecondFactor(t, ans, err, "totp", "backup_code")

		// Require only: the methods are free, and trust skips again.
		if _, err := s.SetPolicy(ctx, e.JP.ID, a.ID, o.ID, org.Policy{RequireTwoStep: true}, req); err != nil {
			t.Fatal(err)
		}
		again, err := signInFrom(t, e, homeIP, dev, 0)
		wantSkipped(t, e, a, again, err)
	})
}

// TestOrgPolicyEnrolAfterOwnFactor: a member whose only method (SMS) is
// not among those allowed (the app) proves the SMS code first — the
// password alone never adds a method — and is then led through enrolment
// of the app; the session is AAL 2 with the three methods.
func TestOrgPolicyEnrolAfterOwnFactor(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := orgService(t, e)
		withOrgPolicy(e, s)
		a, _ := policyPerson(t, e, sfEmail)
		enrolPhone(t, e, sfEmail, twostep.MethodSMS, phMobile, phMobileE164)
		orgWithPolicy(t, e, s, a, org.Policy{Methods: []string{"totp"}})

		ans, req := signInToChallenge(t, e)
		wantSecondFactor(t, ans, err0, "sms")
		_, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionBeginTOTP})
		flowtest.WantCode(t, err, ninsho.CodeActionUnknown)
		enrol, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: e.LastCode(t, phMobileE164)})
		if err != nil || enrol.Session != nil || enrol.Next == nil || enrol.Next.Step != flow.StepEnrolSecondFactor {
			t.Fatalf("the SMS code: %+v next %+v, %v; want the enrolment step, no session", enrol, enrol.Next, err)
		}
		begun, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionBeginTOTP})
		if err != nil || begun.Next == nil || begun.Next.Enrolment == nil {
			t.Fatalf("begin_totp: %+v, %v", begun, err)
		}
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req,
			flow.Action{Name: flow.ActionSubmitSecondFactor, Code: totpAt(t, begun.Next.Enrolment.Secret, e.Clock.Now())})
		wantAAL2(t, e, done, err, "pwd", "sms", "otp")
		if got := templates(t, e, sfEmail, "signin_alert"); got != 1 {
			t.Errorf("%d new-device sign-in alerts; want 1", got)
		}
	})
}

// err0 is the nil error of an answer that helpers return without one.
var err0 error

// TestOrgPolicyMethodRequired: a member who has none of the allowed
// methods and cannot enrol one at sign-in (passkeys only) gets no session
// and no code is sent: org_method_required with the allowed methods; so
// does a member without 2SV whose organisation requires it with passkeys
// only. A passwordless passkey sign-in is refused where passkeys are not
// allowed.
func TestOrgPolicyMethodRequired(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := orgService(t, e)
		withOrgPolicy(e, s)
		a, _ := policyPerson(t, e, sfEmail)
		enrolPhone(t, e, sfEmail, twostep.MethodSMS, phMobile, phMobileE164)
		o := orgWithPolicy(t, e, s, a, org.Policy{Methods: []string{"passkey"}})
		sent := len(e.Messages(t, phMobileE164))

		_, err := e.Signin.Start(ctx, e.JP, flowtest.Req(sfIP, ""), signin.Input{Identifier: sfEmail, Password: pw})
		flowtest.WantCode(t, err, ninsho.CodeOrgMethodRequired)
		if ms, _ := ninsho.ErrorOf(err).Params["methods"].([]string); strings.Join(ms, ",") != "passkey" {
			t.Errorf("params = %+v, want methods [passkey]", ninsho.ErrorOf(err).Params)
		}
		if n := len(e.Messages(t, phMobileE164)); n != sent {
			t.Errorf("%d messages to the number after the refusal, want %d", n, sent)
		}

		b, bdev := policyPerson(t, e, "taro@example.jp")
		if _, err := s.SetPolicy(ctx, e.JP.ID, a.ID, o.ID, org.Policy{RequireTwoStep: true, Methods: []string{"passkey"}}, flowtest.Req(homeIP, "")); err != nil {
			t.Fatal(err)
		}
		orgWithPolicy(t, e, s, b, org.Policy{RequireTwoStep: true, Methods: []string{"passkey", "sms"}})
		_, err = e.Signin.Start(ctx, e.JP, flowtest.Req(homeIP, bdev), signin.Input{Identifier: "taro@example.jp", Password: pw})
		flowtest.WantCode(t, err, ninsho.CodeOrgMethodRequired)

		// A passwordless passkey sign-in where the app only is allowed.
		e.JP.TwoStep.PasskeySignIn = true
		defer func() { e.JP.TwoStep.PasskeySignIn = false }()
		auth := &passkeytest.Authenticator{Origin: pkOrigin}
		enrolPasskey(t, e, sfEmail, auth)
		if _, err := s.SetPolicy(ctx, e.JP.ID, a.ID, o.ID, org.Policy{Methods: []string{"totp"}}, flowtest.Req(homeIP, "")); err != nil {
			t.Fatal(err)
		}
		req := flowtest.Req(sfIP, "")
		start, err := e.Signin.StartPasskey(ctx, e.JP, req)
		if err != nil {
			t.Fatal(err)
		}
		req = flowtest.Req(sfIP, start.DeviceToken)
		cred, err := auth.Get(start.Next.PublicKey, nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := e.Engine.Act(ctx, "jp", start.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPasskey, Credential: cred})
		flowtest.WantCode(t, err, ninsho.CodeOrgMethodNotAllowed)
		if r == nil || r.Session != nil || r.Flow.Status != flow.StatusFailed {
			t.Fatalf("passkey sign-in: %+v; want the flow failed without a session", r)
		}
		// Allowed again: the passkey signs in.
		if _, err := s.SetPolicy(ctx, e.JP.ID, a.ID, o.ID, org.Policy{Methods: []string{"passkey"}}, flowtest.Req(homeIP, "")); err != nil {
			t.Fatal(err)
		}
		start, err = e.Signin.StartPasskey(ctx, e.JP, req)
		if err != nil {
			t.Fatal(err)
		}
		cred, _ = auth.Get(start.Next.PublicKey, nil)
		done, err := e.Engine.Act(ctx, "jp", start.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPasskey, Credential: cred})
		wantAAL2(t, e, done, err, session.MethodHWK)
	})
}

// TestOrgPolicyPendingOrgAsksNothing: the policy of a business
// organisation still waiting for approval does not apply.
func TestOrgPolicyPendingOrgAsksNothing(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := orgService(t, e)
		withOrgPolicy(e, s)
		e.JP.Organisations.BusinessApproval = true
		e.JP.Organisations.Approvers = []string{"approver@example.jp"}
		defer func() { e.JP.Organisations.BusinessApproval, e.JP.Organisations.Approvers = false, nil }()
		a, dev := policyPerson(t, e, sfEmail)
		req := flowtest.Req(homeIP, dev)
		o, err := s.Create(ctx, e.JP, a.ID, org.CreateInput{Kind: org.KindBusiness, Name: "さくら商事"}, req)
		if err != nil || o.Status != org.StatusPending {
			t.Fatalf("create = %+v, %v; want pending", o, err)
		}
		if _, err := s.SetPolicy(ctx, e.JP.ID, a.ID, o.ID, org.Policy{RequireTwoStep: true}, req); err != nil {
			t.Fatal(err)
		}
		ans, err := e.Signin.Start(ctx, e.JP, req, signin.Input{Identifier: sfEmail, Password: pw})
		if err != nil || ans.Session == nil {
			t.Fatalf("sign-in of a pending organisation's owner: %+v next %+v, %v; want a session", ans, ans.Next, err)
		}
		if sum, err := e.TwoStep.Summarize(ctx, e.JP, a); err != nil || sum.Required {
			t.Fatalf("summary: %+v, %v; want not required", sum, err)
		}
	})
}

// TestOrgPolicyConflictRefusesSignIn: a member of two organisations of
// others whose allowed methods have none in common is signed in by no
// method — org_policy_conflict after the password, nothing sent — however
// the memberships came about (joining another organisation never loosens
// one's rule); once an owner removes them from one, the other's rule
// applies.
func TestOrgPolicyConflictRefusesSignIn(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := orgService(t, e)
		withOrgPolicy(e, s)
		req := flowtest.Req("192.0.2.10", "")
		m, mdev := policyPerson(t, e, sfEmail)
		enrolPhone(t, e, sfEmail, twostep.MethodSMS, phMobile, phMobileE164)
		join := func(owner string, p org.Policy) (*account.Account, *org.Organisation) {
			t.Helper()
			a, _ := policyPerson(t, e, owner)
			o := orgWithPolicy(t, e, s, a, p)
			if _, err := s.Invite(ctx, e.JP, a.ID, o.ID, sfEmail, org.RoleMember, req); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Accept(ctx, e.JP.ID, m, orgLink(t, e, sfEmail, message.TemplateOrgInvitation), req); err != nil {
				t.Fatal(err)
			}
			return a, o
		}
		join("early@example.jp", org.Policy{Methods: []string{"sms"}})
		lateOwner, late := join("strict@example.jp", org.Policy{RequireTwoStep: true, Methods: []string{"passkey"}})
		sent := len(e.Messages(t, phMobileE164))

		_, err := e.Signin.Start(ctx, e.JP, flowtest.Req(homeIP, mdev), signin.Input{Identifier: sfEmail, Password: pw})
		flowtest.WantCode(t, err, ninsho.CodeOrgPolicyConflict)
		if n := len(e.Messages(t, phMobileE164)); n != sent {
			t.Errorf("%d messages to the number after the refusal, want %d", n, sent)
		}

		// The strict organisation's owner removes the member: the early
		// one's rule (SMS) applies again.
		if err := s.Remove(ctx, e.JP.ID, lateOwner.ID, late.ID, m.ID, req); err != nil {
			t.Fatal(err)
		}
		ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req(homeIP, mdev), signin.Input{Identifier: sfEmail, Password: pw})
		if err != nil || ans.Next == nil || ans.Next.Step != flow.StepSecondFactor || ans.Next.Method != "sms" {
			t.Fatalf("after the removal: %+v, %v; want the SMS second factor", ans, err)
		}
	})
}
