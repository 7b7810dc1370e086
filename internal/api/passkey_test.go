package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/api"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/passkey/passkeytest"
)

// TestPasskeyAPI: a signed-in person adds a passkey (POST
// /api/v1/me/two-step/passkeys, then /{id} with the browser's answer),
// lists it, and signs in with it alone (POST /api/v1/signin/passkey, then
// submit_passkey): GET /api/v1/me shows AAL 2 and hwk. A realm that does
// not allow passkey sign-in answers 404 not_found.
func TestPasskeyAPI(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, env *flowtest.Env) {
		h := api.New(api.Deps{Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin, TwoStep: env.TwoStep, Now: env.Clock.Now})
		rec := do(h, "POST", "/api/v1/signin/passkey", "", "")
		if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `"not_found"`) {
			t.Fatalf("passkey sign-in where the realm does not allow it: %d %s", rec.Code, rec.Body)
		}
		env.JP.TwoStep.PasskeySignIn = true

		rec = do(h, "POST", "/api/v1/signup", "application/json",
			jsonBody(t, map[string]string{"identifier": "hanako@example.jp", "name": "山田 花子", "password": pw}))
		started := decodeFlow(t, rec)
		rec = do(h, "POST", "/api/v1/flows/"+started.ID, "application/json",
			jsonBody(t, map[string]string{"action": "submit_code", "code": env.LastCode(t, "hanako@example.jp"), "device_token": started.DeviceToken}))
		done := decodeFlow(t, rec)
		bearer := "Bearer " + done.Session.Token

		rec = do(h, "POST", "/api/v1/me/two-step/passkeys", "application/json", `{"label":"iPhone"}`, "Authorization", bearer)
		if rec.Code != http.StatusCreated {
			t.Fatalf("begin: %d %s", rec.Code, rec.Body)
		}
		var begun struct {
			ID        string          `json:"id"`
			PublicKey json.RawMessage `json:"public_key"`
			ExpiresAt string          `json:"expires_at"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &begun); err != nil || begun.ID == "" || begun.ExpiresAt == "" {
			t.Fatalf("begin = %s, %v", rec.Body, err)
		}
		auth := &passkeytest.Authenticator{Origin: "https://id.example.jp"}
		resp, _, err := auth.Create(begun.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		rec = do(h, "POST", "/api/v1/me/two-step/passkeys/"+begun.ID, "application/json",
			fmt.Sprintf(`{"credential":%s}`, resp), "Authorization", bearer)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"method":"passkey","enabled":true,"turned_on":true,"backup_codes_left":0}`) {
			t.Fatalf("finish: %d %s", rec.Code, rec.Body)
		}
		rec = do(h, "GET", "/api/v1/me/two-step/passkeys", "", "", "Authorization", bearer)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"label":"iPhone"`) || !strings.Contains(rec.Body.String(), `"max":10`) {
			t.Fatalf("list: %d %s", rec.Code, rec.Body)
		}

		rec = do(h, "POST", "/api/v1/signin/passkey", "application/json", `{}`)
		if rec.Code != http.StatusCreated {
			t.Fatalf("start: %d %s", rec.Code, rec.Body)
		}
		pf := decodeFlow(t, rec)
		if pf.Kind != "signin" || pf.Status != "challenge" || pf.Next == nil || pf.Next.Step != "passkey" || len(pf.Next.PublicKey) == 0 {
			t.Fatalf("start = %+v", pf)
		}
		as, err := auth.Get(pf.Next.PublicKey, nil)
		if err != nil {
			t.Fatal(err)
		}
		rec = do(h, "POST", "/api/v1/flows/"+pf.ID, "application/json",
			fmt.Sprintf(`{"action":"submit_passkey","credential":%s,"device_token":%q}`, as, pf.DeviceToken))
		in := decodeFlow(t, rec)
		if rec.Code != http.StatusOK || in.Session == nil || in.Session.AAL != 2 {
			t.Fatalf("submit_passkey: %d %s", rec.Code, rec.Body)
		}
		rec = do(h, "GET", "/api/v1/me", "", "", "Authorization", "Bearer "+in.Session.Token)
		if !strings.Contains(rec.Body.String(), `"aal":2`) || !strings.Contains(rec.Body.String(), `"methods":["hwk"]`) {
			t.Fatalf("me: %s", rec.Body)
		}
	})
}
