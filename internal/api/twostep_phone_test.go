package api_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/api"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// TestTwoStepPhoneAPI: POST /api/v1/me/two-step/phone sends a code to the
// number (201, masked destination), resend waits for the cool-down, a
// wrong code is code_incorrect, the right one turns 2SV on; a session
// older than the re-authentication window is reauth_required, and the
// routes need a session.
func TestTwoStepPhoneAPI(t *testing.T) {
	env := flowtest.New(t, storetest.MustOpenSQLite(t))
	h := api.New(api.Deps{Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin,
		Unlock: env.Unlock, Captcha: env.Captcha, Now: env.Clock.Now, TwoStep: env.TwoStep})
	env.MustSignUp(t, env.JP, "hanako@example.jp", pw, "hanako@example.jp")
	rec := do(h, "POST", "/api/v1/signin", "application/json", jsonBody(t, map[string]string{"identifier": "hanako@example.jp", "password": pw}))
	signed := decodeFlow(t, rec)
	if signed.Session == nil {
		// An unfamiliar device: the device code first.
		rec = do(h, "POST", "/api/v1/flows/"+signed.ID, "application/json",
			jsonBody(t, map[string]string{"action": "submit_code", "code": env.LastCode(t, "hanako@example.jp"), "device_token": signed.DeviceToken}))
		signed = decodeFlow(t, rec)
	}
	if signed.Session == nil {
		t.Fatalf("no session: %s", rec.Body)
	}
	auth := []string{"Authorization", "Bearer " + signed.Session.Token}

	rec = do(h, "POST", "/api/v1/me/two-step/phone", "application/json", `{"phone":"090-1234-5678","method":"sms"}`)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("without a session: %d", rec.Code)
	}
	rec = do(h, "POST", "/api/v1/me/two-step/phone", "application/json", `{"phone":"03-1234-5678","method":"sms"}`, auth...)
	if rec.Code != 400 || problemCode(t, rec) != "phone_not_mobile" {
		t.Errorf("a fixed line by text: %d %s", rec.Code, rec.Body)
	}
	rec = do(h, "POST", "/api/v1/me/two-step/phone", "application/json", `{"phone":"090-1234-5678","method":"sms"}`, auth...)
	if rec.Code != http.StatusCreated {
		t.Fatalf("begin: %d %s", rec.Code, rec.Body)
	}
	var en struct {
		CredentialID string `json:"credential_id"`
		Destination  string `json:"destination"`
		ResendAfterS int    `json:"resend_after_s"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &en); err != nil || en.CredentialID == "" || en.Destination != "090-****-5678" || en.ResendAfterS != 30 {
		t.Fatalf("begin answer = %s (%v)", rec.Body, err)
	}
	base := "/api/v1/me/two-step/phone/" + en.CredentialID
	rec = do(h, "POST", base+"/resend", "", "", auth...)
	if problemCode(t, rec) != "resend_too_soon" {
		t.Errorf("resend at once: %d %s", rec.Code, rec.Body)
	}
	env.Clock.Advance(30 * time.Second)
	rec = do(h, "POST", base+"/resend", "", "", auth...)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("resend: %d %s", rec.Code, rec.Body)
	}
	code := env.LastCode(t, "+819012345678")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	rec = do(h, "POST", base+"/verify", "application/json", `{"code":"`+wrong+`"}`, auth...)
	if rec.Code != 400 || problemCode(t, rec) != "code_incorrect" {
		t.Errorf("wrong code: %d %s", rec.Code, rec.Body)
	}
	rec = do(h, "POST", base+"/verify", "application/json", `{"code":"`+code+`"}`, auth...)
	if rec.Code != 200 {
		t.Fatalf("verify: %d %s", rec.Code, rec.Body)
	}
	var pr struct {
		CredentialID    string `json:"credential_id"`
		Method          string `json:"method"`
		Enabled         bool   `json:"enabled"`
		TurnedOn        bool   `json:"turned_on"`
		BackupCodesLeft int    `json:"backup_codes_left"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &pr); err != nil || !pr.Enabled || !pr.TurnedOn || pr.BackupCodesLeft != 0 || pr.Method != "sms" || pr.CredentialID == "" {
		t.Errorf("verify answer = %s", rec.Body)
	}
	rec = do(h, "POST", "/api/v1/me/two-step/phone/not-an-id/verify", "application/json", `{"code":"123456"}`, auth...)
	if rec.Code != 404 {
		t.Errorf("unknown credential: %d %s", rec.Code, rec.Body)
	}

	// Past the re-authentication window.
	env.Clock.Advance(env.JP.ReauthWindow() + time.Minute)
	rec = do(h, "POST", "/api/v1/me/two-step/phone", "application/json", `{"phone":"080-9876-5432","method":"voice"}`, auth...)
	if rec.Code != 403 || problemCode(t, rec) != "reauth_required" {
		t.Errorf("stale session: %d %s", rec.Code, rec.Body)
	}
}
