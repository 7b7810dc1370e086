package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestWithoutSMSRealmsTakeEmailOnly: production today has only SMTP, so no
// realm can send a code by text message. Its pages ask for an e-mail address
// alone and a phone number is refused with identifier_email_only, before
// anything is stored; development mode (whose inbox takes SMS) takes both.
func TestWithoutSMSRealmsTakeEmailOnly(t *testing.T) {
	setEnv(t, productionEnv)
	cfg, err := loadConfig("serve", []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, io.Discard)
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	app, err := NewApp(context.Background(), cfg, Options{LogOutput: io.Discard})
	if err != nil {
		t.Fatalf("NewApp: %v", err)
	}
	defer app.Close()
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(app.URL() + "/signup")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !bytes.Contains(page, []byte(`name="identifier" type="email" inputmode="email"`)) {
		t.Errorf("the sign-up page does not ask for an e-mail address alone:\n%s", page)
	}

	body := strings.NewReader(`{"identifier": "090-1234-5678", "name": "山田 花子", "password": "kumo-no-ue-42"}`)
	res, err = http.Post(app.URL()+"/api/v1/signup", "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var problem struct{ Code, Field string }
	if err := json.Unmarshal(raw, &problem); err != nil {
		t.Fatalf("problem document: %v: %s", err, raw)
	}
	if res.StatusCode != http.StatusBadRequest || problem.Code != "identifier_email_only" || problem.Field != "identifier" {
		t.Errorf("sign-up with a phone number: %d %s, want 400 identifier_email_only on the identifier", res.StatusCode, raw)
	}
	if _, err := app.DB.AccountByPhone(context.Background(), cfg.Realms[0].ID, "+819012345678"); err == nil {
		t.Errorf("an account was stored for the phone number")
	}

	dev, err := buildRealms(cfg, smsEverywhere)
	if err != nil {
		t.Fatal(err)
	}
	for _, rl := range dev.All() {
		if rl.EmailOnly {
			t.Errorf("realm %s takes e-mail only although SMS can be sent", rl.ID)
		}
	}
}
