package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/api"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/session"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// These tests drive the real sign-up and sign-in services on SQLite through
// the API.

const pw = "kumo-no-ue-42"

func newRealAPI(tb testing.TB) (*api.Handler, *flowtest.Env) {
	tb.Helper()
	env := flowtest.New(tb, storetest.MustOpenSQLite(tb))
	return api.New(api.Deps{
		Realms:  env.Realms,
		Flows:   env.Engine,
		Signup:  env.Signup,
		Signin:  env.Signin,
		Unlock:  env.Unlock,
		Captcha: env.Captcha,
		Now:     env.Clock.Now,
	}), env
}

func jsonBody(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestSignupVerifyMeSignout(t *testing.T) {
	h, env := newRealAPI(t)

	rec := do(h, "POST", "/api/v1/signup", "application/json", jsonBody(t, map[string]string{
		"identifier": "Hanako@Example.jp ", "password": pw, "name": "山田 花子", "locale": "ja",
	}))
	if rec.Code != http.StatusCreated {
		t.Fatalf("signup: status %d, want 201: %s", rec.Code, rec.Body)
	}
	started := decodeFlow(t, rec)
	if started.Kind != "signup" || started.Status != "challenge" || started.Next == nil || started.Next.Step != "verification_code" || started.DeviceToken == "" {
		t.Fatalf("signup flow = %+v", started)
	}
	if strings.Contains(started.Next.Destination, "hanako@example.jp") {
		t.Errorf("destination %q is not masked", started.Next.Destination)
	}

	// A wrong code is refused with the flow and errors[]. The guess is chosen
	// knowing the code, so it is wrong whatever the random source drew.
	wrongCode := "000000"
	if env.LastCode(t, "hanako@example.jp") == wrongCode {
		wrongCode = "111111"
	}
	rec = do(h, "POST", "/api/v1/flows/"+started.ID, "application/json",
		jsonBody(t, map[string]string{"action": "submit_code", "code": wrongCode, "device_token": started.DeviceToken}))
	if rec.Code != 400 {
		t.Fatalf("wrong code: status %d, want 400: %s", rec.Code, rec.Body)
	}
	wrong := decodeFlow(t, rec)
	if len(wrong.Errors) != 1 || !strings.Contains(string(wrong.Errors[0]), `"code":"code_incorrect"`) || !strings.Contains(string(wrong.Errors[0]), `"field":"code"`) {
		t.Errorf("wrong code errors = %s", wrong.Errors)
	}

	// The flow reads back the same.
	rec = do(h, "GET", "/api/v1/flows/"+started.ID, "", "")
	if rec.Code != 200 || decodeFlow(t, rec).Status != "challenge" {
		t.Fatalf("view: %d %s", rec.Code, rec.Body)
	}

	rec = do(h, "POST", "/api/v1/flows/"+started.ID, "application/json",
		jsonBody(t, map[string]string{"action": "submit_code", "code": env.LastCode(t, "hanako@example.jp"), "device_token": started.DeviceToken}))
	if rec.Code != 200 {
		t.Fatalf("right code: status %d: %s", rec.Code, rec.Body)
	}
	done := decodeFlow(t, rec)
	if done.Status != "complete" || done.Session == nil || done.Session.Token == "" {
		t.Fatalf("completed flow = %+v", done)
	}
	token := done.Session.Token

	rec = do(h, "GET", "/api/v1/me", "", "", "Authorization", "Bearer "+token)
	if rec.Code != 200 {
		t.Fatalf("me: %d %s", rec.Code, rec.Body)
	}
	var me map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &me); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"realm": "jp", "name": "山田 花子", "email": "hanako@example.jp", "email_verified": true, "phone": nil, "phone_verified": false, "locale": "ja", "status": "active"} {
		if me[k] != want {
			t.Errorf("me[%q] = %v, want %v", k, me[k], want)
		}
	}
	for _, k := range []string{"id", "created_at"} {
		if s, _ := me[k].(string); s == "" {
			t.Errorf("me[%q] is empty", k)
		}
	}
	if len(me) != 11 {
		t.Errorf("me has %d fields, want 11 (the account's and session): %v", len(me), me)
	}

	// The session cookie works too.
	rec = do(h, "GET", "/api/v1/me", "", "", "Cookie", "ninsho_session="+token)
	if rec.Code != 200 {
		t.Errorf("me by cookie: %d", rec.Code)
	}

	rec = do(h, "POST", "/api/v1/signout", "", "", "Authorization", "Bearer "+token)
	if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
		t.Fatalf("signout: %d %s", rec.Code, rec.Body)
	}
	rec = do(h, "GET", "/api/v1/me", "", "", "Authorization", "Bearer "+token)
	if rec.Code != 401 || problemCode(t, rec) != "unauthenticated" {
		t.Errorf("me after signout: %d %s", rec.Code, rec.Body)
	}
	rec = do(h, "POST", "/api/v1/signout", "", "", "Authorization", "Bearer "+token)
	if rec.Code != 401 {
		t.Errorf("second signout: %d", rec.Code)
	}
}

