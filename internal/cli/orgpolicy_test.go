package cli_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// policyFlow is a flow answer with the second-factor and enrolment fields.
type policyFlow struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Next   *struct {
		Step         string   `json:"step"`
		Method       string   `json:"method"`
		Alternatives []string `json:"alternatives"`
		Methods      []string `json:"methods"`
		Enrolment    *struct {
			Secret string `json:"secret"`
		} `json:"enrolment"`
	} `json:"next"`
	Session *struct {
		Token string `json:"token"`
		AAL   int    `json:"aal"`
	} `json:"session"`
	DeviceToken string `json:"device_token"`
}

// policyMember signs a person up through the API and returns their
// session token and device token (the device is familiar to them).
func policyMember(t *testing.T, c *client, email, pw string) (token, device string) {
	t.Helper()
	var f policyFlow
	if status, raw := c.call("POST", "/api/v1/signup", "", map[string]string{
		"identifier": email, "password": pw, "name": "Hanako Yamada", "locale": "en"}, &f); status != http.StatusCreated || f.DeviceToken == "" {
		t.Fatalf("signup: %d %s", status, raw)
	}
	var done policyFlow
	if status, raw := c.call("POST", "/api/v1/flows/"+f.ID, "", map[string]string{"action": "submit_code", "code": c.waitCode(email),
		"device_token": f.DeviceToken}, &done); status != http.StatusOK || done.Session == nil {
		t.Fatalf("submit_code: %d %s", status, raw)
	}
	return done.Session.Token, f.DeviceToken
}

