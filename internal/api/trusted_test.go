package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/totp"
)

// trustedDevicesBody is the answer of GET /api/v1/me/trusted-devices.
type trustedDevicesBody struct {
	Devices []struct {
		ID         string `json:"id"`
		Browser    string `json:"browser"`
		Network    string `json:"network"`
		CreatedAt  string `json:"created_at"`
		LastUsedAt string `json:"last_used_at"`
		ExpiresAt  string `json:"expires_at"`
		Current    bool   `json:"current"`
	} `json:"devices"`
}

// TestTrustedDevicesAPI: a sign-in whose second factor is sent with
// "trust_device": true makes the device trusted; the next sign-in from it
// completes with the password alone (aal 1), unless it asks "aal": 2. The
// list needs a recent sign-in (reauth_required after the realm's window),
// shows the device as current, in the request's language, and one or all
// devices can be forgotten (204; an unknown id is 404).
func TestTrustedDevicesAPI(t *testing.T) {
	h, env := newRealAPI(t)
	ctx := context.Background()
	const email = "hanako@example.jp"
	dev := env.MustSignUp(t, env.JP, email, pw, email)
	a, err := env.DB.AccountByEmail(ctx, "jp", email)
	if err != nil {
		t.Fatal(err)
	}
	en, err := env.TwoStep.BeginTOTP(ctx, env.JP, flowtest.Req("192.0.2.10", ""), a)
	if err != nil {
		t.Fatal(err)
	}
	codeNow := func() string {
		c, err := totp.CodeAt(en.Secret, env.Clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if _, err := env.TwoStep.ProveTOTP(ctx, env.JP, flowtest.Req("192.0.2.10", ""), a, en.CredentialID, codeNow()); err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(time.Minute)
	ua := []string{"User-Agent", flowtest.BrowserUA}
	signIn := func(extra map[string]any) flowBody {
		t.Helper()
		body := map[string]any{"identifier": email, "password": pw, "device_token": dev}
		for k, v := range extra {
			body[k] = v
		}
		rec := do(h, "POST", "/api/v1/signin", "application/json", jsonBody(t, body), ua...)
		if rec.Code != 200 {
			t.Fatalf("signin: %d %s", rec.Code, rec.Body)
		}
		return decodeFlow(t, rec)
	}

	started := signIn(nil)
	if started.Status != "challenge" || started.Next == nil || started.Next.Step != "second_factor" {
		t.Fatalf("signin = %+v; want the second factor", started)
	}
	rec := do(h, "POST", "/api/v1/flows/"+started.ID, "application/json", jsonBody(t, map[string]any{
		"action": "submit_second_factor", "code": codeNow(), "trust_device": true, "device_token": dev,
	}), ua...)
	done := decodeFlow(t, rec)
	if rec.Code != 200 || done.Session == nil || done.Session.AAL != 2 {
		t.Fatalf("submit_second_factor: %d %s", rec.Code, rec.Body)
	}
	strong := done.Session.Token
	env.Clock.Advance(time.Minute)

	again := signIn(nil)
	if again.Status != "complete" || again.Session == nil || again.Session.AAL != 1 {
		t.Fatalf("signin on the trusted device = %+v; want complete with aal 1", again)
	}
	token := again.Session.Token
	if strict := signIn(map[string]any{"aal": 2}); strict.Status != "challenge" || strict.Next.Step != "second_factor" {
		t.Errorf("signin with aal 2 = %+v; want the second factor", strict)
	}
	for _, bad := range []int{3, 0, -1} {
		rec = do(h, "POST", "/api/v1/signin", "application/json", jsonBody(t, map[string]any{"identifier": email, "password": pw, "aal": bad}))
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"request_invalid"`) || !strings.Contains(rec.Body.String(), `"aal"`) {
			t.Errorf("signin with aal %d: %d %s; want 400 request_invalid for aal", bad, rec.Code, rec.Body)
		}
	}

	// The trusted device's session skipped the second factor: sensitive
	// settings ask for it first.
	rec = do(h, "GET", "/api/v1/me/trusted-devices", "", "", "Authorization", "Bearer "+token)
	if rec.Code != 403 || problemCode(t, rec) != "reauth_required" {
		t.Fatalf("list with the aal-1 session: %d %s; want 403 reauth_required", rec.Code, rec.Body)
	}
	auth := []string{"Authorization", "Bearer " + strong}
	rec = do(h, "GET", "/api/v1/me/trusted-devices?lang=en", "", "", auth...)
	if rec.Code != 200 {
		t.Fatalf("list: %d %s", rec.Code, rec.Body)
	}
	var list trustedDevicesBody
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&list); err != nil {
		t.Fatal(err)
	}
	if len(list.Devices) != 1 {
		t.Fatalf("devices = %+v; want 1", list.Devices)
	}
	d := list.Devices[0]
	if d.Browser != "Chrome on Linux" || d.Network != "192.0.2.0/24" || !d.Current || d.ID == "" ||
		d.CreatedAt != "2026-11-25T09:01:00Z" || d.ExpiresAt != "2027-01-24T09:01:00Z" || d.LastUsedAt != "2026-11-25T09:02:00Z" {
		t.Errorf("device = %+v", d)
	}

	// The list needs a recent sign-in; forgetting does not.
	env.Clock.Advance(11 * time.Minute)
	rec = do(h, "GET", "/api/v1/me/trusted-devices", "", "", auth...)
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), `"reauth_required"`) {
		t.Errorf("list after the window: %d %s; want 403 reauth_required", rec.Code, rec.Body)
	}
	if rec = do(h, "GET", "/api/v1/me/trusted-devices", "", ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("list signed out: %d, want 401", rec.Code)
	}
	rec = do(h, "DELETE", "/api/v1/me/trusted-devices/"+started.ID, "", "", auth...)
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `"not_found"`) {
		t.Errorf("forget an unknown id: %d %s; want 404 not_found", rec.Code, rec.Body)
	}
	if rec = do(h, "DELETE", "/api/v1/me/trusted-devices/"+d.ID, "", "", auth...); rec.Code != http.StatusNoContent {
		t.Fatalf("forget: %d %s", rec.Code, rec.Body)
	}
	if rec = do(h, "DELETE", "/api/v1/me/trusted-devices/"+d.ID, "", "", auth...); rec.Code != http.StatusNotFound {
		t.Errorf("forget again: %d, want 404", rec.Code)
	}
	if got := signIn(nil); got.Status != "challenge" {
		t.Errorf("signin after forgetting = %+v; want the second factor", got)
	}
	if rec = do(h, "DELETE", "/api/v1/me/trusted-devices", "", "", auth...); rec.Code != http.StatusNoContent {
		t.Errorf("forget all: %d %s", rec.Code, rec.Body)
	}
}
