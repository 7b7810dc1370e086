package api_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/api"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/totp"
)

const tsEmail = "hanako@example.jp"

// newTwoStepAPI returns the API with the two-step settings and the bearer
// token of a fresh sign-in of tsEmail (signed up from the same device).
func newTwoStepAPI(t *testing.T) (*api.Handler, *flowtest.Env, string) {
	t.Helper()
	env := flowtest.New(t, storetest.MustOpenSQLite(t))
	h := api.New(api.Deps{
		Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin,
		Unlock: env.Unlock, Captcha: env.Captcha, TwoStep: env.TwoStep, Now: env.Clock.Now,
	})
	dev := env.MustSignUp(t, env.JP, tsEmail, pw, tsEmail)
	rec := do(h, "POST", "/api/v1/signin", "application/json", jsonBody(t, map[string]string{"identifier": tsEmail, "password": pw, "device_token": dev}))
	fb := decodeFlow(t, rec)
	if rec.Code != 200 || fb.Session == nil {
		t.Fatalf("signin: %d %s", rec.Code, rec.Body)
	}
	return h, env, fb.Session.Token
}

type twoStepBody struct {
	Enabled   bool    `json:"enabled"`
	Required  bool    `json:"required"`
	Preferred *string `json:"preferred"`
	Methods   []struct {
		ID          string  `json:"id"`
		Method      string  `json:"method"`
		Label       string  `json:"label"`
		CreatedAt   string  `json:"created_at"`
		LastUsedAt  *string `json:"last_used_at"`
		Preferred   bool    `json:"preferred"`
		Destination string  `json:"destination"`
	} `json:"methods"`
	BackupCodesLeft int `json:"backup_codes_left"`
}

type enrolBody struct {
	CredentialID  string `json:"credential_id"`
	Secret        string `json:"secret"`
	SecretGrouped string `json:"secret_grouped"`
	OtpauthURL    string `json:"otpauth_url"`
	QRPNG         string `json:"qr_png"`
}

// strict decodes rec's JSON body into v, refusing unknown fields.
func strict(t *testing.T, rec *httptest.ResponseRecorder, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", rec.Body, err)
	}
}

func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

func showTwoStep(t *testing.T, h http.Handler, token string) twoStepBody {
	t.Helper()
	rec := do(h, "GET", "/api/v1/me/two-step", "", "", bearer(token)...)
	if rec.Code != 200 {
		t.Fatalf("GET two-step: %d %s", rec.Code, rec.Body)
	}
	var b twoStepBody
	strict(t, rec, &b)
	return b
}

func beginTOTP(t *testing.T, h http.Handler, token, label string) enrolBody {
	t.Helper()
	body := ""
	ct := ""
	if label != "" {
		body, ct = jsonBody(t, map[string]string{"label": label}), "application/json"
	}
	rec := do(h, "POST", "/api/v1/me/two-step/totp", ct, body, bearer(token)...)
	if rec.Code != http.StatusCreated {
		t.Fatalf("begin TOTP: %d %s", rec.Code, rec.Body)
	}
	var en enrolBody
	strict(t, rec, &en)
	return en
}