// TestOrganisationPolicyAtSignIn drives the organisations' sign-in policy
// through the JSON API on both databases: an owner makes an organisation
// that requires two-step verification; the member without it, signing in
// with the right password, is led to enrol_second_factor → begin_totp →
// the app's code (injected clock) → a session of aal 2, and /me/two-step
// says required; turning 2SV off is refused; the next sign-in asks the
// second factor. With the methods restricted to the app, the member's SMS
// number and backup codes are not offered and switching to them is
// refused. A business organisation still pending approval asks nothing.
func TestOrganisationPolicyAtSignIn(t *testing.T) {
	run := func(t *testing.T, dbURL string) {
		ctx := context.Background()
		clock := &offsetClock{}
		app := mustStartClockedIssuer(t, ctx, dbURL, clock, func(c *config.Config) {
			c.Realms[0].Organisations = config.RealmOrganisations{BusinessApproval: true, Approvers: []string{"approver@example.jp"}}
		})
		c := &client{tb: t, base: app.URL(), http: &http.Client{Timeout: 10 * time.Second}}
		const pw = "kumo-no-ue-42"
		const email = "member@example.jp"
		owner, _ := policyMember(t, c, "owner@example.jp", pw)
		_, device := policyMember(t, c, email, pw)
		problem := func(what string, status int, raw []byte, wantStatus int, code string) {
			t.Helper()
			var p struct {
				Code   string `json:"code"`
				Errors []struct {
					Code string `json:"code"`
				} `json:"errors"`
			}
			_ = json.Unmarshal(raw, &p)
			if p.Code == "" && len(p.Errors) > 0 {
				p.Code = p.Errors[0].Code
			}
			if status != wantStatus || p.Code != code {
				t.Fatalf("%s: %d %s, want %d %s", what, status, raw, wantStatus, code)
			}
		}
		signIn := func() policyFlow {
			t.Helper()
			var f policyFlow
			if status, raw := c.call("POST", "/api/v1/signin", "", map[string]string{"identifier": email, "password": pw, "device_token": device}, &f); status != http.StatusOK {
				t.Fatalf("signin: %d %s", status, raw)
			}
			return f
		}

		// The owner's organisation requires 2SV; the member joins it.
		var o orgAnswer
		if status, raw := c.call("POST", "/api/v1/orgs", owner, map[string]string{"kind": "seller", "name": "Sakura Trading"}, &o); status != http.StatusCreated {
			t.Fatalf("create: %d %s", status, raw)
		}
		if status, raw := c.call("PUT", "/api/v1/orgs/"+o.ID+"/policy", owner, map[string]any{"require_two_step": true}, nil); status != http.StatusOK {
			t.Fatalf("policy: %d %s", status, raw)
		}
		if status, raw := c.call("POST", "/api/v1/orgs/"+o.ID+"/invitations", owner, map[string]string{"email": email}, nil); status != http.StatusCreated {
			t.Fatalf("invite: %d %s", status, raw)
		}
		tok := orgMailToken(t, app.URL(), email, "org_invitation")
		member, _ := signInPlain(t, c, email, pw, device)
		if status, raw := c.call("POST", "/api/v1/orgs/invitations/accept", member, map[string]string{"token": tok}, nil); status != http.StatusOK {
			t.Fatalf("accept: %d %s", status, raw)
		}

		// The next sign-in leads through enrolment before any session.
		f := signIn()
		if f.Status != "challenge" || f.Session != nil || f.Next == nil || f.Next.Step != "enrol_second_factor" || strings.Join(f.Next.Methods, ",") != "totp" {
			t.Fatalf("sign-in of a member without 2SV: %+v next %+v; want enrol_second_factor", f, f.Next)
		}
		var begun policyFlow
		if status, raw := c.call("POST", "/api/v1/flows/"+f.ID, "", map[string]string{"action": "begin_totp", "device_token": device}, &begun); status != http.StatusOK ||
			begun.Next == nil || begun.Next.Enrolment == nil || begun.Next.Enrolment.Secret == "" {
			t.Fatalf("begin_totp: %d %s", status, raw)
		}
		secret := begun.Next.Enrolment.Secret
		var done policyFlow
		if status, raw := c.call("POST", "/api/v1/flows/"+f.ID, "", map[string]string{"action": "submit_second_factor",
			"code": totpAt(t, secret, clock.Now()), "device_token": device}, &done); status != http.StatusOK || done.Status != "complete" ||
			done.Session == nil || done.Session.AAL != 2 {
			t.Fatalf("the app's code: %d %s", status, raw)
		}
		member = done.Session.Token
		var sum struct {
			Enabled  bool `json:"enabled"`
			Required bool `json:"required"`
		}
		if c.call("GET", "/api/v1/me/two-step", member, nil, &sum); !sum.Enabled || !sum.Required {
			t.Fatalf("/me/two-step = %+v; want enabled and required", sum)
		}
		status, raw := c.call("DELETE", "/api/v1/me/two-step", member, nil, nil)
		problem("turn off", status, raw, http.StatusConflict, "two_step_required")

		// A text-message number and backup codes besides the app.
		var en struct {
			CredentialID string `json:"credential_id"`
		}
		if status, raw := c.call("POST", "/api/v1/me/two-step/phone", member, map[string]string{"phone": "090-1234-5678", "method": "sms"}, &en); status != http.StatusCreated && status != http.StatusOK {
			t.Fatalf("add a number: %d %s", status, raw)
		}
		if status, raw := c.call("POST", "/api/v1/me/two-step/phone/"+en.CredentialID+"/verify", member, map[string]string{"code": c.waitCode("+819012345678")}, nil); status != http.StatusOK {
			t.Fatalf("prove the number: %d %s", status, raw)
		}
		if status, raw := c.call("POST", "/api/v1/me/two-step/backup-codes", member, nil, nil); status != http.StatusOK && status != http.StatusCreated {
			t.Fatalf("backup codes: %d %s", status, raw)
		}
		clock.nextStep()
		f = signIn()
		if f.Next == nil || f.Next.Step != "second_factor" || f.Next.Method != "totp" || strings.Join(f.Next.Alternatives, ",") != "sms,backup_code" {
			t.Fatalf("sign-in with 2SV: %+v; want second_factor totp with sms and backup_code", f.Next)
		}

		// Only the app is allowed now.
		if status, raw := c.call("PUT", "/api/v1/orgs/"+o.ID+"/policy", owner, map[string]any{"require_two_step": true, "methods": []string{"totp"}}, nil); status != http.StatusOK {
			t.Fatalf("policy: %d %s", status, raw)
		}
		f = signIn()
		if f.Next == nil || f.Next.Step != "second_factor" || f.Next.Method != "totp" || len(f.Next.Alternatives) != 0 {
			t.Fatalf("sign-in with the app only: %+v; want second_factor totp without alternatives", f.Next)
		}
		for _, m := range []string{"sms", "backup_code"} {
			status, raw := c.call("POST", "/api/v1/flows/"+f.ID, "", map[string]string{"action": "switch_method", "method": m, "device_token": device}, nil)
			problem("switch to "+m, status, raw, http.StatusForbidden, "org_method_not_allowed")
		}
		done = policyFlow{}
		if status, raw := c.call("POST", "/api/v1/flows/"+f.ID, "", map[string]string{"action": "submit_second_factor",
			"code": totpAt(t, secret, clock.Now()), "device_token": device}, &done); status != http.StatusOK || done.Session == nil || done.Session.AAL != 2 {
			t.Fatalf("the app's code: %d %s", status, raw)
		}

		// A business organisation waiting for approval asks nothing.
		const other = "other@example.jp"
		otherToken, otherDevice := policyMember(t, c, other, pw)
		var b orgAnswer
		if status, raw := c.call("POST", "/api/v1/orgs", otherToken, map[string]string{"kind": "business", "name": "Sakura Holdings"}, &b); status != http.StatusCreated || b.Status != "pending_approval" {
			t.Fatalf("create a business: %d %s", status, raw)
		}
		if status, raw := c.call("PUT", "/api/v1/orgs/"+b.ID+"/policy", otherToken, map[string]any{"require_two_step": true}, nil); status != http.StatusOK {
			t.Fatalf("policy of the pending organisation: %d %s", status, raw)
		}
		if _, aal := signInPlain(t, c, other, pw, otherDevice); aal != 1 {
			t.Fatalf("the pending organisation's owner signs in at aal %d, want 1", aal)
		}
	}
	t.Run("sqlite", func(t *testing.T) { run(t, "") })
	t.Run("postgres", func(t *testing.T) { run(t, storetest.PostgresURL(t)) })
}

// signInPlain signs email in with the password on device and returns the
// session's token and aal; it fails unless the sign-in completes at once.
func signInPlain(t *testing.T, c *client, email, pw, device string) (string, int) {
	t.Helper()
	var f policyFlow
	if status, raw := c.call("POST", "/api/v1/signin", "", map[string]string{"identifier": email, "password": pw, "device_token": device}, &f); status != http.StatusOK ||
		f.Status != "complete" || f.Session == nil {
		t.Fatalf("signin of %s: %d %s; want a session", email, status, raw)
	}
	return f.Session.Token, f.Session.AAL
}
