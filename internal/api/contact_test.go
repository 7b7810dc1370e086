package api_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/api"
	"github.com/ninsho/ninsho/internal/contact"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/throttle"
)

// contactJSON is a flow answer of the contact API, read loosely.
type contactJSON struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	DeviceToken string `json:"device_token"`
	Status      string `json:"status"`
	Next        *struct {
		Step         string `json:"step"`
		Channel      string `json:"channel"`
		Destination  string `json:"destination"`
		MovesTwoStep bool   `json:"moves_two_step"`
	} `json:"next"`
	Contact *struct {
		Email    string `json:"email"`
		Restored *bool  `json:"restored"`
	} `json:"contact"`
}

// TestContactAPI: POST /api/v1/me/email needs a recent session (401, 403
// reauth_required), refuses the address as now (400 identifier_unchanged)
// and another account's (409 identifier_taken, explicit realm), answers
// 201 at verification_code; the flow takes submit_code only with its
// session and completes with the new address; POST /api/v1/contact-undo
// with the alert's token answers the unlock flow with contact.restored,
// and 404 the second time.
func TestContactAPI(t *testing.T) {
	env := flowtest.New(t, storetest.MustOpenSQLite(t))
	svc := &contact.Service{Kit: env.Kit, Realms: env.Realms, Signin: env.Signin, Store: env.DB, Unlock: env.Unlock,
		Starts: &throttle.Counter{Store: env.DB, Clock: env.Clock}}
	env.Engine.Handlers[flow.KindContact] = svc
	h := api.New(api.Deps{Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin,
		Unlock: env.Unlock, Contact: svc, Now: env.Clock.Now})
	ctx := context.Background()
	const old, other, fresh = "hanako@example.jp", "jiro@example.jp", "hanako.new@example.jp"
	dev := env.MustSignUp(t, env.JP, old, pw, old)
	otherDev := env.MustSignUp(t, env.JP, other, pw, other)
	in, err := env.Signin.Start(ctx, env.JP, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: old, Password: pw})
	if err != nil || in.Session == nil {
		t.Fatalf("sign in: %v", err)
	}
	bearer := []string{"Authorization", "Bearer " + in.Session.Token}
	read := func(body string) contactJSON {
		t.Helper()
		var c contactJSON
		if err := json.Unmarshal([]byte(body), &c); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		return c
	}

	if rec := do(h, "POST", "/api/v1/me/email", "application/json", `{"email":"`+fresh+`"}`); rec.Code != 401 {
		t.Errorf("without a session: %d, want 401", rec.Code)
	}
	if rec := do(h, "POST", "/api/v1/me/email", "application/json", `{"email":"`+old+`"}`, bearer...); rec.Code != 400 || problemCode(t, rec) != "identifier_unchanged" {
		t.Errorf("same address: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "POST", "/api/v1/me/email", "application/json", `{"email":"`+other+`"}`, bearer...); rec.Code != 409 || problemCode(t, rec) != "identifier_taken" {
		t.Errorf("taken: %d %s", rec.Code, rec.Body)
	}
	rec := do(h, "POST", "/api/v1/me/email", "application/json", `{"email":"`+fresh+`"}`, bearer...)
	if rec.Code != 201 {
		t.Fatalf("start: %d %s", rec.Code, rec.Body)
	}
	st := read(rec.Body.String())
	if st.Kind != "contact" || st.Status != "challenge" || st.Next == nil || st.Next.Step != "verification_code" || st.Next.Channel != "email" {
		t.Fatalf("start = %s", rec.Body)
	}
	if st.DeviceToken == "" {
		t.Errorf("a start without a device token hands out none: %s", rec.Body)
	}
	body := `{"action":"submit_code","code":"` + env.LastCode(t, fresh) + `"}`
	if rec := do(h, "POST", "/api/v1/flows/"+st.ID, "application/json", body); rec.Code != 404 {
		t.Errorf("without the session: %d %s, want 404", rec.Code, rec.Body)
	}
	rec = do(h, "POST", "/api/v1/flows/"+st.ID, "application/json", body, bearer...)
	if done := read(rec.Body.String()); rec.Code != 200 || done.Status != "complete" || done.Contact == nil || done.Contact.Email != fresh {
		t.Fatalf("submit_code: %d %s", rec.Code, rec.Body)
	}
	// Both identifiers, null for none.
	if !strings.Contains(rec.Body.String(), `"contact":{"email":"`+fresh+`","phone":null}`) {
		t.Errorf("contact of the completion: %s", rec.Body)
	}

	// The account's cap of new addresses an hour (the taken one counted
	// too): the 4th is a 429 with its own message, no params, Retry-After
	// 3600.
	for i, a := range []string{"hanako.2@example.jp", "hanako.3@example.jp"} {
		rec := do(h, "POST", "/api/v1/me/email", "application/json", `{"email":"`+a+`"}`, bearer...)
		if i < 1 && rec.Code != 201 {
			t.Fatalf("start %d: %d %s", i, rec.Code, rec.Body)
		}
		if i < 1 {
			continue
		}
		var pr struct {
			Code   string         `json:"code"`
			Detail string         `json:"detail"`
			Params map[string]any `json:"params"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &pr); err != nil || rec.Code != 429 || pr.Code != "rate_limited" || pr.Params != nil ||
			rec.Header().Get("Retry-After") != "3600" || !strings.Contains(pr.Detail, "1時間に変更できる連絡先の数の上限") {
			t.Errorf("4th new address: %d %v %s", rec.Code, rec.Header(), rec.Body)
		}
	}

	var token string
	for _, m := range env.Messages(t, old) {
		if m.Template == "contact_changed" {
			token = regexp.MustCompile(`token=(\S+)`).FindStringSubmatch(m.Text)[1]
			break
		}
	}
	if token == "" {
		t.Fatal("no alert to the old address")
	}
	rec = do(h, "POST", "/api/v1/contact-undo", "application/json", `{"token":"`+token+`"}`)
	if u := read(rec.Body.String()); rec.Code != 200 || u.Kind != "unlock" || u.Contact == nil || u.Contact.Restored == nil || !*u.Contact.Restored {
		t.Fatalf("undo: %d %s", rec.Code, rec.Body)
	}
	if !strings.Contains(rec.Body.String(), `"contact":{"restored":true}`) {
		t.Errorf("contact of the undo: %s", rec.Body)
	}
	if rec := do(h, "POST", "/api/v1/contact-undo", "application/json", `{"token":"`+token+`"}`); rec.Code != 404 ||
		!strings.Contains(rec.Body.String(), `"field":"token"`) || !strings.Contains(rec.Body.String(), "このリンクは無効です") {
		t.Errorf("second undo: %d %s, want 404 not_found on field token with the link's message", rec.Code, rec.Body)
	}

	// An old session: reauth_required, nothing sent.
	env.Clock.Advance(env.JP.ReauthWindow() + time.Minute)
	in2, err := env.Signin.Start(ctx, env.JP, flowtest.Req("192.0.2.10", otherDev), signin.Input{Identifier: other, Password: pw})
	if err != nil || in2.Session == nil {
		t.Fatalf("sign in: %v", err)
	}
	env.Clock.Advance(env.JP.ReauthWindow() + time.Minute)
	rec = do(h, "POST", "/api/v1/me/phone", "application/json", `{"phone":"090-1111-2222"}`, "Authorization", "Bearer "+in2.Session.Token)
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), "reauth_required") {
		t.Errorf("old session: %d %s, want 403 reauth_required", rec.Code, rec.Body)
	}
}
