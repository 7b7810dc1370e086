package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/message"
)

func TestEachRealmLinksToItsOwnPublicURL(t *testing.T) {
	cfg := config.Default()
	cfg.PublicURL = "https://id.example.jp"
	cfg.Realms = []config.Realm{
		{ID: "jp", Name: "Example", Hosts: []string{"id.example.jp"}, DefaultLocale: "ja", PhoneRegion: "JP", IdentifierDisclosure: "explicit"},
		{ID: "us", Name: "Example", Hosts: []string{"id.example.com", "login.example.com"}, DefaultLocale: "en", PhoneRegion: "US",
			IdentifierDisclosure: "safe", PublicURL: "https://login.example.com/"},
	}
	reg, err := buildRealms(cfg, smsEverywhere)
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

// TestMessageLooksGiveEachRealmItsBrandAndTheme checks the wiring of the
// dispatcher's lookup: a logo file becomes <base URL>/brand/logo, a logo URL
// stays, and a realm's theme overrides its own messages only.
func TestMessageLooksGiveEachRealmItsBrandAndTheme(t *testing.T) {
	dir := t.TempDir()
	logo := filepath.Join(dir, "logo.png")
	theme := filepath.Join(dir, "theme")
	override := filepath.Join(theme, "messages", "ja", "signup_code.subject.txt")
	if err := os.MkdirAll(filepath.Dir(override), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(logo, []byte("png"), 0o644)
	os.WriteFile(override, []byte("{{.brand_name}}より：ご登録の確認コード\n"), 0o644)
	cfg := config.Default()
	cfg.PublicURL = "https://id.example.jp"
	cfg.Realms = []config.Realm{
		{ID: "jp", Name: "さくら商店", Hosts: []string{"id.example.jp"}, DefaultLocale: "ja", PhoneRegion: "JP", IdentifierDisclosure: "explicit",
			Branding: config.Branding{Logo: logo, PrimaryColor: "#d63384", SupportURL: "https://shop.example.jp/help", SupportContact: "0120-000-000",
				TermsURL: "https://shop.example.jp/terms", PrivacyURL: "https://shop.example.jp/privacy"},
			Theme: theme},
		{ID: "us", Name: "Sakura Shop", Hosts: []string{"id.example.com"}, DefaultLocale: "en", PhoneRegion: "US", IdentifierDisclosure: "safe",
			PublicURL: "https://id.example.com", Branding: config.Branding{Logo: "https://cdn.example.com/logo.svg"}},
	}
	reg, err := buildRealms(cfg, smsEverywhere)
	if err != nil {
		t.Fatal(err)
	}
	builtin, err := message.DefaultTemplates()
	if err != nil {
		t.Fatal(err)
	}
	looks, err := messageLooks(reg, builtin)
	if err != nil {
		t.Fatal(err)
	}
	jp, us := looks("jp"), looks("us")
	want := message.Brand{Name: "さくら商店", LogoURL: "https://id.example.jp/brand/logo", Color: "#d63384",
		SupportURL: "https://shop.example.jp/help", SupportContact: "0120-000-000",
		TermsURL: "https://shop.example.jp/terms", PrivacyURL: "https://shop.example.jp/privacy"}
	if jp.Brand != want {
		t.Errorf("jp brand = %+v\nwant %+v", jp.Brand, want)
	}
	if us.Brand.Name != "Sakura Shop" || us.Brand.LogoURL != "https://cdn.example.com/logo.svg" || us.Templates != builtin {
		t.Errorf("us look = %+v", us)
	}
	vars := map[string]string{"code": "123456", "name": "", "minutes": "10", "host": "id.example.jp"}
	for _, tt := range []struct {
		look message.Look
		want string
	}{{jp, "さくら商店より：ご登録の確認コード"}, {message.Look{Brand: jp.Brand, Templates: us.Templates}, "【さくら商店】ご登録の確認コードのお知らせ"}} {
		r, err := tt.look.Templates.Render(message.ChannelEmail, message.TemplateSignupCode, "ja", tt.look.Brand, vars)
		if err != nil || r.Subject != tt.want {
			t.Errorf("Subject = %q (%v), want %q", r.Subject, err, tt.want)
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
	reg, err := buildRealms(cfg, smsEverywhere)
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

// TestReauthWindowReachesTheRealm checks realms[].two_step.reauth_window:
// read from the file's JSON, validated, and threaded to realm.Realm, with
// the 10-minute default when unset.
func TestReauthWindowReachesTheRealm(t *testing.T) {
	cfg := config.Default()
	var rcs []config.Realm
	raw := `[{"id":"jp","name":"Example","hosts":["id.example.jp"],"default_locale":"ja","phone_region":"JP","identifier_disclosure":"explicit","two_step":{"reauth_window":"5m"}},
		{"id":"us","name":"Example","hosts":["id.example.com"],"default_locale":"en","phone_region":"US","identifier_disclosure":"safe"}]`
	if err := json.Unmarshal([]byte(raw), &rcs); err != nil {
		t.Fatal(err)
	}
	cfg.Realms = rcs
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	reg, err := buildRealms(cfg, smsEverywhere)
	if err != nil {
		t.Fatal(err)
	}
	if got := reg.ByID("jp").ReauthWindow(); got != 5*time.Minute {
		t.Errorf("jp: ReauthWindow = %v, want 5m", got)
	}
	if got := reg.ByID("us").ReauthWindow(); got != 10*time.Minute {
		t.Errorf("us: ReauthWindow = %v, want the default 10m", got)
	}
}

// smsEverywhere is a provider set that sends every channel in every realm.
var smsEverywhere = &providers{defaults: map[message.Channel][]message.Sender{
	message.ChannelEmail: {nil}, message.ChannelSMS: {nil}, message.ChannelVoice: {nil},
}}
