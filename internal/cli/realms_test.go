package cli

import (
	"testing"

	"github.com/ninsho/ninsho/internal/config"
)

func TestEachRealmLinksToItsOwnPublicURL(t *testing.T) {
	cfg := config.Default()
	cfg.PublicURL = "https://id.example.jp"
	cfg.Realms = []config.Realm{
		{ID: "jp", Name: "Example", Hosts: []string{"id.example.jp"}, DefaultLocale: "ja", PhoneRegion: "JP", IdentifierDisclosure: "explicit"},
		{ID: "us", Name: "Example", Hosts: []string{"id.example.com", "login.example.com"}, DefaultLocale: "en", PhoneRegion: "US",
			IdentifierDisclosure: "safe", PublicURL: "https://login.example.com/"},
	}
	reg, err := buildRealms(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		realm              string
		wantBase, wantHost string
	}{
		{"jp", "https://id.example.jp", "id.example.jp"},
		{"us", "https://login.example.com", "login.example.com"},
	}
	for _, tt := range tests {
		r := reg.ByID(tt.realm)
		if r.BaseURL != tt.wantBase || r.PublicHost != tt.wantHost {
			t.Errorf("realm %s: got BaseURL %q PublicHost %q, want %q %q", tt.realm, r.BaseURL, r.PublicHost, tt.wantBase, tt.wantHost)
		}
	}
}
