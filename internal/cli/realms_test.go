package cli

import (
	"os"
	"path/filepath"
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
	reg, err := buildRealms(cfg)
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

func TestThemeLogoUsedWhenBrandingHasNone(t *testing.T) {
	themeDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(themeDir, "logo.webp"), []byte("RIFF\x00\x00\x00\x00WEBPVP8 "), 0o644); err != nil {
		t.Fatal(err)
	}
	own := filepath.Join(t.TempDir(), "own.png")
	if err := os.WriteFile(own, []byte("\x89PNG\r\n\x1a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.PublicURL = "https://id.example.jp"
	base := config.Realm{DefaultLocale: "ja", PhoneRegion: "JP", IdentifierDisclosure: "explicit", Theme: themeDir}
	a, b, c := base, base, base
	a.ID, a.Hosts = "theme", []string{"a.example.jp"}
	b.ID, b.Hosts, b.Branding.Logo = "file", []string{"b.example.jp"}, own
	c.ID, c.Hosts, c.Branding.Logo = "url", []string{"c.example.jp"}, "https://cdn.example.jp/logo.svg"
	cfg.Realms = []config.Realm{a, b, c}
	reg, err := buildRealms(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ id, file, url string }{
		{"theme", filepath.Join(themeDir, "logo.webp"), ""},
		{"file", own, ""},
		{"url", "", "https://cdn.example.jp/logo.svg"},
	} {
		if r := reg.ByID(tt.id); r.Brand.LogoFile != tt.file || r.Brand.LogoURL != tt.url {
			t.Errorf("realm %s: LogoFile %q LogoURL %q, want %q %q", tt.id, r.Brand.LogoFile, r.Brand.LogoURL, tt.file, tt.url)
		}
	}
}