func totpCode(t *testing.T, env *flowtest.Env, secret string) string {
	t.Helper()
	c, err := totp.CodeAt(secret, env.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func alertsOf(t *testing.T, env *flowtest.Env) int {
	t.Helper()
	n := 0
	for _, m := range env.Messages(t, tsEmail) {
		if m.Template == message.TemplateTwoStepChanged {
			n++
		}
	}
	return n
}

// TestTwoStepSettingsAPI walks the settings: off at first (backup codes
// refused), an authenticator app added and proved only by its own code
// (turning 2SV on), backup codes, a second app, the preferred method, a
// removal and turning it all off; every change but the preferred one
// sends an alert.
func TestTwoStepSettingsAPI(t *testing.T) {
	h, env, token := newTwoStepAPI(t)
	if got := showTwoStep(t, h, token); got.Enabled || got.Required || got.Preferred != nil || len(got.Methods) != 0 || got.BackupCodesLeft != 0 {
		t.Fatalf("before: %+v; want off, nothing", got)
	}
	rec := do(h, "POST", "/api/v1/me/two-step/backup-codes", "", "", bearer(token)...)
	if rec.Code != 409 || problemCode(t, rec) != "two_step_off" {
		t.Fatalf("backup codes while off: %d %s; want 409 two_step_off", rec.Code, rec.Body)
	}

	en := beginTOTP(t, h, token, "iPhone")
	img, err := base64.StdEncoding.DecodeString(en.QRPNG)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(img)); err != nil {
		t.Errorf("qr_png is no PNG: %v", err)
	}
	if !strings.HasPrefix(en.OtpauthURL, "otpauth://totp/") || strings.ReplaceAll(en.SecretGrouped, " ", "") != en.Secret || en.CredentialID == "" {
		t.Errorf("enrolment = %+v", en)
	}
	// Not proved: it does not count yet.
	if got := showTwoStep(t, h, token); got.Enabled || len(got.Methods) != 0 {
		t.Fatalf("an unproved app counts: %+v", got)
	}
	right := totpCode(t, env, en.Secret)
	wrong := "000000"
	if wrong == right {
		wrong = "111111"
	}
	verify := "/api/v1/me/two-step/totp/" + en.CredentialID + "/verify"
	rec = do(h, "POST", verify, "application/json", jsonBody(t, map[string]string{"code": wrong}), bearer(token)...)
	if rec.Code != 400 || problemCode(t, rec) != "totp_incorrect" {
		t.Fatalf("wrong code: %d %s", rec.Code, rec.Body)
	}
	before := alertsOf(t, env)
	rec = do(h, "POST", verify, "application/json", jsonBody(t, map[string]string{"code": right}), bearer(token)...)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"method":"totp","enabled":true,"turned_on":true,"backup_codes_left":0}`) {
		t.Fatalf("right code: %d %s", rec.Code, rec.Body)
	}
	if got := alertsOf(t, env); got != before+1 {
		t.Errorf("%d alerts after turning on, want %d", got, before+1)
	}
	// The same code again is refused: the credential is proved, the step used.
	rec = do(h, "POST", verify, "application/json", jsonBody(t, map[string]string{"code": right}), bearer(token)...)
	if rec.Code != 404 || problemCode(t, rec) != "not_found" {
		t.Errorf("verify a proved app: %d %s; want 404 not_found", rec.Code, rec.Body)
	}
	got := showTwoStep(t, h, token)
	if !got.Enabled || len(got.Methods) != 1 || got.Methods[0].Method != "totp" || got.Methods[0].Label != "iPhone" || !got.Methods[0].Preferred ||
		got.Preferred == nil || *got.Preferred != en.CredentialID || got.Methods[0].LastUsedAt != nil || got.Methods[0].Destination != "" {
		t.Fatalf("after proving: %+v", got)
	}

	rec = do(h, "POST", "/api/v1/me/two-step/backup-codes", "", "", bearer(token)...)
	var codes struct {
		Codes []string `json:"codes"`
	}
	if rec.Code != 201 {
		t.Fatalf("backup codes: %d %s", rec.Code, rec.Body)
	}
	strict(t, rec, &codes)
	if len(codes.Codes) != 10 || showTwoStep(t, h, token).BackupCodesLeft != 10 {
		t.Fatalf("backup codes = %v", codes.Codes)
	}

	env.Clock.Advance(time.Minute)
	second := beginTOTP(t, h, token, "")
	rec = do(h, "POST", "/api/v1/me/two-step/totp/"+second.CredentialID+"/verify", "application/json", jsonBody(t, map[string]string{"code": totpCode(t, env, second.Secret)}), bearer(token)...)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"turned_on":false`) || !strings.Contains(rec.Body.String(), `"backup_codes_left":10`) {
		t.Fatalf("second app: %d %s", rec.Code, rec.Body)
	}

	alerts := alertsOf(t, env)
	rec = do(h, "PUT", "/api/v1/me/two-step/preferred", "application/json", jsonBody(t, map[string]string{"credential_id": second.CredentialID}), bearer(token)...)
	if rec.Code != 204 {
		t.Fatalf("preferred: %d %s", rec.Code, rec.Body)
	}
	if got := showTwoStep(t, h, token); *got.Preferred != second.CredentialID || alertsOf(t, env) != alerts {
		t.Errorf("preferred = %v, alerts %d (want %s, no new alert)", *got.Preferred, alertsOf(t, env), second.CredentialID)
	}
	rec = do(h, "DELETE", "/api/v1/me/two-step/methods/"+en.CredentialID, "", "", bearer(token)...)
	if rec.Code != 204 {
		t.Fatalf("remove: %d %s", rec.Code, rec.Body)
	}
	rec = do(h, "DELETE", "/api/v1/me/two-step/methods/"+en.CredentialID, "", "", bearer(token)...)
	if rec.Code != 404 {
		t.Errorf("remove again: %d %s; want 404", rec.Code, rec.Body)
	}
	if got := showTwoStep(t, h, token); !got.Enabled || len(got.Methods) != 1 || got.Methods[0].ID != second.CredentialID {
		t.Fatalf("after removing one: %+v", got)
	}
	rec = do(h, "DELETE", "/api/v1/me/two-step", "", "", bearer(token)...)
	if rec.Code != 204 {
		t.Fatalf("turn off: %d %s", rec.Code, rec.Body)
	}
	if got := showTwoStep(t, h, token); got.Enabled || len(got.Methods) != 0 || got.BackupCodesLeft != 0 || got.Preferred != nil {
		t.Fatalf("after turning off: %+v", got)
	}
	// Turned on, backup codes, second app, removal, turned off.
	if got := alertsOf(t, env); got != before+5 {
		t.Errorf("%d alerts, want %d", got, before+5)
	}
}

