package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/api"
	"github.com/ninsho/ninsho/internal/closure"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// TestCloseAPI: GET /api/v1/me/close names what closing will lose and the
// purge date (a session only); POST needs confirm (400 field_required,
// field confirm) and a recent session (403 reauth_required after the
// window), then answers 200 closed with both dates and the token is
// refused at once. Signing in again answers the reopen_account step with
// both dates; reopen completes with a session.
func TestCloseAPI(t *testing.T) {
	env := flowtest.New(t, storetest.MustOpenSQLite(t))
	svc := &closure.Service{Kit: env.Kit, Realms: env.Realms, Store: env.DB, Signin: env.Signin}
	env.Signin.Closure = svc
	h := api.New(api.Deps{Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin,
		Reauth: env.Reauth, Closure: svc, Now: env.Clock.Now})
	ctx := context.Background()
	const email = "hanako@example.jp"
	dev := env.MustSignUp(t, env.JP, email, pw, email)
	signIn := func() []string {
		in, err := env.Signin.Start(ctx, env.JP, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: email, Password: pw})
		if err != nil || in.Session == nil {
			t.Fatalf("sign in: %v", err)
		}
		return []string{"Authorization", "Bearer " + in.Session.Token}
	}
	bearer := signIn()

	rec := do(h, "GET", "/api/v1/me/close", "", "", bearer...)
	var loss map[string]any
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &loss) != nil {
		t.Fatalf("summary: %d %s", rec.Code, rec.Body)
	}
	if loss["email"] != email || loss["sessions"] != float64(2) || loss["grace_days"] != float64(30) || loss["purge_at"] != "2026-12-25T09:00:00Z" {
		t.Errorf("summary = %v", loss)
	}
	if rec := do(h, "POST", "/api/v1/me/close?lang=en", "application/json", `{}`, bearer...); rec.Code != 400 ||
		!strings.Contains(rec.Body.String(), `"field":"confirm"`) || !strings.Contains(rec.Body.String(), `"field_required"`) ||
		!strings.Contains(rec.Body.String(), "Please tick the box to confirm") {
		t.Errorf("without confirm: %d %s", rec.Code, rec.Body)
	}
	env.Clock.Advance(env.JP.ReauthWindow() + time.Minute)
	if rec := do(h, "POST", "/api/v1/me/close", "application/json", `{"confirm":true}`, bearer...); rec.Code != 403 || !strings.Contains(rec.Body.String(), "reauth_required") {
		t.Errorf("old session: %d %s", rec.Code, rec.Body)
	}
	bearer = signIn()
	// Half a second in: every answer shows whole seconds.
	env.Clock.Advance(1500 * time.Millisecond)
	rec = do(h, "POST", "/api/v1/me/close", "application/json", `{"confirm":true}`, bearer...)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"status":"closed"`) || !strings.Contains(rec.Body.String(), `"closed_at":"2026-11-25T09:11:01Z"`) ||
		!strings.Contains(rec.Body.String(), `"purge_at":"2026-12-25T09:11:01Z"`) {
		t.Fatalf("close: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "GET", "/api/v1/me", "", "", bearer...); rec.Code != 401 {
		t.Errorf("closed account's token: %d, want 401", rec.Code)
	}
	rec = do(h, "POST", "/api/v1/signin", "application/json", `{"identifier":"`+email+`","password":"`+pw+`","device_token":"`+dev+`"}`)
	if rec.Code != 200 && rec.Code != 201 {
		t.Fatalf("sign in to the closed account: %d %s", rec.Code, rec.Body)
	}
	if !strings.Contains(rec.Body.String(), `"step":"reopen_account"`) || !strings.Contains(rec.Body.String(), `"closed_at":"2026-11-25T09:11:01Z"`) ||
		!strings.Contains(rec.Body.String(), `"purge_at":"2026-12-25T09:11:01Z"`) {
		t.Fatalf("reopen step: %s", rec.Body)
	}
	fb := decodeFlow(t, rec)
	rec = do(h, "POST", "/api/v1/flows/"+fb.ID, "application/json", `{"action":"reopen"}`)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"token"`) {
		t.Fatalf("reopen: %d %s", rec.Code, rec.Body)
	}
}
