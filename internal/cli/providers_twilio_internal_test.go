package cli

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/message/providers/twilio"
)

// TestBuildTwilioProvider checks that a "twilio" definition becomes a
// sender under its name whose callbacks go to callbackBase/hooks/<name>/,
// and that a definition it refuses is named without its token.
func TestBuildTwilioProvider(t *testing.T) {
	pc := config.Provider{Name: "tw-jp", Type: "twilio", Twilio: &config.Twilio{
		AccountSID: "AC1", AuthToken: "secret-token", From: "+815012345678",
	}}
	d := providerDeps{callbackBase: "https://id.example.com"}
	s, hook, err := buildProvider(pc, d)
	if err != nil {
		t.Fatalf("buildProvider: %v", err)
	}
	tw, ok := s.(*twilio.Provider)
	if !ok || s.Name() != "tw-jp" || hook == nil {
		t.Fatalf("buildProvider = %T %q, hook %v; want the twilio provider tw-jp with a hook", s, s.Name(), hook)
	}
	if got := tw.CallbackURL("m1"); got != "https://id.example.com/hooks/tw-jp/status?m=m1" {
		t.Errorf("CallbackURL = %q", got)
	}
	// The hook refuses an unsigned callback.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/status?m=m1", strings.NewReader("MessageStatus=delivered"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hook.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("unsigned callback: %d, want 403", rec.Code)
	}

	pc.Twilio.BaseURL = "http://sms.example.com"
	if _, _, err := buildProvider(pc, d); err == nil || strings.Contains(err.Error(), "secret-token") {
		t.Errorf("plain-http base_url: %v, want an error without the token", err)
	}
}
