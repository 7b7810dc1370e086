package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/api"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/session"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// TestReauthAPI: POST /api/v1/reauth needs a session (401 without one, 403
// csrf_rejected for a cross-site cookie) and answers 201 at step password;
// the flow takes submit_password only with the same session (404
// flow_not_found otherwise) and completes without a session; GET
// /api/v1/me then shows authenticated_at moved to now, so the session is
// recent for the realm's window and no longer after it.
func TestReauthAPI(t *testing.T) {
	env := flowtest.New(t, storetest.MustOpenSQLite(t))
	h := api.New(api.Deps{Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin,
		Reauth: env.Reauth, Now: env.Clock.Now})
	ctx := context.Background()
	dev := env.MustSignUp(t, env.JP, "hanako@example.jp", pw, "hanako@example.jp")
	in, err := env.Signin.Start(ctx, env.JP, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: "hanako@example.jp", Password: pw})
	if err != nil || in.Session == nil {
		t.Fatalf("sign in: %v", err)
	}
	bearer := []string{"Authorization", "Bearer " + in.Session.Token}
	env.Clock.Advance(env.JP.ReauthWindow() + time.Minute)

	if rec := do(h, "POST", "/api/v1/reauth", "application/json", "{}"); rec.Code != 401 {
		t.Errorf("without a session: %d, want 401", rec.Code)
	}
	if rec := do(h, "POST", "/api/v1/reauth", "application/json", "{}", "Cookie", "ninsho_session="+in.Session.Token,
		"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"); rec.Code != 403 || !strings.Contains(rec.Body.String(), "csrf_rejected") {
		t.Errorf("cross-site cookie: %d %s, want 403 csrf_rejected", rec.Code, rec.Body)
	}
	rec := do(h, "POST", "/api/v1/reauth", "application/json", "{}", bearer...)
	if rec.Code != 201 {
		t.Fatalf("start: %d %s", rec.Code, rec.Body)
	}
	fb := decodeFlow(t, rec)
	if fb.Kind != "reauth" || fb.Status != "open" || fb.Next == nil || fb.Next.Step != "password" || fb.Session != nil {
		t.Fatalf("start = %+v", fb)
	}
	body := `{"action":"submit_password","password":"` + pw + `"}`
	if rec := do(h, "POST", "/api/v1/flows/"+fb.ID, "application/json", body); rec.Code != 404 || !strings.Contains(rec.Body.String(), "flow_not_found") {
		t.Errorf("without the session: %d %s, want 404 flow_not_found", rec.Code, rec.Body)
	}
	rec = do(h, "POST", "/api/v1/flows/"+fb.ID, "application/json", `{"action":"submit_password","password":"wrong-password-1"}`, bearer...)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"password_incorrect"`) || !strings.Contains(rec.Body.String(), `"attempts_left":4`) {
		t.Errorf("wrong password: %d %s", rec.Code, rec.Body)
	}
	rec = do(h, "POST", "/api/v1/flows/"+fb.ID, "application/json", body, bearer...)
	if rec.Code != 200 {
		t.Fatalf("submit_password: %d %s", rec.Code, rec.Body)
	}
	if done := decodeFlow(t, rec); done.Status != "complete" || done.Session != nil || done.Next != nil {
		t.Fatalf("done = %+v; want complete without a session", done)
	}

	env.Clock.Advance(2 * time.Second) // past the session cache
	rec = do(h, "GET", "/api/v1/me", "", "", bearer...)
	var me struct {
		Session struct {
			AuthenticatedAt string `json:"authenticated_at"`
		} `json:"session"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &me); err != nil {
		t.Fatal(err)
	}
	at, err := time.Parse(time.RFC3339, me.Session.AuthenticatedAt)
	if err != nil {
		t.Fatalf("authenticated_at %q: %v", me.Session.AuthenticatedAt, err)
	}
	sess := &session.Session{AuthenticatedAt: at}
	if !session.Recent(sess, env.Clock.Now(), env.JP.ReauthWindow()) {
		t.Errorf("authenticated_at %v is not recent at %v", at, env.Clock.Now())
	}
	if session.Recent(sess, env.Clock.Now().Add(env.JP.ReauthWindow()), env.JP.ReauthWindow()) {
		t.Error("still recent after the window")
	}
}
