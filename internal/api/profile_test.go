package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/api"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/profile"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

const pfEmail = "hanako.profile@example.jp"

// newProfileAPI returns the API with the settings and two bearer tokens of
// fresh sign-ins of pfEmail (the same device).
func newProfileAPI(t *testing.T) (*api.Handler, *flowtest.Env, string, string) {
	t.Helper()
	env := flowtest.New(t, storetest.MustOpenSQLite(t))
	h := api.New(api.Deps{
		Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin, TwoStep: env.TwoStep,
		Profile: &profile.Service{Kit: env.Kit, Signin: env.Signin, TwoStep: env.TwoStep, Guard: env.Kit.Codes.Guard, Held: env.DB, Budget: env.Budget, Changes: env.DB},
		Now:     env.Clock.Now,
	})
	dev := env.MustSignUp(t, env.JP, pfEmail, pw, pfEmail)
	var tokens []string
	for range 2 {
		rec := do(h, "POST", "/api/v1/signin", "application/json", jsonBody(t, map[string]string{"identifier": pfEmail, "password": pw, "device_token": dev}))
		fb := decodeFlow(t, rec)
		if rec.Code != 200 || fb.Session == nil {
			t.Fatalf("signin: %d %s", rec.Code, rec.Body)
		}
		tokens = append(tokens, fb.Session.Token)
	}
	return h, env, tokens[0], tokens[1]
}