func TestSignin(t *testing.T) {
	h, env := newRealAPI(t)
	dev := env.MustSignUp(t, env.JP, "taro@example.jp", pw, "taro@example.jp")

	rec := do(h, "POST", "/api/v1/signin", "application/json", jsonBody(t, map[string]string{"identifier": "taro@example.jp", "password": pw, "device_token": dev}))
	if rec.Code != 200 {
		t.Fatalf("signin: %d %s", rec.Code, rec.Body)
	}
	fb := decodeFlow(t, rec)
	if fb.Kind != "signin" || fb.Status != "complete" || fb.Session == nil || fb.Session.AAL < 1 {
		t.Fatalf("signin flow = %+v", fb)
	}

	rec = do(h, "POST", "/api/v1/signin", "application/json", jsonBody(t, map[string]string{"identifier": "taro@example.jp", "password": "wrong-" + pw, "device_token": dev}))
	if rec.Code != 400 {
		t.Fatalf("wrong password: %d %s", rec.Code, rec.Body)
	}
	if fb := decodeFlow(t, rec); len(fb.Errors) != 1 || !strings.Contains(string(fb.Errors[0]), `"password_incorrect"`) || fb.Session != nil {
		t.Errorf("wrong password flow = %+v", fb)
	}

	// Identifier first: the flow asks for the password next.
	rec = do(h, "POST", "/api/v1/signin", "application/json", jsonBody(t, map[string]string{"identifier": "taro@example.jp", "device_token": dev}))
	if rec.Code != 200 {
		t.Fatalf("identifier first: %d %s", rec.Code, rec.Body)
	}
	first := decodeFlow(t, rec)
	if first.Next == nil || first.Next.Step != "password" {
		t.Fatalf("identifier first next = %+v", first.Next)
	}
	rec = do(h, "POST", "/api/v1/flows/"+first.ID, "application/json", jsonBody(t, map[string]string{"action": "submit_password", "password": pw, "device_token": dev}))
	if rec.Code != 200 || decodeFlow(t, rec).Session == nil {
		t.Fatalf("submit_password: %d %s", rec.Code, rec.Body)
	}

	// An action the flow does not know is the flow's 400.
	rec = do(h, "POST", "/api/v1/flows/"+first.ID, "application/json", jsonBody(t, map[string]string{"action": "submit_password", "password": pw}))
	if rec.Code == 200 {
		t.Errorf("acting on a completed flow: %d %s", rec.Code, rec.Body)
	}

	// Input rejected before a flow exists is a problem.
	rec = do(h, "POST", "/api/v1/signin", "application/json", jsonBody(t, map[string]string{"identifier": "taro@@example", "password": pw}))
	if rec.Code != 400 || problemCode(t, rec) != "identifier_invalid" {
		t.Errorf("invalid identifier: %d %s", rec.Code, rec.Body)
	}
}

func TestCookieSignoutRefusesCrossSite(t *testing.T) {
	h, env := newRealAPI(t)
	dev := env.MustSignUp(t, env.JP, "jiro@example.jp", pw, "jiro@example.jp")
	rec := do(h, "POST", "/api/v1/signin", "application/json", jsonBody(t, map[string]string{"identifier": "jiro@example.jp", "password": pw, "device_token": dev}))
	token := decodeFlow(t, rec).Session.Token

	rec = do(h, "POST", "/api/v1/signout", "", "", "Cookie", "ninsho_session="+token, "Sec-Fetch-Site", "cross-site")
	if rec.Code != 403 || problemCode(t, rec) != "csrf_rejected" {
		t.Fatalf("cross-site cookie signout: %d %s", rec.Code, rec.Body)
	}
	if rec = do(h, "GET", "/api/v1/me", "", "", "Authorization", "Bearer "+token); rec.Code != 200 {
		t.Fatalf("the refused signout ended the session: %d", rec.Code)
	}
	rec = do(h, "POST", "/api/v1/signout", "", "", "Cookie", "ninsho_session="+token, "Sec-Fetch-Site", "same-origin")
	if rec.Code != 204 {
		t.Fatalf("same-origin cookie signout: %d %s", rec.Code, rec.Body)
	}
	var cleared bool
	for _, c := range rec.Result().Cookies() {
		cleared = cleared || c.Name == "ninsho_session" && c.MaxAge < 0
	}
	if !cleared {
		t.Errorf("cookie signout did not clear the cookie")
	}
}

