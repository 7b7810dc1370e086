package cli

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/message/providers/kannel"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// TestKannelProviderIsWired builds a kannel provider from configuration:
// the realm's SMS list holds a Kannel sender whose dlr-url is the callback
// base's /hooks/<name>/dlr, and the hook is its DLR handler, which
// authenticates reports with the server's hash key.
func TestKannelProviderIsWired(t *testing.T) {
	cfg := config.Default()
	cfg.Providers = []config.Provider{{Name: "kannel-jp", Type: "kannel", Kannel: &config.Kannel{
		SendSMSURL: "http://127.0.0.1:13013/cgi-bin/sendsms", Username: "ninsho", Password: "pw", From: "Example",
	}}}
	cfg.Realms[0].Providers.SMS = []string{"kannel-jp"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	hasher, err := secret.NewHasher(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	db := storetest.MustOpenSQLite(t)
	p, err := buildProviders(providerDeps{
		cfg: cfg, clock: ninsho.NewManualClock(storetest.Epoch), hasher: hasher,
		reports: &message.Reports{Store: db, Clock: ninsho.NewManualClock(storetest.Epoch)}, callbackBase: "https://id.example.com",
	})
	if err != nil {
		t.Fatalf("buildProviders: %v", err)
	}
	ss := p.realms[cfg.Realms[0].ID][message.ChannelSMS]
	if len(ss) != 1 {
		t.Fatalf("realm SMS senders = %d, want 1", len(ss))
	}
	s, ok := ss[0].(*kannel.Sender)
	if !ok || s.Name() != "kannel-jp" {
		t.Fatalf("realm SMS sender = %T %q, want the kannel sender kannel-jp", ss[0], ss[0].Name())
	}
	tokens := message.CallbackTokens{Hasher: hasher}
	if got, want := s.DLRURL("m1"), "https://id.example.com/hooks/kannel-jp/dlr?m=m1&t="+tokens.Token("kannel-jp", "m1")+"&type=%d"; got != want {
		t.Errorf("DLRURL = %q, want %q", got, want)
	}
	hook := p.hooks["kannel-jp"]
	if hook == nil {
		t.Fatal("no hook for kannel-jp")
	}
	for tok, want := range map[string]int{tokens.Token("kannel-jp", "m1"): http.StatusOK, tokens.Token("other", "m1"): http.StatusForbidden} {
		rec := httptest.NewRecorder()
		hook.ServeHTTP(rec, httptest.NewRequest("GET", "/dlr?"+url.Values{"m": {"m1"}, "t": {tok}, "type": {"1"}}.Encode(), nil))
		if rec.Code != want {
			t.Errorf("hook answered %d, want %d", rec.Code, want)
		}
	}
}