// TestTwoStepSettingsAPIRefusals: no session is 401; a session older than
// the re-authentication window may read but not change (403
// reauth_required); a cookie session from another site is refused; bad
// bodies get the decoder's errors.
func TestTwoStepSettingsAPIRefusals(t *testing.T) {
	h, env, token := newTwoStepAPI(t)
	if rec := do(h, "GET", "/api/v1/me/two-step", "", ""); rec.Code != 401 || problemCode(t, rec) != "unauthenticated" {
		t.Errorf("no session: %d %s", rec.Code, rec.Body)
	}
	// Bad input.
	for _, tt := range []struct {
		name, method, target, ctype, body string
		status                            int
		code                              string
	}{
		{"malformed JSON", "POST", "/api/v1/me/two-step/totp", "application/json", `{"label":`, 400, "request_invalid"},
		{"unknown field", "POST", "/api/v1/me/two-step/totp", "application/json", `{"name":"x"}`, 400, "request_invalid"},
		{"label too long", "POST", "/api/v1/me/two-step/totp", "application/json", jsonBody(t, map[string]string{"label": strings.Repeat("あ", 65)}), 400, "field_too_long"},
		{"form body", "POST", "/api/v1/me/two-step/backup-codes", "application/x-www-form-urlencoded", "a=b", 415, "unsupported_media_type"},
		{"no code", "POST", "/api/v1/me/two-step/totp/01900000-0000-7000-8000-000000000001/verify", "application/json", `{}`, 404, "not_found"},
		{"bad id", "DELETE", "/api/v1/me/two-step/methods/x", "", "", 404, "not_found"},
		{"no credential", "PUT", "/api/v1/me/two-step/preferred", "application/json", `{}`, 400, "field_required"},
		{"oversize", "PUT", "/api/v1/me/two-step/preferred", "application/json", `{"credential_id":"` + strings.Repeat("a", 70<<10) + `"}`, 413, "body_too_large"},
	} {
		rec := do(h, tt.method, tt.target, tt.ctype, tt.body, bearer(token)...)
		if rec.Code != tt.status || problemCode(t, rec) != tt.code {
			t.Errorf("%s: %d %s; want %d %s", tt.name, rec.Code, rec.Body, tt.status, tt.code)
		}
	}
	// A cookie-carried session from another site changes nothing.
	rec := do(h, "POST", "/api/v1/me/two-step/totp", "", "", "Cookie", "ninsho_session="+token, "Sec-Fetch-Site", "cross-site")
	if rec.Code != 403 || problemCode(t, rec) != "csrf_rejected" {
		t.Errorf("cross-site cookie: %d %s", rec.Code, rec.Body)
	}
	rec = do(h, "POST", "/api/v1/me/two-step/totp", "", "", "Cookie", "ninsho_session="+token, "Sec-Fetch-Site", "same-origin")
	if rec.Code != 201 {
		t.Errorf("same-origin cookie: %d %s", rec.Code, rec.Body)
	}

	env.Clock.Advance(env.JP.ReauthWindow() + time.Second)
	if got := showTwoStep(t, h, token); got.Enabled {
		t.Errorf("reading after the window: %+v", got)
	}
	for _, tt := range []struct{ method, target, ctype, body string }{
		{"POST", "/api/v1/me/two-step/totp", "", ""},
		{"POST", "/api/v1/me/two-step/totp/01900000-0000-7000-8000-000000000001/verify", "application/json", `{"code":"123456"}`},
		{"POST", "/api/v1/me/two-step/backup-codes", "", ""},
		{"PUT", "/api/v1/me/two-step/preferred", "application/json", `{"credential_id":"01900000-0000-7000-8000-000000000001"}`},
		{"DELETE", "/api/v1/me/two-step/methods/01900000-0000-7000-8000-000000000001", "", ""},
		{"DELETE", "/api/v1/me/two-step", "", ""},
	} {
		rec := do(h, tt.method, tt.target, tt.ctype, tt.body, bearer(token)...)
		if rec.Code != 403 || problemCode(t, rec) != "reauth_required" {
			t.Errorf("%s %s after the window: %d %s; want 403 reauth_required", tt.method, tt.target, rec.Code, rec.Body)
		}
	}
}

// TestTwoStepSettingsAbsentWithoutService: without Deps.TwoStep the routes
// do not exist.
func TestTwoStepSettingsAbsentWithoutService(t *testing.T) {
	h, _ := newRealAPI(t)
	if rec := do(h, "GET", "/api/v1/me/two-step", "", ""); rec.Code != 404 {
		t.Errorf("GET two-step without the service: %d", rec.Code)
	}
}