// TestAPIProfile: the documented answers of the settings endpoints — the
// me body after PATCH and DELETE, identifier_last (409), the password
// change's signed_out_others and the other token refused at once, the
// refusals of every field at once, and reauth_required past the window.
func TestAPIProfile(t *testing.T) {
	h, env, token, other := newProfileAPI(t)
	bearer := []string{"Authorization", "Bearer " + token}

	rec := do(h, "PATCH", "/api/v1/me", "application/json", `{"name":"","locale":"fr"}`, bearer...)
	wantProblem(t, rec, http.StatusBadRequest, ninsho.CodeFieldRequired)
	var prob struct {
		Errors []struct{ Code, Field string } `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &prob); err != nil || len(prob.Errors) != 2 || prob.Errors[1].Code != "locale_invalid" {
		t.Fatalf("errors[] %+v (%v)", prob.Errors, err)
	}
	rec = do(h, "PATCH", "/api/v1/me", "application/json", `{"name":"山田 太郎","locale":"en"}`, bearer...)
	var me struct {
		Name, Locale, Email string
		Session             struct{ AAL int } `json:"session"`
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &me) != nil || me.Name != "山田 太郎" || me.Locale != "en" || me.Email != pfEmail || me.Session.AAL != 1 {
		t.Fatalf("PATCH /api/v1/me: %d %s", rec.Code, rec.Body)
	}
	rec = do(h, "PATCH", "/api/v1/me", "application/json", `{"nickname":"x"}`, bearer...)
	wantProblem(t, rec, http.StatusBadRequest, ninsho.CodeRequestInvalid)

	rec = do(h, "DELETE", "/api/v1/me/email", "", "", bearer...)
	wantProblem(t, rec, http.StatusConflict, ninsho.CodeIdentifierLast)
	rec = do(h, "DELETE", "/api/v1/me/phone", "", "", bearer...)
	wantProblem(t, rec, http.StatusNotFound, ninsho.CodeNotFound)

	rec = do(h, "POST", "/api/v1/me/password", "application/json", `{"current_password":"wrong-one-1","password":"sora-no-shita-77","password_confirmation":"sora-no-shita-77"}`, bearer...)
	wantProblem(t, rec, http.StatusBadRequest, ninsho.CodePasswordIncorrect)
	rec = do(h, "POST", "/api/v1/me/password", "application/json", `{"current_password":"`+pw+`","password":"sora-no-shita-77","password_confirmation":"sora-no-shita-77"}`, bearer...)
	var changed struct {
		SignedOutOthers *int `json:"signed_out_others"`
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &changed) != nil || changed.SignedOutOthers == nil || *changed.SignedOutOthers < 1 {
		t.Fatalf("POST /api/v1/me/password: %d %s", rec.Code, rec.Body)
	}
	// sign_out_others defaults to true: the other token is refused at once.
	rec = do(h, "GET", "/api/v1/me", "", "", "Authorization", "Bearer "+other)
	wantProblem(t, rec, http.StatusUnauthorized, ninsho.CodeUnauthenticated)
	if rec = do(h, "GET", "/api/v1/me", "", "", bearer...); rec.Code != 200 {
		t.Fatalf("the current session after the change: %d %s", rec.Code, rec.Body)
	}

	env.Clock.Advance(env.JP.ReauthWindow() + 2*time.Second)
	for _, c := range []struct{ method, path, body string }{
		{"PATCH", "/api/v1/me", `{"locale":"ja"}`},
		{"DELETE", "/api/v1/me/email", ""},
		{"POST", "/api/v1/me/password", `{"current_password":"sora-no-shita-77","password":"umi-no-soko-93","password_confirmation":"umi-no-soko-93"}`},
	} {
		ct := ""
		if c.body != "" {
			ct = "application/json"
		}
		rec = do(h, c.method, c.path, ct, c.body, bearer...)
		wantProblem(t, rec, http.StatusForbidden, ninsho.CodeReauthRequired)
	}
	if a, _ := env.DB.AccountByEmail(context.Background(), "jp", pfEmail); a == nil || a.Locale != "en" {
		t.Fatalf("changed without a recent sign-in: %+v", a)
	}
}

// problemOf decodes a problem document.
func problemOf(t *testing.T, rec *httptest.ResponseRecorder) (p struct {
	Code, Field, Detail string
	Params              map[string]any
	Errors              []struct{ Code, Field, Message string }
}) {
	t.Helper()
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem %s: %v", rec.Body, err)
	}
	return p
}

// TestAPIProfileCustomerFindings: a name of 101 and of 201 characters get
// the one limit and message (100); a name with a bidi override or a link
// is name_invalid; locale "en-US" is English, as at sign-up; the settings
// budget answers 429 rate_limited with Retry-After and no params; the
// field-specific texts of field_required (current_password) and not_found
// (phone) name what is missing.
func TestAPIProfileCustomerFindings(t *testing.T) {
	h, env, token, _ := newProfileAPI(t)
	bearer := []string{"Authorization", "Bearer " + token}
	for _, n := range []int{101, 201} {
		rec := do(h, "PATCH", "/api/v1/me", "application/json", `{"name":"`+strings.Repeat("あ", n)+`"}`, bearer...)
		wantProblem(t, rec, http.StatusBadRequest, ninsho.CodeFieldTooLong)
		if p := problemOf(t, rec); p.Field != "name" || !strings.Contains(p.Detail, "100文字以内") || p.Params != nil {
			t.Fatalf("%d characters: %+v; want the name's one limit, 100", n, p)
		}
	}
	for _, name := range []string{`Hanako\u202egpj.exe`, `Hanako\u200f`, "Hanako shop.example.com", "bit.ly/win"} {
		rec := do(h, "PATCH", "/api/v1/me", "application/json", `{"name":"`+name+`"}`, bearer...)
		wantProblem(t, rec, http.StatusBadRequest, ninsho.CodeNameInvalid)
	}
	rec := do(h, "PATCH", "/api/v1/me", "application/json", `{"name":"J.R.R. Tolkien","locale":"en-US"}`, bearer...)
	var me struct{ Name, Locale string }
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &me) != nil || me.Locale != "en" || me.Name != "J.R.R. Tolkien" {
		t.Fatalf("PATCH locale en-US: %d %s", rec.Code, rec.Body)
	}
	rec = do(h, "PATCH", "/api/v1/me", "application/json", `{"locale":"xx"}`, bearer...)
	wantProblem(t, rec, http.StatusBadRequest, ninsho.CodeLocaleInvalid)

	rec = do(h, "POST", "/api/v1/me/password?lang=en", "application/json", `{"current_password":"","password":"sora-no-shita-77","password_confirmation":"sora-no-shita-77"}`, bearer...)
	if p := problemOf(t, rec); p.Field != "current_password" || p.Detail != "Please enter your current password." {
		t.Fatalf("field_required current_password: %+v", p)
	}
	rec = do(h, "DELETE", "/api/v1/me/phone?lang=en", "", "", bearer...)
	if p := problemOf(t, rec); p.Code != "not_found" || p.Field != "phone" || p.Detail != "Your account has no phone number." {
		t.Fatalf("not_found phone: %+v", p)
	}

	// The budget: one change was made above; 19 more, then 429.
	for i := range 19 {
		rec = do(h, "PATCH", "/api/v1/me", "application/json", fmt.Sprintf(`{"name":"Z%d"}`, i), bearer...)
		if rec.Code != 200 {
			t.Fatalf("change %d: %d %s", i+2, rec.Code, rec.Body)
		}
	}
	rec = do(h, "PATCH", "/api/v1/me?lang=en", "application/json", `{"name":"Z-too-many"}`, bearer...)
	wantProblem(t, rec, http.StatusTooManyRequests, ninsho.CodeRateLimited)
	if rec.Header().Get("Retry-After") != "3600" {
		t.Fatalf("Retry-After %q, want 3600", rec.Header().Get("Retry-After"))
	}
	if p := problemOf(t, rec); p.Params != nil || !strings.Contains(p.Detail, "account settings") {
		t.Fatalf("rate_limited: %+v; want no params and the settings text", p)
	}
	// The same name again changes nothing and is answered as before.
	if rec = do(h, "PATCH", "/api/v1/me", "application/json", `{"name":"Z18"}`, bearer...); rec.Code != 200 {
		t.Fatalf("an unchanged name with the budget spent: %d %s", rec.Code, rec.Body)
	}
	if a, _ := env.DB.AccountByEmail(context.Background(), "jp", pfEmail); a == nil || a.Name != "Z18" {
		t.Fatalf("name after the refusal: %+v", a)
	}
}