// TestRefusedFieldsAllAnswered: a sign-up refused for several fields answers
// one problem whose code and field are the first refusal's and whose
// errors[] lists every one, with a message each, in the request's language.
func TestRefusedFieldsAllAnswered(t *testing.T) {
	h, _ := newRealAPI(t)
	rec := do(h, "POST", "/api/v1/signup?lang=en", "application/json", jsonBody(t, map[string]string{
		"identifier": "", "password": "short", "name": "",
	}))
	if rec.Code != http.StatusBadRequest || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("status %d %s, want 400 problem: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	var p struct {
		Code   string `json:"code"`
		Field  string `json:"field"`
		Detail string `json:"detail"`
		Errors []struct {
			Code, Field, Message string
		} `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Code != "field_required" || p.Field != "identifier" {
		t.Errorf("top level = %s/%s, want the first refusal field_required/identifier", p.Code, p.Field)
	}
	var got []string
	for _, e := range p.Errors {
		got = append(got, e.Code+"/"+e.Field)
		if e.Message == "" {
			t.Errorf("%s/%s has no message", e.Code, e.Field)
		}
	}
	if want := "field_required/identifier field_required/name password_too_short/password"; strings.Join(got, " ") != want {
		t.Errorf("errors = %v, want %s", got, want)
	}
	if len(p.Errors) > 0 && p.Errors[0].Message != p.Detail {
		t.Errorf("detail %q is not the first refusal's message %q", p.Detail, p.Errors[0].Message)
	}
	if !strings.Contains(rec.Body.String(), "Please enter your name.") {
		t.Errorf("the name's refusal does not name the field: %s", rec.Body)
	}
}

// TestMeShowsTheSession checks the session object of GET /api/v1/me on both
// databases: a sign-up confirmed with an e-mail code is ["pwd","email"], a
// later password sign-in ["pwd"], each authenticated when it was made and
// ending after the absolute session life; the token is never shown.
func TestMeShowsTheSession(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, env *flowtest.Env) {
		h := api.New(api.Deps{Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin, Now: env.Clock.Now})
		me := func(token string) map[string]any {
			t.Helper()
			rec := do(h, "GET", "/api/v1/me", "", "", "Authorization", "Bearer "+token)
			if rec.Code != 200 {
				t.Fatalf("me: %d %s", rec.Code, rec.Body)
			}
			if strings.Contains(rec.Body.String(), token) {
				t.Errorf("me shows the session token: %s", rec.Body)
			}
			var m map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
				t.Fatal(err)
			}
			return m
		}
		wantSession := func(name string, m map[string]any, methods []string, at time.Time) {
			t.Helper()
			s, ok := m["session"].(map[string]any)
			if !ok {
				t.Fatalf("%s: me has no session object: %v", name, m)
			}
			want := map[string]any{
				"aal": float64(1), "methods": fmt.Sprint(methods),
				"authenticated_at": at.UTC().Format(time.RFC3339),
				"expires_at":       at.Add(session.DefaultPolicy().Absolute).UTC().Format(time.RFC3339),
			}
			got := map[string]any{"aal": s["aal"], "methods": fmt.Sprint(s["methods"]), "authenticated_at": s["authenticated_at"], "expires_at": s["expires_at"]}
			if !reflect.DeepEqual(got, want) || len(s) != 4 {
				t.Errorf("%s: me.session = %v, want %v (4 fields)", name, s, want)
			}
		}

		rec := do(h, "POST", "/api/v1/signup", "application/json",
			jsonBody(t, map[string]string{"identifier": "hanako@example.jp", "name": "山田 花子", "password": pw}))
		started := decodeFlow(t, rec)
		signedUpAt := env.Clock.Now()
		rec = do(h, "POST", "/api/v1/flows/"+started.ID, "application/json",
			jsonBody(t, map[string]string{"action": "submit_code", "code": env.LastCode(t, "hanako@example.jp"), "device_token": started.DeviceToken}))
		done := decodeFlow(t, rec)
		if done.Session == nil {
			t.Fatalf("sign-up: %d %s", rec.Code, rec.Body)
		}
		wantSession("after sign-up", me(done.Session.Token), []string{"pwd", "email"}, signedUpAt)

		env.Clock.Advance(3 * time.Hour)
		signedInAt := env.Clock.Now()
		rec = do(h, "POST", "/api/v1/signin", "application/json",
			jsonBody(t, map[string]string{"identifier": "hanako@example.jp", "password": pw, "device_token": started.DeviceToken}))
		in := decodeFlow(t, rec)
		if in.Session == nil {
			t.Fatalf("sign-in: %d %s", rec.Code, rec.Body)
		}
		wantSession("after a password sign-in", me(in.Session.Token), []string{"pwd"}, signedInAt)
	})
}
